"""The ``convbook`` command line: help, a tiny training run, Ctrl-C saves a checkpoint."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convbook import cli
from convbook.checkpoint import load_checkpoint
from convbook.models import TutorialNet

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    """A 10-class ImageFolder tree of 32×32 PNGs (4 train, 2 test per class)."""
    monkeypatch.setenv("CONVBOOK_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("test", 2)):
        for c in range(10):
            d = tmp_path / "ds" / split / f"class{c}"
            d.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(
                    d / f"{i}.png")
    return tmp_path / "ds"


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    parser = cli.build_parser()
    train_parser = parser._subparsers._group_actions[0].choices["train"]
    for action in train_parser._actions:
        if action.option_strings and action.dest != "help":
            assert action.help and action.option_strings[-1] in out


def test_train_runs_prints_accuracy_and_saves(tiny_cifar, tmp_path, capsys, monkeypatch):
    import convbook.data as D

    monkeypatch.setattr(D, "CIFAR10_SIZES", None)
    ckpt = tmp_path / "run.pt"
    status = cli.main(["train", "--model", "tutorial", "--epochs", "2", "--device", "cpu",
                       "--data", str(tiny_cifar), "--checkpoint", str(ckpt), "--no-progress",
                       "--batch-size", "8"])
    assert status == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "epoch 1:" in out and "epoch 2:" in out and "final test accuracy:" in out
    saved = load_checkpoint(ckpt, TutorialNet())
    assert saved["epoch"] == 2 and saved["config"]["model"] == "tutorial"


def test_bad_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--model", "resnet"])
    assert e.value.code == 2
    assert "invalid choice: 'resnet'" in capsys.readouterr().err


def test_sigint_saves_a_usable_checkpoint(tiny_cifar, tmp_path):
    ckpt = tmp_path / "run.pt"
    code = (
        "import convbook.data as D, convbook.cli as c, sys;"
        "D.CIFAR10_SIZES = None;"
        "sys.exit(c.main(sys.argv[1:]))"
    )
    env = {"PYTHONPATH": str(ROOT), "CONVBOOK_CACHE": str(tmp_path / "cache"),
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "train", "--model", "tutorial", "--epochs", "100000",
         "--device", "cpu", "--data", str(tiny_cifar), "--checkpoint", str(ckpt),
         "--no-progress", "--batch-size", "8"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not ckpt.exists() and time.monotonic() < deadline:  # wait for the first epoch
        if proc.poll() is not None:
            pytest.fail(f"convbook train exited early: {proc.communicate()}")
        time.sleep(0.2)
    assert ckpt.exists(), "no checkpoint after 120 s"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "epoch 1:" in out
    assert proc.returncode == 130, err
    assert "resume with" in err
    saved = load_checkpoint(ckpt, TutorialNet())
    assert saved["epoch"] >= 1 and saved["config"]["model"] == "tutorial"
