"""airbench94_muon.py and ``convbook train --recipe best``, side by side on the same data.

    git clone https://github.com/KellerJordan/cifar10-airbench /tmp/airbench   # MIT licence
    python benchmarks/airbench_side_by_side.py --airbench /tmp/airbench/airbench94_muon.py \\
        --data ../shared/data/cifar10-jpg.tar.gz --device cpu

Keller Jordan's ``airbench94_muon.py`` trains airbench's network to 94.01% (mean of 200 runs)
in 2.59 s on an A100.  ``convbook``'s ``best`` recipe is meant to be the same network, optimizer,
schedule and augmentation.  This script runs both, one after the other, on the same data set
and the same machine, as whole processes, and prints for each the test accuracy after every
epoch, the final accuracy with test-time augmentation, the wall-clock time to 85% (from the
process's start to the first evaluation at or above it), the whole time, and the ratios.

airbench's script is not part of convbook and is not copied here: give the path of your copy.
It is run with these changes only, each applied as a text substitution that must match
exactly once (the script stops if your copy differs), in a temporary directory:

1. **device**: ``"cuda"`` becomes the device asked for; its CUDA event timers become a
   wall-clock timer (synchronising the GPU first, on a GPU).
2. **no torch.compile**: the decorator of the Newton-Schulz iteration and
   ``model.compile(...)`` are removed, and so is the warm-up run on random labels, which
   exists only to compile.  (Compiling takes minutes on a CPU and made no step faster there.)
3. **precision**: airbench keeps its weights and data in float16. Here they stay in float32
   and the forward pass runs under ``torch.autocast`` in the precision convbook chooses on that
   device (``--precision auto``: bfloat16 on CPUs with bfloat16 arithmetic and on GPUs, else
   float32), so both programs compute in the same precision.  ``--precision native`` (GPU
   only) keeps airbench's float16.
4. **data**: the data set is written in airbench's own format (``cifar10/train.pt`` and
   ``test.pt``: uint8 ``(N, 32, 32, 3)`` images, labels, class names) before it starts, from
   the same decoded images convbook trains on, and its download is switched off.
5. **runs**: ``--runs N`` training runs instead of 200 (each is a fresh network; airbench
   seeds nothing, so every run differs).

convbook runs as ``convbook train --recipe best --eval-every 1`` with the same ``--device``
and ``--precision``, ``--runs`` times with seeds 0, 1, ...  Run it on an otherwise idle
machine: the times are only as good as that.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

#: sha256 of airbench94_muon.py at KellerJordan/cifar10-airbench commit 096d14d (2 March 2025),
#: the version these substitutions were written for
KNOWN_SHA256 = "704e29251a5207d8aed8a35adf13f772ff386b90a712aaddc2a28854385b536e"

_TIMER = '''
import time as _time
DEVICE = torch.device(os.environ["AIRBENCH_DEVICE"])
PRECISION = os.environ["AIRBENCH_PRECISION"]  # "native", "bf16" or "fp32"
RUNS = int(os.environ["AIRBENCH_RUNS"])


class _WallClockEvent:
    """Stands in for torch.cuda.Event(enable_timing=True) on any device."""

    def record(self):
        if DEVICE.type == "cuda":
            torch.cuda.synchronize()
        self.t = _time.perf_counter()

    def elapsed_time(self, end):
        return 1e3 * (end.t - self.t)


def _synchronize():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()

'''

_AUTOCAST_FORWARD = '''    def forward(self, x, whiten_bias_grad=True):
        if PRECISION == "native":
            return self._forward(x, whiten_bias_grad)
        with torch.autocast(DEVICE.type, dtype=torch.bfloat16, enabled=PRECISION == "bf16"):
            return self._forward(x.float(), whiten_bias_grad).float()

    def _forward(self, x, whiten_bias_grad=True):'''

#: (what and why, text in airbench94_muon.py, replacement); each text must occur exactly once
CHANGES: list[tuple[str, str, str]] = [
    ("device: settings read from the environment, and a wall-clock timer",
     "torch.backends.cudnn.benchmark = True\n",
     "torch.backends.cudnn.benchmark = True\n" + _TIMER),
    ("no torch.compile of the Newton-Schulz iteration",
     "@torch.compile\ndef zeropower_via_newtonschulz5", "def zeropower_via_newtonschulz5"),
    ("data: never download (the data set is written in its format beforehand)",
     "download=True", "download=False"),
    ("device: load the data onto the device asked for",
     'map_location=torch.device("cuda")', "map_location=DEVICE"),
    ("precision: float32 data unless native (float16)",
     "self.images = (self.images.half() / 255)",
     "self.images = ((self.images.half() if PRECISION == 'native' else self.images.float())"
     " / 255)"),
    ("precision: float32 weights unless native (float16)",
     "            else:\n                mod.half()",
     "            elif PRECISION == 'native':\n                mod.half()"),
    ("precision: the forward pass under autocast in convbook's precision",
     "    def forward(self, x, whiten_bias_grad=True):", _AUTOCAST_FORWARD),
    ("device: wall-clock timers instead of CUDA events",
     "    starter = torch.cuda.Event(enable_timing=True)\n"
     "    ender = torch.cuda.Event(enable_timing=True)",
     "    starter = _WallClockEvent()\n    ender = _WallClockEvent()"),
    ("device: synchronise only a GPU",
     "        ender.record()\n        torch.cuda.synchronize()\n",
     "        ender.record()\n        _synchronize()\n"),
    ("device: the model on the device asked for",
     "model = CifarNet().cuda()", "model = CifarNet().to(DEVICE)"),
    ("no torch.compile of the model", '    model.compile(mode="max-autotune")\n', ""),
    ("no warm-up run (it only compiles)", '    main("warmup", model)\n', ""),
    ("runs: --runs instead of 200", "for run in range(200)", "for run in range(RUNS)"),
]


def patched_source(source: str) -> str:
    """airbench94_muon.py's ``source`` with :data:`CHANGES` applied; ``ValueError`` naming the
    first change whose text does not occur exactly once."""
    for why, old, new in CHANGES:
        count = source.count(old)
        if count != 1:
            raise ValueError(f"cannot apply the change '{why}': its text occurs {count} times "
                             f"in this airbench94_muon.py, not once: {old!r}")
        source = source.replace(old, new)
    return source


def write_airbench_data(data_arg: str | None, folder: Path,
                        subset: tuple[int, int] | None = None) -> tuple[str | None, str]:
    """Write the data set as airbench's ``cifar10/train.pt`` and ``test.pt`` under ``folder``.

    With ``subset``, a random subset is also written as an ImageFolder tree (PNG, lossless)
    for convbook.  Returns convbook's ``--data`` argument and a one-line description."""
    import torch

    from convbook import data

    cifar = data.cifar10(data_arg)
    if subset is not None:
        from PIL import Image

        cifar = cifar.subset(*subset)
        data_arg = str(folder / "subset")
        for split, images, labels in (("train", cifar.train_images, cifar.train_labels),
                                      ("test", cifar.test_images, cifar.test_labels)):
            for i, (image, label) in enumerate(zip(images, labels.tolist())):
                target = folder / "subset" / split / cifar.classes[label]
                target.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image.permute(1, 2, 0).numpy()).save(target / f"{i}.png")
    target = folder / "cifar10"
    target.mkdir(parents=True, exist_ok=True)
    for name, images, labels in (("train", cifar.train_images, cifar.train_labels),
                                 ("test", cifar.test_images, cifar.test_labels)):
        torch.save({"images": images.permute(0, 2, 3, 1).contiguous(), "labels": labels,
                    "classes": list(cifar.classes)}, target / f"{name}.pt")
    return data_arg, str(cifar)


