"""CIFAR-10 on the CPU: every recipe side by side, and what each technique of the fast one buys.

    python benchmarks/cifar_cpu.py                  # the recipes, as `convbook train` runs them
    python benchmarks/cifar_cpu.py --seeds 0 1 2    # the same, three seeds each
    python benchmarks/cifar_cpu.py --ablations      # variants of the fast recipe, in-process
    python benchmarks/cifar_cpu.py --speed          # seconds per epoch: precision, layout, width

Recipes: each run is a whole ``convbook train --recipe R --device cpu --eval-every 1``
process (testing after every epoch, which plain ``convbook train`` does only after the
last), timed from start to exit (start-up, loading the decoded data set from its cache,
training, evaluation and test-time augmentation included). The table gives the test accuracy
after every epoch, the final accuracy with test-time augmentation, the wall-clock time to
85% and to 94% (the first moment an evaluation reached it) and each run's time relative to
the default.

Ablations: the fast recipe with one thing changed at a time, trained in this process on the
same data (start-up excluded), reporting seconds per epoch and accuracy; test-time
augmentation levels are compared on the default run's final model.

Speed: one training step (forward, loss, backward, both optimizers' steps) of FastNet on a
random batch of 1,000 images, for each width, precision and memory layout, repeated and
interleaved; the median is scaled to an epoch of 50,000 images.  No data set is needed.

Run it on an otherwise idle machine: the times are only as good as that.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from convbook import data, models
from convbook.hardware import autocast, cpu_has_bf16, select_device
from convbook.inference import evaluate
from convbook.training.checkpoint import load_checkpoint
from convbook.training.fit import fit
from convbook.training.recipes import make_optimizers, recipe_for

RECIPES = ("fast", "best", "tutorial")

# name: (recipe overrides, fit keyword arguments, whitening?)
ABLATIONS: dict[str, tuple[dict, dict, bool]] = {
    "fast (default)": ({}, {}, True),
    "fp32 instead of bf16": ({}, {"precision": "fp32"}, True),
    "random flip instead of alternating": ({"flip": "random"}, {}, True),
    "no label smoothing": ({"label_smoothing": 0.0}, {}, True),
    "no whitening (random frozen first layer)": ({}, {}, False),
    "whitening bias trained for 1 epoch": ({"whiten_epochs": 1.0}, {}, True),
    "2 epochs": ({"epochs": 2}, {}, True),
    "4 epochs": ({"epochs": 4}, {}, True),
    "5 epochs": ({"epochs": 5}, {}, True),
    "batch 500": ({"batch_size": 500}, {}, True),
    "batch 2000": ({"batch_size": 2000}, {}, True),
    "widths 24/96/96": ({"widths": (24, 96, 96)}, {}, True),
    "widths 48/192/192": ({"widths": (48, 192, 192)}, {}, True),
    "3 epochs at 16, 32, 32 px": ({"image_scales": (0.5,)}, {}, True),
    "3 epochs at 24, 32, 32 px": ({"image_scales": (0.75,)}, {}, True),
    "3 epochs at 16, 24, 32 px": ({"image_scales": (0.5, 0.75)}, {}, True),
    "3 epochs at 24, 24, 32 px": ({"image_scales": (0.75, 0.75)}, {}, True),
    "4 epochs at 16, 16, 24, 32 px": ({"epochs": 4, "image_scales": (0.5, 0.5, 0.75)}, {},
                                      True),
    "4 epochs at 16, 24, 24, 32 px": ({"epochs": 4, "image_scales": (0.5, 0.75, 0.75)}, {},
                                      True),
    "4 epochs at 16, 24, 32, 32 px": ({"epochs": 4, "image_scales": (0.5, 0.75)}, {}, True),
    "5 epochs at 16, 16, 24, 24, 32 px": ({"epochs": 5, "image_scales": (0.5, 0.5, 0.75, 0.75)},
                                          {}, True),
    "3 epochs at 20, 32, 32 px": ({"image_scales": (0.625,)}, {}, True),
    "4 epochs at 12, 16, 32, 32 px": ({"epochs": 4, "image_scales": (0.375, 0.5)}, {}, True),
    "4 epochs at 16, 16, 32, 32 px": ({"epochs": 4, "image_scales": (0.5, 0.5)}, {}, True),
    "5 epochs at 16, 16, 16, 32, 32 px": ({"epochs": 5, "image_scales": (0.5, 0.5, 0.5)}, {},
                                          True),
}


def machine() -> str:
    flags = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    name = next((line.split(":", 1)[1].strip() for line in
                 Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
                platform.processor() or platform.machine()) if Path("/proc/cpuinfo").exists() \
        else platform.machine()
    return (f"{name}, {os.cpu_count()} CPUs, flags: {' '.join(wanted) or '-'}, "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads")


def first_time_to(target: float, history: dict, offset: float) -> float | None:
    """Seconds from process start to the first evaluation at or above ``target``."""
    for t, acc, tta in zip(history["time"], history["test_acc"], history["tta_acc"]):
        if max(a for a in (acc, tta, -1.0) if a is not None) >= target:
            return offset + t
    return None


def run_recipe(recipe: str, seed: int, data_path: str, workdir: Path) -> dict:
    ckpt = workdir / f"{recipe}-{seed}.pt"
    cmd = [sys.executable, "-m", "convbook", "train", "--recipe", recipe, "--device", "cpu",
           "--data", data_path, "--checkpoint", str(ckpt), "--seed", str(seed), "--no-progress",
           "--eval-every", "1"]  # test after every epoch (a few seconds each), for "to 85%"
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    history = load_checkpoint(ckpt)["history"]
    offset = wall - history["time"][-1]  # start-up and data loading before the clock of fit
    final = history["tta_acc"][-1] if history["tta_acc"][-1] is not None \
        else history["test_acc"][-1]
    return {"recipe": recipe, "seed": seed, "wall": wall, "offset": offset, "final": final,
            "accs": history["test_acc"], "epochs": len(history["epoch"]),
            "to85": first_time_to(0.85, history, offset),
            "to94": first_time_to(0.94, history, offset)}


def recipes_table(args: argparse.Namespace) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for recipe in args.recipes:
                r = run_recipe(recipe, seed, args.data, Path(tmp))
                print(f"  {recipe} seed {seed}: {r['final']:.4f} in {r['wall']:.0f} s", flush=True)
                rows.append(r)
    base = {r["seed"]: r["wall"] for r in rows if r["recipe"] == args.recipes[0]}

    def when(t: float | None) -> str:
        return f"{t:.0f} s" if t is not None else "never"

    print(f"\n| recipe | seed | epochs | test accuracy after each epoch | final (TTA) | to 85% "
          f"| to 94% | wall clock | vs {args.recipes[0]} |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        accs = " ".join(f"{a:.3f}" if a is not None else "-" for a in r["accs"])
        print(f"| {r['recipe']} | {r['seed']} | {r['epochs']} | {accs} | {r['final']:.4f} | "
              f"{when(r['to85'])} | {when(r['to94'])} | {r['wall']:.0f} s "
              f"(start-up {r['offset']:.0f} s) | {r['wall'] / base[r['seed']]:.2f}x |")


def keep_random_filters(images: torch.Tensor, eps: float = 5e-4) -> None:
    """In place of ``FastNet.init_whitening``: the frozen first layer keeps its random
    initial filters (the ablation without whitening)."""


def ablations(args: argparse.Namespace) -> None:
    """Each variant of :data:`ABLATIONS` once per seed (seed by seed, so that a run cut short
    still has every variant), then a table of the means over the seeds."""
    device = select_device(args.device)
    if device.type == "cuda":  # true float32 on a GPU too, as on a CPU
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    start = time.perf_counter()
    cifar = data.cifar10(args.data)
    mean, std = cifar.mean_std()
    print(f"data loaded in {time.perf_counter() - start:.1f} s; device {device}, precision "
          f"{args.precision}, seeds {args.seeds}", flush=True)
    names = [n for n in ABLATIONS if not args.only or n in args.only or n == "fast (default)"]
    results: dict[str, list[dict]] = {name: [] for name in names}
    deadline = None if args.minutes is None else time.perf_counter() + 60 * args.minutes
    for seed in args.seeds:
        for name in names:
            if deadline is not None and time.perf_counter() > deadline:
                print(f"  (--minutes {args.minutes} reached: stopping)", flush=True)
                break
            overrides, fit_kwargs, whiten = ABLATIONS[name]
            recipe = recipe_for("fast", **{**overrides, "tta": 0})  # TTA measured below
            torch.manual_seed(seed)
            model = models.build_for(recipe)
            if not whiten:
                model.init_whitening = keep_random_filters
            t0 = time.perf_counter()
            history = fit(model, cifar, recipe=recipe, device=device, seed=seed,
                                progress=False, eval_every=0,
                                **{"precision": args.precision, **fit_kwargs})
            row = {"train_s": time.perf_counter() - t0}  # training and the final test
            for level in (0, 1, 2):
                t0 = time.perf_counter()
                row[f"tta{level}"] = evaluate(
                    model, cifar, mean=mean, std=std, tta=level, device=device,
                    precision=fit_kwargs.get("precision", args.precision))["acc"]
                row[f"tta{level}_s"] = time.perf_counter() - t0
            assert abs(row["tta0"] - history["test_acc"][-1]) < 2e-3
            results[name].append(row)
            print(f"  seed {seed} {name}: {row['tta0']:.4f} / TTA 1 {row['tta1']:.4f} / TTA 2 "
                  f"{row['tta2']:.4f}, {row['train_s']:.1f} s training", flush=True)
        else:
            continue
        break

    def mean_sd(values: list[float]) -> str:
        if len(values) < 2:
            return f"{100 * values[0]:.2f}" if values else "-"
        return f"{100 * statistics.mean(values):.2f} ± {100 * statistics.stdev(values):.2f}"

    base = statistics.mean(r["train_s"] for r in results["fast (default)"])
    print(f"\nmeans over seeds (± standard deviation), accuracy in %, {device}, "
          f"{args.precision}:\n")
    print("| variant | runs | test accuracy | TTA 1 (2 views) | TTA 2 (6 views) | training s "
          "| vs default | TTA 1 s | TTA 2 s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, rows in results.items():
        if not rows:
            continue
        col = {k: [r[k] for r in rows] for k in rows[0]}
        train_s = statistics.mean(col["train_s"])
        print(f"| {name} | {len(rows)} | {mean_sd(col['tta0'])} | {mean_sd(col['tta1'])} | "
              f"{mean_sd(col['tta2'])} | {train_s:.1f} | {train_s / base:.2f}x | "
              f"{statistics.mean(col['tta1_s']):.1f} | {statistics.mean(col['tta2_s']):.1f} |")


SPEED_WIDTHS = ((24, 96, 96), (32, 128, 128), (48, 192, 192), (64, 256, 256))


LAYOUTS = {"channels_last": torch.channels_last, "contiguous": torch.contiguous_format}


def speed(args: argparse.Namespace) -> None:
    setups = [(w, prec, fmt) for w in SPEED_WIDTHS for prec in ("bf16", "fp32")
              for fmt in LAYOUTS]
    if not cpu_has_bf16():
        setups = [s for s in setups if s[1] == "fp32"]
    batch, times = 1000, {s: [] for s in setups}
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(batch, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    r = recipe_for("fast")
    for repeat in range(args.repeats + 1):  # the first round warms up and is not counted
        for widths, prec, fmt in setups:
            memory_format = LAYOUTS[fmt]
            torch.manual_seed(0)
            model = models.FastNet(widths=widths).to(memory_format=memory_format)
            opts = make_optimizers(model, r)
            x = x0.contiguous(memory_format=memory_format)
            t0 = time.perf_counter()
            with autocast(torch.device("cpu"), prec):
                logits = model(x)
            F.cross_entropy(logits.float(), y, label_smoothing=0.2, reduction="sum").backward()
            for opt in opts:
                opt.step()
                opt.zero_grad(set_to_none=True)
            if repeat:
                times[(widths, prec, fmt)].append(time.perf_counter() - t0)
    base = statistics.median(times[((32, 128, 128), "bf16", "channels_last")]) \
        if ((32, 128, 128), "bf16", "channels_last") in times else None
    print("\n| widths | precision | layout | s per epoch (fwd+bwd+step) | vs fast recipe |")
    print("| --- | --- | --- | --- | --- |")
    for (widths, prec, fmt), ts in times.items():
        per_epoch = statistics.median(ts) * 50_000 / batch
        ratio = f"{statistics.median(ts) / base:.2f}x" if base else "-"
        print(f"| {'/'.join(map(str, widths))} | {prec} | {fmt} | {per_epoch:.1f} | {ratio} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", choices=RECIPES, default=list(RECIPES),
                        help="recipes to run, the first is the reference for the ratios")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds of each recipe")
    parser.add_argument("--ablations", action="store_true",
                        help="run the variants of the fast recipe instead of the recipes")
    parser.add_argument("--speed", action="store_true",
                        help="time training steps per width, precision and layout instead")
    parser.add_argument("--repeats", type=int, default=3, help="with --speed: timed rounds")
    parser.add_argument("--only", nargs="+", choices=list(ABLATIONS), default=None,
                        help="with --ablations: run only these variants (and the default)")
    parser.add_argument("--device", default="cpu",
                        help="with --ablations: where to train ('cpu', 'cuda', 'auto')")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                        help="with --ablations: the precision of every variant but those that "
                             "set their own")
    parser.add_argument("--minutes", type=float, default=None,
                        help="with --ablations: start no run after this many minutes")
    parser.add_argument("--data", default=os.environ.get("CONVBOOK_DATA"),
                        help="CIFAR-10 (default: $CONVBOOK_DATA)")
    args = parser.parse_args()
    if args.speed:
        print(machine(), flush=True)
        return speed(args)
    if not args.data:
        parser.error("give --data or set CONVBOOK_DATA")
    print(machine(), flush=True)
    data.cifar10(args.data)  # decode once, so that every run below finds the cache warm
    if args.ablations:
        ablations(args)
    else:
        recipes_table(args)


if __name__ == "__main__":
    main()
