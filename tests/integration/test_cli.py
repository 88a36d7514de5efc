"""The ``convbook`` command line: help, early checks, training runs, Ctrl-C and exact resume,
and what it says when something is wrong (no data, no internet, no checkpoint, a file that is
not one, images too large for the memory)."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from convbook import cli
from convbook.models import TutorialNet
from convbook.training import fit as fit_module
from convbook.training.checkpoint import load_checkpoint

# training runs, subprocesses and the real archive: not in `make test-fast`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def make_tree(root: Path, n_train: int, n_test: int, size: int = 32) -> Path:
    """A 10-class ImageFolder tree of random ``size``×``size`` PNGs."""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        for c in range(10):
            d = root / split / f"class{c}"
            d.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(
                    d / f"{i}.png")
    return root


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    """4 train and 2 test images per class, and a private cache."""
    monkeypatch.setenv("CONVBOOK_CACHE", str(tmp_path / "cache"))
    return make_tree(tmp_path / "ds", 4, 2)


def run_cli(*args: str) -> int:
    return cli.main(["train", "--device", "cpu", "--no-progress", "--any-size", *args])


def test_help_explains_every_option_without_empty_defaults(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["train", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "(default: None)" not in out and "default: the recipe's" in out
    train_parser = cli.build_parser().parse_args(["train"]).subparser
    for action in train_parser._actions:
        if action.option_strings and action.dest != "help":
            assert action.help and action.option_strings[-1] in out


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "argument --epochs: must be >= 1, got 0"),
    (["--batch-size", "0"], "argument --batch-size: must be >= 1, got 0"),
    (["--subset", "0", "0"], "argument --subset: must be >= 1, got 0"),
    (["--eval-every", "-1"], "argument --eval-every: must be >= 0, got -1"),
    (["--eval-every", "2.5"], "argument --eval-every: must be a whole number >= 0, got '2.5'"),
    (["--epochs", "three"], "argument --epochs: must be a whole number >= 1, got 'three'"),
    (["--lr", "nan"], "argument --lr: must be a finite number > 0, got nan"),
    (["--lr", "-1"], "argument --lr: must be a finite number > 0, got -1.0"),
    (["--minutes", "0"], "argument --minutes: must be a finite number > 0, got 0"),
    (["--timeout", "-1"], "argument --timeout: must be a finite number > 0, got -1"),
    (["--seed", "1.5"], "argument --seed: must be a whole number >= 0, got '1.5'"),
    (["--seed", "-1"], "argument --seed: must be >= 0, got -1"),
    (["--device", "nonsense"], "argument --device: device must be 'auto', 'cpu'"),
    (["--model", "resnet"], "invalid choice: 'resnet'"),
])
def test_bad_options_exit_2_before_any_data_is_read(args, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        run_cli("--data", str(tmp_path / "absent"), "--checkpoint", str(tmp_path / "c.pt"),
                *args)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "absent" not in err  # the data set was never looked at


def test_bad_checkpoint_paths_exit_2_before_training(tmp_path, capsys):
    (tmp_path / "file.txt").write_text("not a directory")
    for args, message in (
        (["--checkpoint", str(tmp_path)], "is a directory; give a file name"),
        (["--checkpoint", str(tmp_path / "file.txt" / "c.pt")], "file.txt is not a writable"),
    ):
        with pytest.raises(SystemExit) as e:
            run_cli("--data", str(tmp_path / "absent"), *args)
        assert e.value.code == 2 and message in capsys.readouterr().err
    (tmp_path / "cut.pt").write_bytes(b"PK\x03\x04 half a zip file")
    with pytest.raises(SystemExit) as e:
        run_cli("--data", str(tmp_path / "absent"), "--resume", "--checkpoint",
                str(tmp_path / "cut.pt"))
    err = capsys.readouterr().err
    assert e.value.code == 2 and "cut.pt is not a readable convbook checkpoint" in err
    assert "Traceback" not in err  # the usage, then one line:
    assert err.strip().splitlines()[-1].startswith("convbook train: error: argument --resume: ")


def test_missing_data_is_one_clear_line(tmp_path, capsys):
    assert run_cli("--data", str(tmp_path / "absent"), "--checkpoint",
                   str(tmp_path / "c.pt")) == 1
    err = capsys.readouterr().err
    assert "no data set at" in err and "point --data at" in err
    assert len(err.strip().splitlines()) == 1


def test_a_damaged_data_set_says_point_data_at_when_data_was_given(tmp_path, capsys,
                                                                    monkeypatch):
    monkeypatch.setenv("CONVBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CONVBOOK_DATA", str(tmp_path / "elsewhere"))  # not what was given
    tree = make_tree(tmp_path / "ds", 2, 1)
    for png in (tree / "test").rglob("*.png"):
        png.unlink()  # a partial copy: no test images
    assert run_cli("--data", str(tree), "--checkpoint", str(tmp_path / "c.pt")) == 1
    err = capsys.readouterr().err
    assert "found no test images" in err and "point --data at a complete copy" in err
    assert "CONVBOOK_DATA" not in err


def test_no_data_and_no_internet_names_data_and_convbook_data(tmp_path, capsys, monkeypatch):
    import torchvision.datasets.cifar as tv_cifar

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", offline)
    monkeypatch.delenv("CONVBOOK_DATA", raising=False)
    monkeypatch.setenv("CONVBOOK_CACHE", str(tmp_path / "cache"))
    assert cli.main(["train", "--device", "cpu", "--checkpoint", str(tmp_path / "c.pt")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("convbook train: error: CIFAR-10 is not in ")
    assert "could not be downloaded (Name or service not known)" in err or \
        "could not be downloaded ([Errno -2]" in err
    assert "point --data or CONVBOOK_DATA at an offline copy" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_resume_without_a_checkpoint_refuses_and_names_the_path(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        run_cli("--data", str(tmp_path / "absent"), "--resume", "--checkpoint",
                str(tmp_path / "none.pt"))
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert f"argument --resume: there is no checkpoint at {tmp_path / 'none.pt'}" in err
    assert "absent" not in err  # refused before the data set was looked at


def test_resume_from_a_file_that_is_not_a_checkpoint_says_so(tmp_path, capsys):
    (tmp_path / "notes.pt").write_text("hello world\n")
    with pytest.raises(SystemExit) as e:
        run_cli("--data", str(tmp_path / "absent"), "--resume", "--checkpoint",
                str(tmp_path / "notes.pt"))
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert "notes.pt is not a readable convbook checkpoint: it starts with b'hello wo'" in err
    assert "KeyError" not in err


def test_resume_reads_the_checkpoint_once(tiny_cifar, tmp_path, capsys, monkeypatch):
    ckpt = tmp_path / "run.pt"
    common = ["--model", "tutorial", "--data", str(tiny_cifar), "--checkpoint", str(ckpt),
              "--epochs", "2", "--batch-size", "20"]
    assert run_cli(*common[:-4], "--epochs", "1", "--batch-size", "20") == 0
    reads = []
    real_load = torch.load

    def counting(f, *args, **kwargs):
        reads.append(Path(f))
        return real_load(f, *args, **kwargs)

    monkeypatch.setattr(torch, "load", counting)
    assert run_cli(*common, "--resume") == 2  # the first run was of 1 epoch: refused
    assert reads.count(ckpt) == 1
    reads.clear()
    capsys.readouterr()
    assert run_cli(*common[:-4], "--epochs", "1", "--batch-size", "20", "--resume") == 0
    assert reads.count(ckpt) == 1


def test_images_too_large_for_the_memory_are_refused_before_training(tmp_path, capsys,
                                                                     monkeypatch):
    monkeypatch.setenv("CONVBOOK_CACHE", str(tmp_path / "cache"))
    tree = make_tree(tmp_path / "ds", 2, 1, size=64)  # "huge" next to the memory below
    monkeypatch.setattr(fit_module, "memory_bytes", lambda device="cpu": 4_000_000)
    status = run_cli("--data", str(tree), "--checkpoint", str(tmp_path / "c.pt"),
                     "--epochs", "1", "--batch-size", "20")
    captured = capsys.readouterr()
    assert status == 1 and "epoch 1" not in captured.out
    err = captured.err.strip()
    assert err.startswith("convbook train: error: data: training on 64×64 images needs at "
                          "least ") and "GB of memory here" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "c.pt").exists()


def test_help_loads_no_torch():
    code = ("import sys\nfrom convbook import cli\n"
            "try:\n    cli.main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('torch loaded:', 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                         check=True).stdout
    assert "--recipe {fast,best,tutorial}" in out and out.endswith("torch loaded: False\n")


def test_tutorial_run_prints_progress_and_saves(tiny_cifar, tmp_path, capsys):
    ckpt = tmp_path / "run.pt"
    status = run_cli("--model", "tutorial", "--epochs", "2", "--data", str(tiny_cifar),
                     "--checkpoint", str(ckpt), "--batch-size", "8")
    out = capsys.readouterr().out
    assert status == 0, out
    assert "recipe: tutorial (2 epochs)" in out and "precision:" in out
    assert "epoch 1:" in out and "epoch 2:" in out and "final test accuracy:" in out
    saved = load_checkpoint(ckpt, TutorialNet())
    assert saved["epoch"] == 2 and saved["config"]["model"] == "tutorial"


def test_default_recipe_runs_the_fast_network_with_test_time_augmentation(tiny_cifar, tmp_path,
                                                                          capsys):
    ckpt = tmp_path / "run.pt"
    status = run_cli("--epochs", "1", "--batch-size", "10", "--data", str(tiny_cifar),
                     "--checkpoint", str(ckpt))
    out = capsys.readouterr().out
    assert status == 0, out
    assert "model: fast" in out and "recipe: fast (1 epochs)" in out
    assert "with test-time augmentation" in out
    assert load_checkpoint(ckpt)["config"]["settings"]["widths"] == (32, 128, 128)


def test_resume_with_other_options_is_refused(tiny_cifar, tmp_path, capsys):
    ckpt = tmp_path / "run.pt"
    common = ["--model", "tutorial", "--data", str(tiny_cifar), "--checkpoint", str(ckpt)]
    assert run_cli(*common, "--epochs", "1") == 0
    capsys.readouterr()
    assert run_cli(*common, "--epochs", "1", "--resume", "--lr", "0.5") == 2
    err = capsys.readouterr().err
    assert "it was written by a different run; it differs in\n  recipe's lr: checkpoint " \
        "0.01, now 0.5\nResume with the same options" in err
    assert run_cli(*common, "--epochs", "1", "--resume", "--model", "wide") == 2
    lines = capsys.readouterr().err.splitlines()
    assert "  model: checkpoint 'tutorial', now 'wide'" in lines  # one difference a line


def _run_words(words: list[str], cache: Path, cwd: Path) -> subprocess.Popen:
    """``convbook train <words>`` in a process of its own (``python -m convbook``)."""
    env = {"PYTHONPATH": str(ROOT), "CONVBOOK_CACHE": str(cache), "PATH": "/usr/bin:/bin"}
    return subprocess.Popen([sys.executable, "-m", "convbook", "train", *words],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=cwd)


def _train_process(tree: Path, ckpt: Path, cache: Path, *extra: str) -> subprocess.Popen:
    return _run_words(["--model", "wide", "--epochs", "2", "--device", "cpu", "--data",
                       str(tree), "--any-size", "--checkpoint", str(ckpt), "--no-progress",
                       "--batch-size", "4", "--precision", "fp32", *extra], cache, ckpt.parent)


def test_sigint_in_the_middle_of_an_epoch_then_resume_equals_an_uninterrupted_run(tmp_path):
    # the dropout network: resuming must also restore the random state of dropout
    tree = make_tree(tmp_path / "ds", 12, 1)  # 120 training images: 30 steps an epoch
    # the run that is never interrupted trains meanwhile, in a process of its own
    straight = _train_process(tree, tmp_path / "straight.pt", tmp_path / "cache-straight")
    try:
        for attempt in range(4):
            ckpt = tmp_path / f"stopped{attempt}.pt"
            proc = _train_process(tree, ckpt, tmp_path / "cache")
            deadline = time.monotonic() + 300
            while not ckpt.exists() and time.monotonic() < deadline:  # the first epoch is done
                if proc.poll() is not None:
                    pytest.fail(f"convbook train exited early: {proc.communicate()}")
                time.sleep(0.05)
            time.sleep(0.2 * attempt)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 130, err
            assert "holds the run so far. To continue it, run:\n  convbook train " in err
            if load_checkpoint(ckpt)["progress"].get("step"):
                break  # it stopped in the middle of an epoch, as wanted
        else:
            pytest.fail("no SIGINT landed in the middle of an epoch in 4 attempts")
        # the command it printed, as a shell would run it
        command = shlex.split(err.rsplit("To continue it, run:\n", 1)[1].strip())
        assert command[:2] == ["convbook", "train"] and "--resume" in command
        assert command[command.index("--data") + 1] == str(tree)
        resumed = _run_words(command[2:], tmp_path / "cache", cwd=ckpt.parent)
        _, err = resumed.communicate(timeout=600)
        assert resumed.returncode == 0, err
        _, err = straight.communicate(timeout=600)
        assert straight.returncode == 0, err
    finally:
        if straight.poll() is None:  # the test failed before it finished
            straight.kill()
            straight.communicate()
    a, b = load_checkpoint(tmp_path / "straight.pt"), load_checkpoint(ckpt)
    assert a["epoch"] == b["epoch"] == 2
    for (k, x), y in zip(a["model"].items(), b["model"].values()):
        assert torch.equal(x, y), k
