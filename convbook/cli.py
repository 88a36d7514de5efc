"""``convbook`` command line: train a CIFAR-10 model from a terminal.

    convbook train --model fast --epochs 10 --device auto --data ../shared/data/cifar10-jpg.tar.gz

Prints one line per epoch and the final test accuracy, saves a checkpoint after every
epoch, and on Ctrl-C saves one before exiting; ``--resume`` continues from it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every option has a help text)."""
    parser = argparse.ArgumentParser(
        prog="convbook", description="Tools of the convbook textbook.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser(
        "train", help="train a CIFAR-10 classifier",
        description="Train a CIFAR-10 classifier, printing progress and the final test "
                    "accuracy, and saving a checkpoint after every epoch and on Ctrl-C.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    t.add_argument("--model", choices=["tutorial", "wide", "fast"], default="fast",
                   help="network: the PyTorch tutorial's LeNet, its wider dropout variant, "
                        "or the fast batch-norm network")
    t.add_argument("--recipe", choices=["tutorial", "fast"], default=None,
                   help="training recipe (default: 'fast' for the fast model, else "
                        "'tutorial')")
    t.add_argument("--epochs", type=int, default=10, help="number of passes over the data")
    t.add_argument("--batch-size", type=int, default=None, help="images per step (default: "
                   "the recipe's)")
    t.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the "
                   "recipe's)")
    t.add_argument("--device", default="auto",
                   help="'auto' (CUDA, then MPS, then CPU), 'cpu', 'cuda', 'cuda:1', 'mps'")
    t.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="'auto' uses bf16 mixed precision on GPU and fp32 elsewhere")
    t.add_argument("--data", default=None,
                   help="CIFAR-10 as an ImageFolder directory, .tar.gz, or "
                        "cifar-10-batches-py directory (default: $CONVBOOK_DATA, else "
                        "torchvision's download)")
    t.add_argument("--subset", type=int, nargs=2, metavar=("N_TRAIN", "N_TEST"), default=None,
                   help="train and test on a random subset of this many images")
    t.add_argument("--checkpoint", default="convbook-cifar10.pt",
                   help="checkpoint file, written after every epoch and on Ctrl-C")
    t.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint if it exists")
    t.add_argument("--seed", type=int, default=0, help="random seed (same seed, same run)")
    t.add_argument("--no-progress", action="store_true", help="hide the per-epoch progress bar")
    return parser


def train_command(args: argparse.Namespace) -> int:
    import torch

    from convbook import data, models, train
    from convbook.live import LiveLoss

    cifar = data.cifar10(args.data)
    if args.subset:
        cifar = cifar.subset(*args.subset, seed=args.seed)
    print(f"data: {cifar}")
    torch.manual_seed(args.seed)
    model = models.build(args.model)
    recipe = args.recipe or ("fast" if args.model == "fast" else "tutorial")
    device = train.select_device(args.device)
    print(f"model: {args.model} ({models.count_parameters(model):,} parameters), "
          f"recipe: {recipe}, device: {device}")
    try:
        history = train.fit(
            model, cifar, args.epochs, recipe=recipe, device=device, precision=args.precision,
            seed=args.seed, checkpoint=args.checkpoint, resume=args.resume,
            live=LiveLoss("text"), progress=not args.no_progress,
            config={"model": args.model, "recipe": recipe},
            batch_size=args.batch_size, lr=args.lr,
        )
    except KeyboardInterrupt:
        print(f"stopped; resume with: convbook train --resume --checkpoint {args.checkpoint} "
              "(and the same options)", file=sys.stderr)
        return 130
    print(f"final test accuracy: {history['test_acc'][-1]:.4f} "
          f"({history['time'][-1]:.0f} s); checkpoint: {args.checkpoint}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``convbook`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "train":
        return train_command(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
