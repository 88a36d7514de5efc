"""The network shipped with convbook: its recorded accuracy, measured again on every
CIFAR-10 test image; its files, checked and refused when damaged; its provenance."""

from __future__ import annotations

import json
import shutil
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
import torch

from convbook import cli, models
from tools import export_pretrained

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


def test_json_records_a_finished_run_of_the_command_it_names():
    info = models.pretrained_info()
    training = info["training"]
    assert training["finished"] and training["epochs"] == training["settings"]["epochs"]
    config = {"model": training["settings"]["model"], "recipe": training["recipe"],
              "seed": training["seed"], "settings": training["settings"]}
    args = export_pretrained.check_command(training["command"], config)  # raises if not
    assert args.command == "train" and args.subset is None
    assert cli.build_parser().parse_args(training["command"].split()[1:]).recipe in (None, "fast")
    assert info["architecture"] == {
        "class": "FastNet", "widths": training["settings"]["widths"], "num_classes": 10,
        "whiten_size": 2, "parameters": models.count_parameters(models.pretrained())}
    assert info["data"]["file"] == "cifar10-jpg.tar.gz"
    recorded = SHARED.with_name(SHARED.name + ".sha256")
    if recorded.exists():  # the shared copy's checksum file
        assert info["data"]["sha256"] == recorded.read_text().split()[0]
    for key in ("weights", "samples"):
        path = models.PRETRAINED_DIR / info[key]["file"]
        assert models.file_sha256(path) == info[key]["sha256"]
    assert (models.PRETRAINED_DIR / info["weights"]["file"]).stat().st_size < 4 * 2**20


def test_pretrained_is_a_new_fastnet_in_eval_mode_every_time():
    a, b = models.pretrained(), models.pretrained()
    assert a is not b and isinstance(a, models.FastNet)
    assert not a.training and a.widths == (32, 128, 128)
    assert not a.whiten.weight.requires_grad  # as FastNet makes it
    assert all(p.dtype == torch.float32 for p in a.parameters())
    with torch.no_grad():
        a.head.weight.zero_()
    assert b.head.weight.abs().sum() > 0


def test_samples_are_five_of_each_class():
    images, labels = models.pretrained_samples()
    assert images.shape == (50, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.tolist() == [c for c in range(10) for _ in range(5)]


def test_package_data_puts_the_files_in_the_wheel():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["convbook"]
    files = [p.relative_to(ROOT / "convbook").as_posix()
             for p in models.PRETRAINED_DIR.iterdir()]
    assert len(files) == 3
    for name in files:
        assert any(fnmatch(name, pattern) for pattern in patterns), name


# --------------------------------------------------------------------------- damage


@pytest.fixture
def shipped_copy(tmp_path, monkeypatch):
    """A copy of the shipped files that the test may break; pretrained() reads it."""
    folder = tmp_path / "pretrained"
    shutil.copytree(models.PRETRAINED_DIR, folder)
    monkeypatch.setattr(models, "PRETRAINED_DIR", folder)
    return folder


def _rewrite_json(folder: Path, change) -> None:
    path = folder / "fastnet_cifar10.json"
    info = json.loads(path.read_text())
    change(info)
    path.write_text(json.dumps(info))


def _replace_weights(folder: Path, payload: object) -> None:
    torch.save(payload, folder / "fastnet_cifar10.pt")
    digest = models.file_sha256(folder / "fastnet_cifar10.pt")
    _rewrite_json(folder, lambda info: info["weights"].__setitem__("sha256", digest))


def test_the_copy_loads_like_the_original(shipped_copy):
    copied = models.pretrained().state_dict()
    original = torch.load(ROOT / "convbook/pretrained/fastnet_cifar10.pt",
                                  weights_only=True)["model"]
    assert copied.keys() == original.keys()
    assert all(torch.equal(copied[k], original[k].to(copied[k].dtype)) for k in copied)


def test_missing_weights_are_named(shipped_copy):
    (shipped_copy / "fastnet_cifar10.pt").unlink()
    with pytest.raises(models.PretrainedError,
                       match=r"fastnet_cifar10\.pt is missing: reinstall convbook"):
        models.pretrained()


def test_missing_json_is_named(shipped_copy):
    (shipped_copy / "fastnet_cifar10.json").unlink()
    with pytest.raises(models.PretrainedError, match=r"description .*fastnet_cifar10\.json is "
                                                     "missing"):
        models.pretrained()


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2]", '{"weights": {}}'])
def test_damaged_json_is_named(shipped_copy, text):
    (shipped_copy / "fastnet_cifar10.json").write_text(text)
    with pytest.raises(models.PretrainedError, match=r"fastnet_cifar10\.json (is damaged|lacks)"):
        models.pretrained_info()


