"""Data-parallel training (convbook.training.distributed): sharding and gradient arithmetic in one
process, then real two-process runs under torchrun on the CPU (gloo, loopback only)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path

import psutil
import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from ddp_worker import EQUIVALENCE, SIGINT_AT, SmallNet, equivalence_run
from test_cli import make_tree

from convbook import cli
from convbook.training import distributed
from convbook.training.checkpoint import load_checkpoint
from convbook.training.fit import StopRequest
from convbook.training.loader import TrainLoader

# training runs, subprocesses and the real archive: not in `make test-fast`
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- in one process


def test_shard_cuts_a_range_into_contiguous_parts_of_nearly_equal_length():
    for n in range(30):
        for size in range(1, 7):
            parts = [distributed.shard(n, r, size) for r in range(size)]
            assert parts[0].start == 0 and parts[-1].stop == n
            assert all(a.stop == b.start for a, b in pairwise(parts))  # no gap, no overlap
            lengths = [p.stop - p.start for p in parts]
            assert max(lengths) - min(lengths) <= 1 and lengths == sorted(lengths, reverse=True)


@pytest.mark.parametrize("rank, size, message", [(2, 2, "rank must be <= 1, got 2"),
                                                  (-1, 2, "rank must be >= 0, got -1"),
                                                  (0, 0, "size must be >= 1, got 0")])
def test_shard_refuses_a_rank_outside_the_run(rank, size, message):
    with pytest.raises(ValueError, match=message):
        distributed.shard(10, rank, size)


def test_the_processes_parts_make_up_the_batches_of_one_process():
    n, batch = 23, 8  # batches of 8, 8 and 7 images
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 6, 6), dtype=torch.uint8, generator=g)
    ids = torch.arange(n)  # the labels name the images
    mean, std = torch.full((3,), 0.5), torch.full((3,), 0.25)

    def loader(rank=0, world_size=1):
        return TrainLoader(images, ids, batch, mean, std, translate=2, flip="random", seed=3,
                           rank=rank, world_size=world_size)

    one = loader()
    for world in (2, 3):
        parts = [loader(r, world) for r in range(world)]
        assert all(len(p) == len(one) == 3 for p in parts)  # as many steps as one process
        for epoch in (0, 1):
            seen = []
            for b, (x, y) in enumerate(one.epoch(epoch)):
                shards = [next(iter(p.epoch(epoch, start=b))) for p in parts]
                torch.testing.assert_close(torch.cat([s[0] for s in shards]), x, rtol=0, atol=0)
                assert torch.equal(torch.cat([s[1] for s in shards]), y)
                seen += [s[1].tolist() for s in shards]
            flat = [i for part in seen for i in part]
            assert sorted(flat) == list(range(n))  # disjoint, and together the whole set
    first, second = ([y.tolist() for _, y in parts[0].epoch(e)] for e in (0, 1))
    assert first != second  # every epoch is shuffled afresh


@pytest.mark.parametrize("n, batch, message", [
    (20, 1, "each of the 2 processes, but batch_size is 1"),
    (21, 4, "each of the 2 processes, but the last batch of an epoch holds 1 of the 21 images"),
])
def test_the_loader_refuses_batches_that_leave_a_process_without_images(n, batch, message):
    images, labels = torch.zeros(n, 3, 4, 4, dtype=torch.uint8), torch.zeros(n, dtype=torch.long)
    with pytest.raises(ValueError, match=message):
        TrainLoader(images, labels, batch, torch.zeros(3), torch.ones(3), rank=1, world_size=2)
    with pytest.raises(ValueError, match=r"rank must be <= 1, got 2"):
        TrainLoader(images, labels, 4, torch.zeros(3), torch.ones(3), rank=2, world_size=2)


@pytest.mark.parametrize("loss_sum", [True, False])
def test_loss_scale_makes_the_average_of_the_gradients_the_whole_batch_gradient(loss_sum):
    torch.manual_seed(0)
    net = torch.nn.Linear(5, 3)
    x, y = torch.randn(11, 5), torch.randint(0, 3, (11,))
    reduction = "sum" if loss_sum else "mean"

    def grad(xb, yb, scale=1.0):
        net.zero_grad()
        (F.cross_entropy(net(xb), yb, reduction=reduction) * scale).backward()
        return net.weight.grad.clone()

    whole = grad(x, y)
    for size in (2, 3, 4):  # uneven parts: 6 + 5, 4 + 4 + 3, 3 + 3 + 3 + 2
        procs = distributed.Processes(0, size, torch.device("cpu"))
        parts = [distributed.shard(len(y), r, size) for r in range(size)]
        averaged = sum(grad(x[p], y[p], procs.loss_scale(p.stop - p.start, len(y), loss_sum))
                       for p in parts) / size  # what DDP's all-reduce computes
        torch.testing.assert_close(averaged, whole)
        unscaled = sum(grad(x[p], y[p]) for p in parts) / size
        assert not torch.allclose(unscaled, whole, rtol=1e-3)  # the scale is not a no-op


def test_a_plain_run_starts_no_process_group(monkeypatch):
    for name in distributed.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    assert not distributed.launched()
    assert distributed.init("cpu") == torch.device("cpu")
    assert distributed.processes() is None and not dist.is_initialized()
    distributed.close()  # nothing to leave: no error


@pytest.mark.parametrize("env, message", [
    ({"RANK": "one", "WORLD_SIZE": "2"}, "RANK must be a whole number, got 'one'"),
    ({"RANK": "2", "WORLD_SIZE": "2", "LOCAL_RANK": "0"},
     r"RANK must be in \[0, WORLD_SIZE\), got RANK=2, WORLD_SIZE=2"),
    ({"RANK": "0", "WORLD_SIZE": "2"}, "LOCAL_RANK is not set: start the run with torchrun"),
])
def test_init_checks_what_the_launcher_set(monkeypatch, env, message):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        distributed.init("cpu")
    assert not dist.is_initialized()


@pytest.mark.parametrize("timeout, error", [(0, ValueError), (-5, ValueError),
                                            (float("nan"), ValueError), ("60", TypeError),
                                            (True, TypeError)])
def test_init_refuses_a_timeout_that_is_not_a_positive_number(timeout, error):
    with pytest.raises(error, match=r"timeout must be a (finite )?number( > 0)?, got"):
        distributed.init("cpu", timeout=timeout)


def test_failures_of_other_processes_are_told_apart_from_other_errors():
    reset = RuntimeError("[/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error "
                         "[127.0.0.1]:7070: Connection reset by peer. This is typically caused "
                         "by a remote worker hanging. GLHF!")
    text = distributed.describe_failure(reset)
    assert text == ("lost contact with another process of the run (it stopped, was killed, "
                    "hangs or cannot be reached): Read error [127.0.0.1]:7070: Connection "
                    "reset by peer")
    stopped = distributed.LostProcessError("stopped by the launcher")
    assert distributed.describe_failure(stopped) == "stopped by the launcher"
    for other in (RuntimeError("mat1 and mat2 shapes cannot be multiplied"), ValueError("x")):
        assert distributed.describe_failure(other) is None


def test_in_a_run_of_several_processes_ctrl_c_waits_for_their_agreement():
    stop = StopRequest(agreed=True)
    with stop.installed():
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.signalled and not stop.requested  # the loop decides, with the others
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C still stops at once
    alone = StopRequest()
    with alone.installed():
        os.kill(os.getpid(), signal.SIGINT)
        assert alone.signalled and alone.requested


# --------------------------------------------------------------------------- two processes


def torchrun(*args: str, cwd: Path, cache: Path) -> subprocess.Popen:
    """``torchrun --standalone --nproc_per_node=2 ARGS`` on the loopback interface, in its
    own session (as a terminal's Ctrl-C would reach it)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CONVBOOK_CACHE": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--local-addr",
         "127.0.0.1", "--nproc_per_node=2", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
        start_new_session=True)


