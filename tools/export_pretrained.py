"""Ship a network trained by ``convbook train`` with the package (``convbook/pretrained/``).

Reads a finished ``convbook train`` checkpoint, checks it against the command that wrote it
and the data set it was trained on, and writes

* ``fastnet_cifar10.pt``: the model's ``state_dict`` only (float16 by default, about 1 MB;
  loaded with ``weights_only=True``);
* ``cifar10_samples.pt``: the first few test images of each class, so that chapter 09 and
  the layer explorer run without the data set;
* ``fastnet_cifar10.json``: the command, the data set and its sha256, the architecture, the
  normalisation, the test accuracy *measured here* on every test image in float32 (with and
  without test-time augmentation), both files' sha256, the torch version and the date.

``convbook.models.pretrained()`` loads the result and ``tests/unit/test_pretrained.py`` checks the
recorded accuracy.  Usage, from the repository root (one command re-exports everything)::

    python tools/export_pretrained.py /tmp/exp/runs/fast1.pt \\
        --data ../shared/data/cifar10-jpg.tar.gz \\
        --command "convbook train --data /work/shared/data/cifar10-jpg.tar.gz --device cpu \\
                   --checkpoint /tmp/exp/runs/fast1.pt --no-progress"
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import torch

import convbook
from convbook import cli, data, models
from convbook._io import atomic_torch_save
from convbook.inference import predict
from convbook.training import recipes
from convbook.training.checkpoint import load_checkpoint
from convbook.training.fit import data_signature

ROOT = Path(__file__).resolve().parent.parent
SAMPLES_PER_CLASS = 5
MAX_BYTES = 4 * 2**20  # "a few MB at most"
TTA = 2  # the default recipe's test-time augmentation
DTYPES = {"fp16": torch.float16, "fp32": torch.float32}


class ExportError(ValueError):
    """The checkpoint, the command or the data do not make a network worth shipping."""


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively: what JSON (and a reloaded checkpoint) compares."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def check_command(command: str, config: dict[str, Any]) -> argparse.Namespace:
    """Parse ``command`` with convbook's own CLI parser and check that it is the full-data
    ``convbook train`` run whose ``config`` the checkpoint holds; returns the parsed args."""
    words = shlex.split(command)
    if words[:2] != ["convbook", "train"]:
        raise ExportError(f"--command must be a 'convbook train ...' command, got {command!r}")
    parser = cli.build_parser()
    try:
        args = parser.parse_args(words[1:])
    except SystemExit as e:  # argparse has printed why
        raise ExportError(f"--command is not a valid convbook command: {command!r}") from e
    if args.subset or args.any_size or args.minutes:
        raise ExportError("--command must train on the full data set for the whole recipe "
                          "(no --subset, --any-size or --minutes)")
    recipe = args.recipe or recipes.recipe_named_for(args.model)  # as convbook train chooses
    chosen = recipes.recipe_for(recipe, epochs=args.epochs, batch_size=args.batch_size,
                                lr=args.lr)
    model = args.model or chosen.model
    settings = dataclasses.asdict(chosen)
    said = {"model": model, "recipe": recipe, "seed": args.seed, "settings": _plain(settings)}
    saved = {k: _plain(config.get(k)) for k in said}
    diffs = [f"{k}: command {said[k]!r}, checkpoint {saved[k]!r}" for k in said
             if said[k] != saved[k]]
    if diffs:
        raise ExportError("the checkpoint was not written by --command: " + "; ".join(diffs))
    if model != "fast":
        raise ExportError(f"only FastNet is shipped, but the command trains {model!r}")
    return args


def check_finished(ckpt: dict[str, Any]) -> None:
    """Refuse a checkpoint of a run that stopped early (Ctrl-C, or mid-epoch)."""
    epochs = ckpt["config"]["settings"]["epochs"]
    if ckpt["epoch"] != epochs or ckpt.get("progress"):
        raise ExportError(f"the checkpoint holds {ckpt['epoch']} of {epochs} epochs"
                          f"{' and stopped mid-epoch' if ckpt.get('progress') else ''}: "
                          "let the run finish (or pass --allow-partial for a trial export)")


def data_sha256(path: Path) -> str | None:
    """sha256 of the data set file, checked against ``<file>.sha256`` beside it if there is
    one; ``None`` for a directory."""
    if path.is_dir():
        return None
    digest = models.file_sha256(path)
    recorded = path.with_name(path.name + ".sha256")
    if recorded.is_file():
        expected = recorded.read_text().split()[0]
        if expected != digest:
            raise ExportError(f"{path} has sha256 {digest}, but {recorded} says {expected}")
    return digest


def sample_indices(labels: torch.Tensor, per_class: int = SAMPLES_PER_CLASS) -> torch.Tensor:
    """The first ``per_class`` test images of each class, class by class."""
    return torch.cat([torch.nonzero(labels == c).flatten()[:per_class]
                      for c in range(int(labels.max()) + 1)])


def measure(model: torch.nn.Module, cifar: data.ImageData, mean: torch.Tensor,
            std: torch.Tensor) -> dict[str, Any]:
    """Accuracy on every test image, in float32 on the CPU, without and with TTA."""
    out: dict[str, Any] = {"split": "test", "images": len(cifar.test_labels),
                           "precision": "fp32", "device": "cpu", "tta": TTA}
    for key, tta in (("", 0), ("_tta", TTA)):
        logits = predict(model, cifar.test_images, mean, std, device="cpu", precision="fp32",
                         tta=tta)
        correct = int((logits.argmax(1) == cifar.test_labels).sum())
        top2 = logits.topk(2, dim=1).values
        out[f"correct{key}"] = correct
        out[f"accuracy{key}"] = correct / len(cifar.test_labels)
        # how far the closest call is from a tie: float noise far below it cannot flip one
        out[f"smallest_top2_margin{key}"] = float((top2[:, 0] - top2[:, 1]).min())
    return out


def export(checkpoint: Path, data_path: Path, command: str, out: Path, dtype: str = "fp16",
           allow_partial: bool = False) -> dict[str, Any]:
    """Write the three files into ``out``; returns the JSON record."""
    ckpt = load_checkpoint(checkpoint)
    config = ckpt["config"]
    args = check_command(command, config)
    if not allow_partial:
        check_finished(ckpt)
    widths = list(config["settings"]["widths"])
    model = models.FastNet(widths=widths)
    load_checkpoint(checkpoint, model)
    state = {k: v.to(DTYPES[dtype]) if v.is_floating_point() else v
             for k, v in model.state_dict().items()}

    cifar = data.cifar10(data_path)
    if data_signature(cifar) != config["data"]:
        raise ExportError(f"{data_path} is not the data set the checkpoint was trained on "
                          "(its labels and sizes differ)")
    mean, std = torch.tensor(config["mean"]), torch.tensor(config["std"])
    if not all(map(torch.allclose, (mean, std), cifar.mean_std())):
        raise ExportError(f"{data_path}'s training images have other statistics than the "
                          "checkpoint's normalisation")

    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{models.PRETRAINED_NAME}.pt"
    atomic_torch_save({"model": state}, weights)
    if weights.stat().st_size > MAX_BYTES:
        raise ExportError(f"{weights} is {weights.stat().st_size:,} bytes, over {MAX_BYTES:,}")
    idx = sample_indices(cifar.test_labels)
    samples = out / "cifar10_samples.pt"
    atomic_torch_save({"images": cifar.test_images[idx].clone(),
                       "labels": cifar.test_labels[idx].clone()}, samples)

    shipped = models.FastNet(widths=widths)  # exactly what pretrained() will build
    shipped.load_state_dict({k: v.float() if v.is_floating_point() else v
                             for k, v in torch.load(weights, weights_only=True)["model"].items()})
    history = ckpt["history"]
    record = {
        "name": models.PRETRAINED_NAME,
        "weights": {"file": weights.name, "sha256": models.file_sha256(weights),
                    "bytes": weights.stat().st_size, "dtype": dtype},
        "samples": {"file": samples.name, "sha256": models.file_sha256(samples),
                    "test_indices": idx.tolist(), "per_class": SAMPLES_PER_CLASS},
        "architecture": {"class": "FastNet", "widths": widths, "num_classes": 10,
                         "whiten_size": 2, "parameters": models.count_parameters(shipped)},
        "classes": list(cifar.classes),
        "mean": config["mean"],
        "std": config["std"],
        "training": {
            "command": command,
            "recipe": config["recipe"],
            "seed": config["seed"],
            "settings": _plain(config["settings"]),
            "precision": args.precision,
            "epochs": ckpt["epoch"],
            "finished": ckpt["epoch"] == config["settings"]["epochs"] and not ckpt["progress"],
            "seconds": round(history["time"][-1]) if history.get("time") else None,
            "final_test_acc": history["test_acc"][-1] if history.get("test_acc") else None,
            "final_tta_acc": history["tta_acc"][-1] if history.get("tta_acc") else None,
        },
        "data": {"name": "CIFAR-10 (Krizhevsky 2009), ImageFolder JPEG copy",
                 "file": data_path.name, "sha256": data_sha256(data_path),
                 "signature": config["data"]},
        "evaluation": measure(shipped, cifar, mean, std),
        "torch": torch.__version__,
        "convbook": convbook.__version__,
        "date": datetime.datetime.now(datetime.UTC).date().isoformat(),
        "export_command": "python tools/export_pretrained.py " + shlex.join(sys.argv[1:]),
    }
    (out / f"{models.PRETRAINED_NAME}.json").write_text(to_json(record))
    for path in (weights, samples):
        path.chmod(0o644)  # package data: readable by all (mkstemp made it private)
    return record


def to_json(record: dict[str, Any]) -> str:
    """``record`` as indented JSON, with each list of numbers or short strings on one line."""
    text = json.dumps(record, indent=1)
    flat = re.compile(r"\[\n\s*((?:(?:-?[\d.e+-]+|\"[^\"\n]{0,40}\"),\n\s*)*"
                      r"(?:-?[\d.e+-]+|\"[^\"\n]{0,40}\"))\n\s*\]")
    text = flat.sub(lambda m: "[" + re.sub(r",\n\s*", ", ", m.group(1)) + "]", text)
    assert json.loads(text) == json.loads(json.dumps(record))
    return text + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", type=Path, help="a finished convbook train checkpoint")
    parser.add_argument("--command", required=True,
                        help="the exact 'convbook train ...' command that wrote it")
    parser.add_argument("--data", type=Path, default=os.environ.get("CONVBOOK_DATA"),
                        help="the CIFAR-10 copy it was trained on (default: $CONVBOOK_DATA)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp16",
                        help="precision of the stored weights")
    parser.add_argument("--out", type=Path, default=models.PRETRAINED_DIR)
    parser.add_argument("--allow-partial", action="store_true",
                        help="accept an unfinished run (trial exports; never ship one)")
    args = parser.parse_args(argv)
    if args.data is None:
        parser.error("give --data or set CONVBOOK_DATA")
    try:
        record = export(args.checkpoint, args.data, args.command, args.out, args.dtype,
                        args.allow_partial)
    except (ExportError, FileNotFoundError) as e:
        print(f"export_pretrained: error: {e}", file=sys.stderr)
        return 1
    ev = record["evaluation"]
    print(f"wrote {args.out}: {record['weights']['bytes']:,} bytes of weights; test accuracy "
          f"{ev['accuracy']:.4f} ({ev['accuracy_tta']:.4f} with TTA {ev['tta']}) in fp32")
    print("now run: python -m pytest -q tests/unit/test_pretrained.py, and re-execute chapter 09")
    return 0


if __name__ == "__main__":
    sys.exit(main())