def test_a_flipped_byte_is_caught_by_the_sha256(shipped_copy):
    path = shipped_copy / "fastnet_cifar10.pt"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(models.PretrainedError, match="is damaged or was replaced: its sha256"):
        models.pretrained()


def test_damaged_samples_are_caught_too(shipped_copy):
    (shipped_copy / "cifar10_samples.pt").write_bytes(b"truncated")
    with pytest.raises(models.PretrainedError, match=r"cifar10_samples\.pt is damaged"):
        models.pretrained_samples()


class Payload:
    """An object that pickle stores by reference to this class: code to run on loading."""


def test_a_file_with_code_in_it_is_refused_even_with_the_right_sha256(shipped_copy):
    _replace_weights(shipped_copy, {"model": Payload()})
    with pytest.raises(models.PretrainedError, match="cannot be read safely"):
        models.pretrained()


def test_weights_of_another_architecture_are_refused(shipped_copy):
    _replace_weights(shipped_copy, {"model": models.FastNet(widths=(8, 8, 8)).state_dict()})
    with pytest.raises(models.PretrainedError,
                       match=r"do not fit FastNet\(widths=\(32, 128, 128\)\)"):
        models.pretrained()


# --------------------------------------------------------------------------- export script


CONFIG = {"model": "fast", "recipe": "fast", "seed": 0,
          "settings": models.pretrained_info()["training"]["settings"]}


@pytest.mark.parametrize(
    "command, message",
    [
        ("python train.py", "must be a 'convbook train ...' command"),
        ("convbook train --subset 100 10", "must train on the full data set"),
        ("convbook train --minutes 3", "must train on the full data set"),
        ("convbook train --epochs 8", r"settings: command .*'epochs': 8"),
        ("convbook train --seed 1", "seed: command 1, checkpoint 0"),
        ("convbook train --recipe best", "recipe: command 'best', checkpoint 'fast'"),
        ("convbook train --model tutorial", "model: command 'tutorial', checkpoint 'fast'"),
        ("convbook train --epochs zero", "not a valid convbook command"),
    ],
)
def test_export_refuses_a_command_that_did_not_write_the_checkpoint(command, message):
    with pytest.raises(export_pretrained.ExportError, match=message):
        export_pretrained.check_command(command, CONFIG)


def test_export_accepts_the_shipped_command_with_other_paths():
    args = export_pretrained.check_command(
        "convbook train --epochs 4 --data /x/cifar.tar.gz --device cpu --checkpoint 'my run.pt'",
        CONFIG)  # the shipped network trained one epoch longer than the default recipe
    assert args.checkpoint == "my run.pt"
    with pytest.raises(export_pretrained.ExportError, match="'epochs': 3"):  # the default
        export_pretrained.check_command("convbook train --data /x/cifar.tar.gz", CONFIG)


@pytest.mark.parametrize("epoch, progress", [(3, {}), (4, {"step": 10})])
def test_export_refuses_an_unfinished_run(epoch, progress):
    with pytest.raises(export_pretrained.ExportError, match="let the run finish"):
        export_pretrained.check_finished({"epoch": epoch, "progress": progress,
                                          "config": CONFIG})
    export_pretrained.check_finished({"epoch": 4, "progress": {}, "config": CONFIG})


def test_export_json_keeps_short_lists_on_one_line():
    record = {"a": [1, 2.5, -3e-06], "b": ["x", "y"], "c": {"d": [[1, 2], [3]]}, "e": []}
    text = export_pretrained.to_json(record)
    assert '"a": [1, 2.5, -3e-06]' in text and '"b": ["x", "y"]' in text
    assert json.loads(text) == record