@contextmanager
def launched(*args: str, cwd: Path, cache: Path):
    """:func:`torchrun`, and on the way out nothing of it left running, whatever happened."""
    proc = torchrun(*args, cwd=cwd, cache=cache)
    workers: list[psutil.Process] = []
    try:
        yield proc
    finally:
        if proc.poll() is None:
            workers = psutil.Process(proc.pid).children()
            proc.kill()
            proc.communicate()
        for w in workers:  # in sessions of their own: the launcher's death does not end them
            if w.is_running():
                w.kill()


def wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before writing {path.name}: {proc.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {path.name} after {seconds} s")
        time.sleep(0.02)


def test_two_processes_train_like_one_and_stop_and_resume_together(tmp_path):
    with launched(str(ROOT / "tests" / "ddp_worker.py"), str(tmp_path), cwd=tmp_path,
                  cache=tmp_path / "cache") as proc:
        _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    # one step (and a few) with global batch B in two processes = one process with batch B
    for name in EQUIVALENCE:
        start = SmallNet().state_dict()
        one = equivalence_run(name, None).state_dict()
        two = load_checkpoint(tmp_path / f"{name}.pt")["model"]
        for key, w in one.items():
            assert (w - start[key]).abs().max() > 1e-4, (name, key)  # it did train
            torch.testing.assert_close(two[key], w, rtol=1e-5, atol=1e-6, msg=f"{name} {key}")
    # Ctrl-C reached process 1 alone, during the optimizer step of its 4th step, too late to
    # be agreed on in that step: both stopped after the next one, and process 0 saved it
    # (3 steps an epoch: after epoch 1 and step 2 of epoch 2)
    seen = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [s["interrupted"] for s in seen] == [True, True]
    stopped = load_checkpoint(tmp_path / "stopped.pt")
    assert stopped["epoch"] * 3 + stopped["progress"]["step"] == SIGINT_AT + 1
    assert len(stopped["rng"]["ranks"]) == 2  # each process's dropout stream
    straight = load_checkpoint(tmp_path / "straight.pt")["model"]
    resumed = load_checkpoint(tmp_path / "resumed.pt")["model"]
    for key, w in straight.items():
        assert torch.equal(resumed[key], w), key  # bit for bit, dropout included
    # processes that would train different runs refuse, all of them, with the same message
    assert seen[0]["disagreement"] == seen[1]["disagreement"]
    assert "the processes of the run disagree (process 1 has seed 1, process 0 0)" in \
        seen[0]["disagreement"]


def cli_args(tree: Path, ckpt: Path) -> list[str]:
    return ["train", "--model", "tutorial", "--epochs", "2", "--device", "cpu", "--data",
            str(tree), "--any-size", "--checkpoint", str(ckpt), "--no-progress",
            "--batch-size", "4", "--precision", "fp32"]


def test_convbook_train_under_torchrun_stops_on_ctrl_c_and_resumes(tmp_path):
    tree = make_tree(tmp_path / "ds", 12, 1)  # 120 training images: 30 steps an epoch
    run = tmp_path / "run"
    run.mkdir()
    ckpt = run / "c.pt"
    with launched("-m", "convbook", *cli_args(tree, ckpt), cwd=run,
                  cache=tmp_path / "cache") as proc:
        wait_for(ckpt, proc)  # the first epoch is done
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal: torchrun passes it on
        out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0  # torchrun reports the stop as a failure
    assert err.count("holds the run so far. To continue it, run the same torchrun command "
                     "with these options:\n  train ") == 1, err  # process 0 says it, once
    assert out.count("data: ImageData") == 1 and "data-parallel: 2 processes" in out
    saved = load_checkpoint(ckpt)
    assert 30 <= saved["epoch"] * 30 + saved["progress"].get("step", 0) <= 60

    with launched("-m", "convbook", *cli_args(tree, ckpt), "--resume", cwd=run,
                  cache=tmp_path / "cache") as proc:
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert out.count("final test accuracy:") == 1, out  # only process 0 prints
    assert sorted(p.name for p in run.iterdir()) == ["c.pt"]  # one checkpoint, no leftovers
    two = load_checkpoint(ckpt)
    assert two["epoch"] == 2 and not two["progress"]

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as torchrun gives each process (and fast on a busy machine)
    try:
        assert cli.main([*cli_args(tree, tmp_path / "one.pt")]) == 0
    finally:
        torch.set_num_threads(threads)
    one = load_checkpoint(tmp_path / "one.pt")
    for key, w in one["model"].items():  # the same run as in one process, up to rounding
        torch.testing.assert_close(two["model"][key], w, rtol=1e-4, atol=1e-6, msg=key)


def test_a_killed_process_makes_the_other_stop_with_a_clear_message(tmp_path):
    tree = make_tree(tmp_path / "ds", 12, 1)
    ckpt = tmp_path / "c.pt"
    with launched("-m", "convbook", *cli_args(tree, ckpt), "--epochs", "50", cwd=tmp_path,
                  cache=tmp_path / "cache") as proc:
        wait_for(ckpt, proc)
        victim = next(w for w in psutil.Process(proc.pid).children()
                      if w.environ().get("LOCAL_RANK") == "1")
        victim.kill()
        killed = time.monotonic()
        _, err = proc.communicate(timeout=60)
    assert time.monotonic() - killed < 60 and proc.returncode != 0
    assert "convbook train: error: process 0 of 2: " in err, err
    assert ("lost contact with another process of the run" in err
            or "stopped by the launcher (SIGTERM)" in err), err
    assert load_checkpoint(ckpt)["epoch"] >= 1  # the last checkpoint is intact
