"""``convbook`` command line: train a CIFAR-10 model from a terminal.

    convbook train --data ../shared/data/cifar10-jpg.tar.gz            # 85% in 2-4 CPU minutes
    convbook train --recipe best --data ...                            # airbench's network
    convbook train --model tutorial --data ...                         # the PyTorch tutorial

Prints one line per epoch and the final test accuracy, saves a checkpoint after every
epoch, and on Ctrl-C finishes the current step, saves a checkpoint and exits, printing the
command that continues the run (``--resume``), which ends with the weights of an
uninterrupted run.  Every option is checked, the device selected and the checkpoint to
resume from read, before the data set is loaded.

The choices of ``--recipe`` and ``--model`` and the default recipe are read from
:mod:`convbook.training.recipes`, which loads without torch: ``convbook --help`` answers at
once.

Data-parallel, on two GPUs (or two CPU processes) of one machine, or across machines
(see :mod:`convbook.training.distributed` and the README)::

    torchrun --standalone --nproc_per_node=2 -m convbook train --data ...
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convbook._args import check_int, check_positive_float, check_positive_int
from convbook.training.recipes import (
    DEFAULT_RECIPE,
    NETWORKS,
    PLAIN_RECIPE,
    RECIPES,
    recipe_named_for,
)

if TYPE_CHECKING:  # imported when needed: `convbook --help` answers without loading torch
    import torch

    from convbook.training import distributed


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` only where there is a default worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def checked(parse: Callable[[str], Any], check: Callable[..., Any], kind: str,
            **rule: Any) -> Callable[[str], Any]:
    """An argparse ``type``: the option's text read by ``parse`` (``int``, ``float``), then
    checked by ``check``, one of :mod:`convbook._args`'s checks, with ``rule``; argparse
    prefixes the message with the option's name (``argument --epochs: must be >= 1, got 0``).

    >>> checked(int, check_int, "a whole number", minimum=1)("3")
    3
    """
    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}") from None
        try:
            return check(value, "value", **rule)
        except (TypeError, ValueError) as e:
            raise argparse.ArgumentTypeError(str(e).removeprefix("value ")) from None

    convert.__name__ = kind  # what argparse calls the type in its own messages
    return convert


def _recipe_help() -> str:
    """``--recipe``'s help, from the table of recipes."""
    def one(name: str) -> str:
        r = RECIPES[name]
        widths = f" at widths {'/'.join(map(str, r.widths))}" if r.widths else ""
        note = ("; the default" if name == DEFAULT_RECIPE else
                "; the default for the other networks" if name == PLAIN_RECIPE else "")
        return f"'{name}' ({r.model} network{widths}, {r.epochs} epochs{note})"

    return ("how to train: " + ", ".join(one(name) for name in RECIPES)
            + "; convbook.training.recipes has every setting (README: accuracy and time)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every option has a help text)."""
    parser = argparse.ArgumentParser(prog="convbook", description="Tools of the convbook textbook.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser(
        "train", help="train a CIFAR-10 classifier", formatter_class=_HelpFormatter,
        description="Train a CIFAR-10 classifier, printing progress and the final test "
                    "accuracy, and saving a checkpoint after every epoch and on Ctrl-C.",
    )
    whole = checked(int, check_positive_int, "a whole number >= 1")
    seconds = checked(float, check_positive_float, "a number > 0")
    t.add_argument("--recipe", choices=list(RECIPES), default=None, help=_recipe_help())
    t.add_argument("--model", choices=list(NETWORKS), default=None,
                   help="network: the fast batch-norm network, the PyTorch tutorial's LeNet, "
                        "or its wider dropout variant (default: the recipe's)")
    t.add_argument("--epochs", type=whole, default=None,
                   help="passes over the data (default: the recipe's)")
    t.add_argument("--batch-size", type=whole, default=None,
                   help="images per step (default: the recipe's)")
    t.add_argument("--lr", type=seconds, default=None,
                   help="peak learning rate of the weights (default: the recipe's)")
    t.add_argument("--minutes", type=seconds, default=None,
                   help="time budget: stop after the epoch during which it runs out "
                        "(checkpoint written)")
    t.add_argument("--eval-every", type=checked(int, check_int, "a whole number >= 0",
                                                minimum=0), default=0, metavar="N",
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
    t.add_argument("--subset", type=whole, nargs=2, metavar=("N_TRAIN", "N_TEST"),
                   default=None, help="train and test on a random subset of this many images")
    t.add_argument("--checkpoint", default="convbook-cifar10.pt",
                   help="checkpoint file, written after every epoch and on Ctrl-C")
    t.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint, which must exist (same options needed)")
    t.add_argument("--seed", type=checked(int, check_int, "a whole number >= 0", minimum=0),
                   default=0,
                   help="random seed (same seed, same run)")
    t.add_argument("--no-progress", action="store_true", help="hide the per-epoch progress bar")
    t.add_argument("--timeout", type=seconds, default=600.0,
                   help="under torchrun: seconds a process waits for the others before it "
                        "stops with an error (when one of them hangs or its machine is gone)")
    t.set_defaults(run=train_command, subparser=t)
    return parser


def resume_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """The shell command that continues the run of ``args`` (parsed by ``parser``, the
    ``train`` parser): every option given, ``--data`` spelled out (also when it came from
    ``CONVBOOK_DATA``) and ``--resume``, quoted for a POSIX shell."""
    words = ["convbook", "train"]
    data = args.data or os.environ.get("CONVBOOK_DATA")
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "resume", "data"):
            continue
        value = getattr(args, action.dest)
        if value == action.default:
            continue
        option = action.option_strings[-1]
        if action.nargs == 0:
            words.append(option)
        else:
            values = value if isinstance(value, list) else [value]
            words += [option, *(str(v) for v in values)]
    if data:
        words += ["--data", str(data)]
    if "--checkpoint" not in words:  # the default file: named, so the command says where
        words += ["--checkpoint", args.checkpoint]
    return shlex.join([*words, "--resume"])


def _check_options(args: argparse.Namespace, parser: argparse.ArgumentParser
                   ) -> tuple[torch.device, dict[str, Any] | None]:
    """Fail fast, before any data is loaded, on options that cannot work; return the device,
    selected once, and the checkpoint to resume from, read once (``None`` without
    ``--resume``)."""
    from convbook.hardware import select_device
    from convbook.training.checkpoint import CheckpointError, read_checkpoint

    try:
        device = select_device(args.device)
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
    saved = None
    if args.resume:
        if not ckpt.exists():
            parser.error(f"argument --resume: there is no checkpoint at {ckpt} to resume "
                         "from; name the run's file with --checkpoint, or leave out --resume "
                         "to start afresh")
        try:
            saved = read_checkpoint(ckpt)
        except CheckpointError as e:
            parser.error(f"argument --resume: {e}")
    return device, saved


def train_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``convbook train``; returns the exit status.

    Under ``torchrun`` every process runs this; it joins the others first
    (:func:`convbook.training.distributed.init`) and leaves them at the end.
    """
    device, saved = _check_options(args, parser)
    from convbook.training import distributed

    if not distributed.launched():
        return _train(args, parser, device, saved)
    try:
        device = distributed.init(device, timeout=args.timeout)
    except ValueError as e:
        parser.error(f"argument --device: {e}")
    procs = distributed.processes()
    try:
        with distributed.sigterm_raises():
            return _train(args, parser, device, saved, procs)
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


def _train(args: argparse.Namespace, parser: argparse.ArgumentParser, device: torch.device,
           saved: dict[str, Any] | None, procs: distributed.Processes | None = None) -> int:
    """The run of ``convbook train`` (of one process, in a data-parallel run ``procs``)."""
    main = procs is None or procs.main
    try:
        return _run(args, device, saved, procs)
    except KeyboardInterrupt as stop:  # Ctrl-C: from fit, once the step is saved, or earlier
        if main:
            # fit says whether the file holds this run; a stop before fit: if it was resumed
            resumable = getattr(stop, "resumable", saved is not None)
            print(_stopped(args, parser, resumable, procs is not None), file=sys.stderr)
        return 130


def _run(args: argparse.Namespace, device: torch.device, saved: dict[str, Any] | None,
         procs: distributed.Processes | None) -> int:
    import torch

    from convbook import data, models
    from convbook._args import TooLargeError
    from convbook.hardware import describe_precision
    from convbook.training import distributed
    from convbook.training.fit import NonFiniteLossError, ResumeMismatchError, fit
    from convbook.training.live import LiveLoss
    from convbook.training.recipes import recipe_for

    main = procs is None or procs.main
    say = print if main else (lambda *_, **__: None)  # process 0 speaks for all processes
    where = f"process {procs.rank} of {procs.size}: " if procs else ""
    recipe_name = args.recipe or recipe_named_for(args.model)
    recipe = recipe_for(recipe_name, epochs=args.epochs, batch_size=args.batch_size,
                        lr=args.lr)
    model_name = args.model or recipe.model
    try:
        cifar = data.cifar10(args.data, expected_sizes=None if args.any_size else "cifar10",
                             root_option="--data")
    except data.DatasetError as e:
        print(f"convbook train: error: {where}{e}", file=sys.stderr)
        return 1
    if args.subset:
        cifar = cifar.subset(*args.subset, seed=args.seed)
    say(f"data: {cifar}")
    torch.manual_seed(args.seed)
    model = models.build_for(recipe, model_name)
    say(f"model: {model_name} ({models.count_parameters(model):,} parameters), "
        f"recipe: {recipe_name} ({recipe.epochs} epochs), device: {device}")
    if procs:
        say(f"data-parallel: {procs.size} processes, each with its part of every batch of "
            f"{recipe.batch_size} images")
    say(describe_precision(args.precision, device))
    try:
        history = fit(
            model, cifar, recipe=recipe, device=device, precision=args.precision,
            seed=args.seed, checkpoint=args.checkpoint,
            resume=saved if saved is not None else False, live=LiveLoss("text"),
            progress=not args.no_progress, minutes=args.minutes,
            eval_every=args.eval_every, config={"model": model_name, "recipe": recipe_name},
        )
    except (ResumeMismatchError, distributed.DisagreementError,
            NonFiniteLossError) as e:  # raised alike by every process
        if main:
            print(f"convbook train: error: {e}", file=sys.stderr)
        return 1 if isinstance(e, NonFiniteLossError) else 2
    except TooLargeError as e:
        print(f"convbook train: error: {where}{e}", file=sys.stderr)
        return 1
    acc, tta = history["test_acc"][-1], history["tta_acc"][-1]
    result = (f"{tta:.4f} with test-time augmentation ({acc:.4f} without)" if tta is not None
              else f"{acc:.4f}")
    say(f"final test accuracy: {result}; {history['epoch'][-1]} epochs in "
        f"{history['time'][-1]:.0f} s; checkpoint: {args.checkpoint}")
    return 0


def _stopped(args: argparse.Namespace, parser: argparse.ArgumentParser, resumable: bool,
             launched: bool) -> str:
    """What ``convbook train`` says after Ctrl-C: where the run stands, and the command that
    continues it (under torchrun, the options to give the same torchrun command)."""
    if not resumable:
        return f"stopped before the first checkpoint was written to {args.checkpoint}"
    command = resume_command(args, parser)
    how = ("run the same torchrun command with these options:\n  "
           + command.removeprefix("convbook ")) if launched else f"run:\n  {command}"
    return f"stopped; {args.checkpoint} holds the run so far. To continue it, {how}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``convbook`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.run(args, args.subparser)


if __name__ == "__main__":
    sys.exit(main())
