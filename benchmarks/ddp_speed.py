"""Data-parallel training on this machine's CPU: 2 processes against 1, side by side.

    python benchmarks/ddp_speed.py --repeats 3            # one epoch of 10,000 images each

Runs ``convbook train`` (default recipe, one epoch on a random subset) as

* ``1 process x 2 threads``: a plain run using both cores through PyTorch's threads;
* ``1 process x 1 thread``: the same with one thread (what each data-parallel process gets);
* ``2 processes x 1 thread``: ``torchrun --standalone --nproc_per_node=2`` (torchrun sets
  ``OMP_NUM_THREADS=1`` for each process).

On a 2-core machine the fair comparison is the first against the last: both use both cores.
The three are interleaved in every repeat, so that a change in the machine's load hits all of
them alike.  The time is the run's own training time (one epoch and its evaluation, from the
checkpoint's history), without starting Python and loading the data; the wall time of the
whole command is shown beside it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SETUPS = {
    "1 process x 2 threads": (1, 2),
    "1 process x 1 thread": (1, 1),
    "2 processes x 1 thread": (2, 1),
}


def run(processes: int, threads: int, args: argparse.Namespace, out: Path
        ) -> tuple[float, float, float]:
    """(training seconds, wall seconds, final test accuracy) of one ``convbook train`` run."""
    ckpt = out / f"p{processes}t{threads}.pt"
    ckpt.unlink(missing_ok=True)
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", "--local-addr",
                 "127.0.0.1", f"--nproc_per_node={processes}"] if processes > 1
                else [sys.executable])
    command = [*launcher, "-m", "convbook", "train", "--epochs", str(args.epochs),
               "--subset", str(args.subset[0]), str(args.subset[1]), "--checkpoint", str(ckpt),
               "--no-progress", "--device", "cpu"]
    if args.data:
        command += ["--data", args.data]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=out, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    history = torch.load(ckpt, weights_only=True)["history"]
    return history["time"][-1], wall, history["tta_acc"][-1] or history["test_acc"][-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--subset", type=int, nargs=2, default=(10_000, 1_000))
    parser.add_argument("--data", default=os.environ.get("CONVBOOK_DATA"))
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.1f}; "
          f"{args.epochs} epoch(s) of {args.subset[0]:,} images, test on {args.subset[1]:,}")
    times: dict[str, list[float]] = {name: [] for name in SETUPS}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for name, (processes, threads) in SETUPS.items():
                train_s, wall_s, acc = run(processes, threads, args, Path(tmp))
                times[name].append(train_s)
                print(f"  repeat {rep + 1}: {name:24s} {train_s:6.1f} s training, "
                      f"{wall_s:6.1f} s wall, test accuracy {acc:.4f}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    for name, ts in times.items():
        print(f"{name:24s} median {statistics.median(ts):6.1f} s  (min {min(ts):.1f}, "
              f"max {max(ts):.1f})")
    base = statistics.median(times["1 process x 2 threads"])
    for name in ("1 process x 1 thread", "2 processes x 1 thread"):
        ratios = [a / b for a, b in zip(times["1 process x 2 threads"], times[name])]
        print(f"speed-up of {name} over 1 process x 2 threads: "
              f"{base / statistics.median(times[name]):.2f} (per repeat: "
              + ", ".join(f"{r:.2f}" for r in ratios) + ")")


if __name__ == "__main__":
    main()
