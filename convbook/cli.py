"""``convbook`` command line: train a CIFAR-10 model from a terminal.

    convbook train --data ../shared/data/cifar10-jpg.tar.gz            # 85% in 2-4 CPU minutes
    convbook train --recipe best --data ...                            # airbench's network
    convbook train --model tutorial --data ...                         # the PyTorch tutorial

Prints one line per epoch and the final test accuracy, saves a checkpoint after every
epoch, and on Ctrl-C finishes the current step, saves a checkpoint and exits;
``--resume`` continues from it and ends with the weights of an uninterrupted run.
Every option is checked before the data set is loaded.

Data-parallel, on two GPUs (or two CPU processes) of one machine, or across machines
(see :mod:`convbook.distributed` and the README)::

    torchrun --standalone --nproc_per_node=2 -m convbook train --data ...
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when needed: `convbook --help` answers without loading torch
    import torch

    from convbook.training import distributed

MODELS = ("fast", "tutorial", "wide")
RECIPES = ("fast", "best", "tutorial")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` only where there is a default worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _whole_number_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number_at_least(text, 1)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _nonnegative_int(text: str) -> int:
    return _whole_number_at_least(text, 0)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every option has a help text)."""
    parser = argparse.ArgumentParser(prog="convbook", description="Tools of the convbook textbook.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser(
        "train", help="train a CIFAR-10 classifier", formatter_class=_HelpFormatter,
        description="Train a CIFAR-10 classifier, printing progress and the final test "
                    "accuracy, and saving a checkpoint after every epoch and on Ctrl-C.",
    )
    t.add_argument("--recipe", choices=RECIPES, default=None,
                   help="how to train: 'fast' (default; 85%% in 2 minutes on a 2-core CPU "
                        "with bfloat16, 4 without), 'best' (airbench's full network "
                        "and settings; 90.7%% on the JPEG copy, as airbench's own script), "
                        "'tutorial' (the PyTorch tutorial's SGD; the default for --model "
                        "tutorial/wide)")
    t.add_argument("--model", choices=MODELS, default=None,
                   help="network: the fast batch-norm network, the PyTorch tutorial's LeNet, "
                        "or its wider dropout variant (default: the recipe's)")
    t.add_argument("--epochs", type=_positive_int, default=None,
                   help="passes over the data (default: the recipe's)")
    t.add_argument("--batch-size", type=_positive_int, default=None,
                   help="images per step (default: the recipe's)")
    t.add_argument("--lr", type=_positive_float, default=None,
                   help="peak learning rate of the weights (default: the recipe's)")
    t.add_argument("--minutes", type=_positive_float, default=None,
                   help="time budget: stop after the epoch during which it runs out "
                        "(checkpoint written)")
    t.add_argument("--eval-every", type=_nonnegative_int, default=0, metavar="N",
                   help="also measure the test accuracy after every N epochs (about 4 s each "
                        "for the fast network on a 2-core CPU; default: only after the last)")
    t.add_argument("--device", default="auto",
                   help="'auto' (CUDA, then MPS, then CPU), 'cpu', 'cuda', 'cuda:1', 'mps'")
    t.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="'auto': bf16 mixed precision on GPUs and on CPUs with bfloat16 "
                        "arithmetic (AVX512-BF16, AMX), else fp32")
    t.add_argument("--data", default=None,
                   help="CIFAR-10 as an ImageFolder directory, .tar.gz, or "
                        "cifar-10-batches-py directory (default: $CONVBOOK_DATA, else "
                        "torchvision's download)")
    t.add_argument("--any-size", action="store_true",
                   help="accept a data set with any number of images (a small ImageFolder "
                        "tree), not only CIFAR-10's 50,000 + 10,000")
    t.add_argument("--subset", type=_positive_int, nargs=2, metavar=("N_TRAIN", "N_TEST"),
                   default=None, help="train and test on a random subset of this many images")
    t.add_argument("--checkpoint", default="convbook-cifar10.pt",
                   help="checkpoint file, written after every epoch and on Ctrl-C")
    t.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint if it exists (same options needed)")
    t.add_argument("--seed", type=_int, default=0, help="random seed (same seed, same run)")
    t.add_argument("--no-progress", action="store_true", help="hide the per-epoch progress bar")
    t.add_argument("--timeout", type=_positive_float, default=600.0,
                   help="under torchrun: seconds a process waits for the others before it "
                        "stops with an error (when one of them hangs or its machine is gone)")
    t.set_defaults(run=train_command, subparser=t)
    return parser


