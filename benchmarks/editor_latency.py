"""Python-side latency of one kernel-editor edit on a 512x512 grayscale photo.

One edit = typing a number into a kernel cell: parse the grid, recompute the output,
apply the display options and encode the output PNG.  Run by hand:

    PYTHONPATH=. .venv/bin/python benchmarks/editor_latency.py
"""

from __future__ import annotations

import argparse
import itertools
import statistics

import torch

from convbook import timing
from convbook.widgets import KernelEditor


def measure(edits: int = 50, kernel: str = "sobel_x", size: int = 3) -> list[float]:
    """Seconds taken by each of ``edits`` cell edits (after two warm-up edits)."""
    editor = KernelEditor(kernel=kernel)  # the 'camera' photo, 512x512
    editor.set(size=size)
    assert editor.image.shape == (512, 512)
    count = itertools.count()

    def edit() -> None:
        n = next(count)
        # A new value every time (the same value again would not fire an update).
        editor.set_cell(n % size, (n // size) % size, (n % 7) - 3.0 + n / 1000)
        assert editor.error is None

    return timing.measure(edit, repeat=edits, warmup=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for size in (3, 7):
        times = sorted(measure(args.edits, size=size))
        median = statistics.median(times) * 1e3
        p90 = times[int(0.9 * (len(times) - 1))] * 1e3
        print(f"{size}x{size} kernel, 512x512 image, {args.edits} edits: "
              f"median {median:.2f} ms, p90 {p90:.2f} ms, min {times[0] * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
