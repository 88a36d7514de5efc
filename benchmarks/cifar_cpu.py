"""CIFAR-10 on the CPU: the fast recipe against the tutorial's, within a wall-clock budget.

    python benchmarks/cifar_cpu.py --minutes 15

For each recipe it reports the time to reach 85% test accuracy (if it does) and the best
test accuracy within ``--minutes``, counting data loading.  Each run trains for
``--epochs`` epochs (the learning-rate schedule spans them) and stops early when the budget
runs out; accuracy is measured after every epoch.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time

import torch

from convbook import data, models, train

RUNS = {
    # name: (model, recipe, kwargs for the model, overrides for the recipe)
    "fast (FastNet, fast recipe)": ("fast", "fast", {}, {}),
    "tutorial (TutorialNet, tutorial recipe)": ("tutorial", "tutorial", {}, {}),
}


class OutOfTimeError(Exception):
    """Raised from the epoch callback when the wall-clock budget is spent."""


def run(name: str, args: argparse.Namespace) -> dict[str, float | None]:
    model_name, recipe, model_kw, overrides = RUNS[name]
    start = time.perf_counter()
    cifar = data.cifar10(args.data)
    if args.subset:
        cifar = cifar.subset(*args.subset)
    load_s = time.perf_counter() - start
    budget = args.minutes * 60
    torch.manual_seed(0)
    model = models.build(model_name, **model_kw)
    seen: dict[str, list] = {}

    def stop_when_out_of_time(epoch: int, history: dict[str, list]) -> None:
        seen.update(history)
        print(f"  {name}: epoch {epoch}, test acc {history['test_acc'][-1]:.4f}, "
              f"{load_s + history['time'][-1]:.0f} s", flush=True)
        if load_s + history["time"][-1] >= budget:
            raise OutOfTimeError

    epochs = args.epochs if model_name == "fast" else args.tutorial_epochs
    with contextlib.suppress(OutOfTimeError):
        train.fit(model, cifar, epochs, recipe=recipe, device=args.device, progress=False,
                  callback=stop_when_out_of_time, **overrides)
    accs, times = seen.get("test_acc", []), seen.get("time", [])
    reach = next((load_s + t for a, t in zip(accs, times) if a >= 0.85), None)
    return {"load_s": load_s, "epochs": len(accs), "best_acc": max(accs, default=None),
            "time_to_85_s": reach, "total_s": load_s + (times[-1] if times else 0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0,
                        help="wall-clock budget per recipe, data loading included")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of the fast recipe")
    parser.add_argument("--tutorial-epochs", type=int, default=20,
                        help="epochs of the tutorial recipe")
    parser.add_argument("--data", default=None, help="CIFAR-10 path (default: $CONVBOOK_DATA)")
    parser.add_argument("--subset", type=int, nargs=2, metavar=("N_TRAIN", "N_TEST"),
                        help="use a random subset (for a quick look; not comparable)")
    parser.add_argument("--device", default="cpu", help="device (default: cpu)")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"budget {args.minutes} min per recipe, subset {args.subset}")
    results = {name: run(name, args) for name in RUNS}
    print(f"\n{'recipe':<42}{'epochs':>7}{'best acc':>10}{'to 85%':>10}{'load':>8}{'total':>8}")
    for name, r in results.items():
        best = f"{r['best_acc']:.4f}" if r["best_acc"] is not None else "-"
        reach = f"{r['time_to_85_s']:.0f} s" if r["time_to_85_s"] is not None else "never"
        print(f"{name:<42}{r['epochs']:>7}{best:>10}{reach:>10}{r['load_s']:>7.1f}s"
              f"{r['total_s']:>7.0f}s")


if __name__ == "__main__":
    main()