@dataclass
class Run:
    """One training run as seen on its process's output."""

    name: str
    accs: list[float] = field(default_factory=list)  # test accuracy after each epoch
    times: list[float] = field(default_factory=list)  # seconds since the process started
    tta: float | None = None
    end: float | None = None  # seconds from the process's start to the run's last line

    def time_to(self, target: float) -> float | None:
        return next((t for a, t in zip(self.accs, self.times) if a >= target), None)


_AIRBENCH_ROW = re.compile(r"^\|\s*(\S*)\s*\|\s*(\S+)\s*\|\s*(\S*)\s*\|\s*(\S*)\s*\|\s*(\S*)\s*\|")
_CONVBOOK_EPOCH = re.compile(r"^epoch (\d+):.*?test_acc ([0-9.]+)")
_CONVBOOK_FINAL = re.compile(r"^final test accuracy: ([0-9.]+) with test-time augmentation")


def stream(cmd: list[str], cwd: Path, env: dict[str, str], log: Path):
    """Run ``cmd``; yield ``(seconds since start, line)`` as lines arrive; raise if it fails."""
    start = time.perf_counter()
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1) as proc, \
            log.open("w") as out:
        for line in proc.stdout:
            out.write(line)
            yield time.perf_counter() - start, line.rstrip("\n")
        proc.wait()
    if proc.returncode:
        raise RuntimeError(f"{cmd[:3]} failed with exit status {proc.returncode}; see {log}")


