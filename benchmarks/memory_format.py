"""Training speed in NCHW against channels-last (NHWC) memory layout, side by side.

    python benchmarks/memory_format.py [--model fast] [--images 10240] [--repeat 2]

Trains the model for one epoch on a random subset of ``--images`` CIFAR-10 training
images with ``fit`` (the real training loop, augmentation included), once per layout,
alternating, ``--repeat`` times, and prints the median seconds per epoch and the ratio.
The data are random if no CIFAR-10 copy is found (``$CONVBOOK_DATA``): speed does not
depend on the pixel values.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from convbook import data, models
from convbook.training.fit import fit


def images(n: int) -> data.ImageData:
    if os.environ.get("CONVBOOK_DATA"):
        return data.cifar10().subset(n, 1000)
    g = torch.Generator().manual_seed(0)
    return data.ImageData(
        torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (n,), generator=g),
        torch.randint(0, 256, (1000, 3, 32, 32), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (1000,), generator=g),
        tuple(str(i) for i in range(10)),
    )


def epoch_seconds(model_name: str, cifar: data.ImageData, channels_last: bool) -> float:
    model = models.build(model_name)
    start = time.perf_counter()
    fit(model, cifar, 1, recipe=model_name if model_name != "wide" else "fast",
        device="cpu", channels_last=channels_last, progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fast", choices=sorted(models.MODELS))
    parser.add_argument("--images", type=int, default=10240)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}")
    cifar = images(args.images)
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.repeat):
        for layout in (False, True):
            times[layout].append(epoch_seconds(args.model, cifar, layout))
    nchw, nhwc = (statistics.median(times[k]) for k in (False, True))
    print(f"{args.model}, one epoch of {args.images} images:")
    print(f"  NCHW           {nchw:7.1f} s")
    print(f"  channels last  {nhwc:7.1f} s   ({nchw / nhwc:.2f}x faster)")


if __name__ == "__main__":
    main()