def _check_paths(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Fail fast, before any data is loaded, on options that cannot work."""
    from convbook.training import train
    from convbook.training.checkpoint import CheckpointError, load_checkpoint

    try:
        train.select_device(args.device)
    except (ValueError, TypeError) as e:
        parser.error(f"argument --device: {e}")
    ckpt = Path(args.checkpoint)
    if ckpt.is_dir():
        parser.error(f"argument --checkpoint: {ckpt} is a directory; give a file name, "
                     f"e.g. {ckpt / 'convbook-cifar10.pt'}")
    parent = ckpt.resolve().parent
    existing = next((p for p in (parent, *parent.parents) if p.exists()), None)
    if existing is None or not existing.is_dir() or not os.access(existing, os.W_OK):
        parser.error(f"argument --checkpoint: cannot write to {ckpt} "
                     f"({existing} is not a writable directory)")
    if args.resume and ckpt.exists():
        try:
            load_checkpoint(ckpt)
        except CheckpointError as e:
            parser.error(f"argument --resume: {e}")


def train_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``convbook train``; returns the exit status.

    Under ``torchrun`` every process runs this; it joins the others first
    (:func:`convbook.distributed.init`) and leaves them at the end.
    """
    _check_paths(args, parser)
    from convbook.training import distributed

    if not distributed.launched():
        return _train(args)
    try:
        device = distributed.init(args.device, timeout=args.timeout)
    except ValueError as e:
        parser.error(f"argument --device: {e}")
    procs = distributed.processes()
    try:
        with distributed.sigterm_raises():
            return _train(args, device, procs)
    except Exception as e:
        failure = distributed.describe_failure(e)
        if failure is None:
            raise
        print(f"convbook train: error: process {procs.rank} of {procs.size}: {failure}. "
              f"{args.checkpoint} holds the last saved state of the run; once the cause is "
              "fixed, continue it with --resume", file=sys.stderr)
        return 1
    finally:
        distributed.close()


def _train(args: argparse.Namespace, device: torch.device | None = None,
           procs: distributed.Processes | None = None) -> int:
    """The run of ``convbook train`` (of one process, in a data-parallel run ``procs``)."""
    import torch

    from convbook import data, models
    from convbook.training import distributed, train
    from convbook.training.live import LiveLoss

    main = procs is None or procs.main
    say = print if main else (lambda *_, **__: None)  # process 0 speaks for all processes
    recipe_name = args.recipe or ("fast" if args.model in (None, "fast") else "tutorial")
    recipe = train.recipe_for(recipe_name, epochs=args.epochs, batch_size=args.batch_size,
                              lr=args.lr)
    model_name = args.model or recipe.model
    device = train.select_device(args.device) if device is None else device
    try:
        cifar = data.cifar10(args.data, expected_sizes=None if args.any_size else "cifar10")
    except data.DatasetError as e:
        where = f"process {procs.rank} of {procs.size}: " if procs else ""
        print(f"convbook train: error: {where}{e}", file=sys.stderr)
        return 1
    if args.subset:
        cifar = cifar.subset(*args.subset, seed=args.seed)
    say(f"data: {cifar}")
    torch.manual_seed(args.seed)
    kwargs = {"widths": recipe.widths} if model_name == "fast" and recipe.widths else {}
    model = models.build(model_name, **kwargs)
    say(f"model: {model_name} ({models.count_parameters(model):,} parameters), "
        f"recipe: {recipe_name} ({recipe.epochs} epochs), device: {device}")
    if procs:
        say(f"data-parallel: {procs.size} processes, each with its part of every batch of "
            f"{recipe.batch_size} images")
    say(train.describe_precision(args.precision, device))
    try:
        history = train.fit(
            model, cifar, recipe=recipe, device=device, precision=args.precision,
            seed=args.seed, checkpoint=args.checkpoint, resume=args.resume,
            live=LiveLoss("text"), progress=not args.no_progress, minutes=args.minutes,
            eval_every=args.eval_every,
            config={"model": model_name, "recipe": recipe_name},
        )
    except KeyboardInterrupt:
        if main:
            print(f"stopped; resume with: convbook train --resume --checkpoint "
                  f"{args.checkpoint} (and the same options)", file=sys.stderr)
        return 130
    except (train.ResumeMismatchError, distributed.DisagreementError,
            train.NonFiniteLossError) as e:  # raised alike by every process
        if main:
            print(f"convbook train: error: {e}", file=sys.stderr)
        return 1 if isinstance(e, train.NonFiniteLossError) else 2
    acc, tta = history["test_acc"][-1], history["tta_acc"][-1]
    result = (f"{tta:.4f} with test-time augmentation ({acc:.4f} without)" if tta is not None
              else f"{acc:.4f}")
    say(f"final test accuracy: {result}; {history['epoch'][-1]} epochs in "
        f"{history['time'][-1]:.0f} s; checkpoint: {args.checkpoint}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``convbook`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.run(args, args.subparser)


if __name__ == "__main__":
    sys.exit(main())