def run_airbench(source: Path, folder: Path, device: str, precision: str, runs: int,
                 echo: bool) -> tuple[list[Run], float]:
    """Run the patched airbench; its runs and the whole process's wall-clock seconds."""
    script = folder / "airbench94_muon_patched.py"
    script.write_text(patched_source(source.read_text()))
    env = {**os.environ, "AIRBENCH_DEVICE": device, "AIRBENCH_PRECISION": precision,
           "AIRBENCH_RUNS": str(runs), "PYTHONUNBUFFERED": "1"}
    out: list[Run] = []
    t = 0.0
    for t, line in stream([sys.executable, script.name], folder, env, folder / "airbench.log"):
        if echo:
            print(f"  airbench {t:7.1f} s | {line}", flush=True)
        m = _AIRBENCH_ROW.match(line)
        if not m or m.group(2) == "epoch":
            continue
        if m.group(1):  # the first row of a run names it
            out.append(Run(f"airbench run {m.group(1)}"))
        if m.group(2) == "eval":
            out[-1].tta, out[-1].end = float(m.group(5)), t
        else:
            out[-1].accs.append(float(m.group(4)))
            out[-1].times.append(t)
    return out, t


def run_convbook(data_arg: str | None, folder: Path, device: str, precision: str, seed: int,
                 echo: bool, any_size: bool = False) -> Run:
    """One whole ``convbook train --recipe best`` process."""
    cmd = [sys.executable, "-m", "convbook", "train", "--recipe", "best", "--device", device,
           "--precision", precision, "--eval-every", "1", "--no-progress", "--seed", str(seed),
           "--checkpoint", str(folder / f"convbook-{seed}.pt")]
    if data_arg:
        cmd += ["--data", data_arg]
    if any_size:
        cmd.append("--any-size")
    run = Run(f"convbook seed {seed}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    repo = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(repo), env.get("PYTHONPATH"))))
    for t, line in stream(cmd, folder, env, folder / f"convbook-{seed}.log"):
        if echo:
            print(f"  convbook {t:7.1f} s | {line}", flush=True)
        if m := _CONVBOOK_EPOCH.match(line):
            run.accs.append(float(m.group(2)))
            run.times.append(t)
        elif m := _CONVBOOK_FINAL.match(line):
            run.tta, run.end = float(m.group(1)), t
    return run


def _fmt_time(t: float | None) -> str:
    return "never" if t is None else f"{t:.1f} s"


def report(air: list[Run], air_wall: float, cb: list[Run], cb_walls: list[float]) -> None:
    """Print the side-by-side table and the ratios."""
    print("\n| program | run | test accuracy after each epoch | final, with TTA | to 85% | "
          "whole time |")
    print("| --- | --- | --- | --- | --- | --- |")
    # airbench's runs share one process: a run's "whole time" is from the end of the last one
    prev = 0.0
    for r in air:
        to85 = r.time_to(0.85)
        print(f"| airbench94_muon.py | {r.name} | {' '.join(f'{a:.4f}' for a in r.accs)} | "
              f"{r.tta:.4f} | {_fmt_time(None if to85 is None else to85 - prev)} | "
              f"{r.end - prev:.1f} s |")
        prev = r.end
    for r, wall in zip(cb, cb_walls):
        print(f"| convbook train --recipe best | {r.name} | "
              f"{' '.join(f'{a:.4f}' for a in r.accs)} | {r.tta:.4f} | "
              f"{_fmt_time(r.time_to(0.85))} | {wall:.1f} s |")
    a_tta = statistics.mean(r.tta for r in air)
    c_tta = statistics.mean(r.tta for r in cb)
    print(f"\nmean final accuracy with TTA: airbench {a_tta:.4f} ({len(air)} runs), "
          f"convbook {c_tta:.4f} ({len(cb)} runs); difference {100 * (c_tta - a_tta):+.2f} "
          "points")
    if len(air) > 1 and len(cb) > 1:
        print(f"  standard deviation over runs: airbench "
              f"{100 * statistics.stdev(r.tta for r in air):.2f}, convbook "
              f"{100 * statistics.stdev(r.tta for r in cb):.2f} points")
    a_first = air[0]
    print(f"whole process, first run: airbench {a_first.end:.1f} s (start-up and the data "
          f"included), convbook {cb_walls[0]:.1f} s: convbook/airbench = "
          f"{cb_walls[0] / a_first.end:.2f}")
    a85, c85 = a_first.time_to(0.85), cb[0].time_to(0.85)
    if a85 is not None and c85 is not None:
        print(f"time to 85%, first run: airbench {a85:.1f} s, convbook {c85:.1f} s: "
              f"convbook/airbench = {c85 / a85:.2f}")
    del air_wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--airbench", type=Path, required=True,
                        help="path of airbench94_muon.py "
                             "(github.com/KellerJordan/cifar10-airbench)")
    parser.add_argument("--data", default=None,
                        help="CIFAR-10 for both (as convbook train --data; default "
                             "$CONVBOOK_DATA, else torchvision's download)")
    parser.add_argument("--device", default="cpu", help="'cpu' or 'cuda'")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "native"],
                        help="'auto': what convbook chooses on that device; 'native' (GPU "
                             "only): airbench's float16, convbook's auto")
    parser.add_argument("--runs", type=int, default=1, help="training runs of each program")
    parser.add_argument("--quiet", action="store_true", help="do not echo the programs' output")
    parser.add_argument("--subset", type=int, nargs=2, metavar=("N_TRAIN", "N_TEST"),
                        help="a random subset of the data for both (to check that the two "
                             "programs run; its accuracies mean nothing)")
    args = parser.parse_args(argv)
    if not args.airbench.is_file():
        parser.error(f"argument --airbench: no file {args.airbench}")
    if args.runs < 1:
        parser.error(f"argument --runs: must be >= 1, got {args.runs}")
    if args.data is not None:  # both programs run in a temporary directory
        args.data = str(Path(args.data).resolve())

    import platform

    import torch

    from convbook.hardware import resolve_precision, select_device

    device = select_device(args.device)
    if args.precision == "native" and device.type != "cuda":
        parser.error("argument --precision: 'native' (float16 weights) is for a GPU only")
    convbook_precision = "auto" if args.precision == "native" else args.precision
    resolved = resolve_precision(convbook_precision, device)
    air_precision = "native" if args.precision == "native" else resolved
    sha = hashlib.sha256(args.airbench.read_bytes()).hexdigest()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    print(f"airbench94_muon.py sha256 {sha[:16]}"
          + ("" if sha == KNOWN_SHA256 else " (not the version these changes were written for)"))
    print(f"precision: airbench {air_precision}, convbook {resolved}")
    with tempfile.TemporaryDirectory(prefix="airbench-side-by-side-") as tmp:
        folder = Path(tmp)
        data_arg, described = write_airbench_data(args.data, folder, args.subset)
        print("data:", described, flush=True)
        air, air_wall = run_airbench(args.airbench, folder, str(device), air_precision,
                                     args.runs, not args.quiet)
        cb, walls = [], []
        for seed in range(args.runs):
            start = time.perf_counter()
            cb.append(run_convbook(data_arg, folder, str(device), convbook_precision, seed,
                                   not args.quiet, any_size=args.subset is not None))
            walls.append(time.perf_counter() - start)
    report(air, air_wall, cb, walls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
