"""Time loop corr2d, convbook.ops.conv2d and torch's F.conv2d side by side.

    .venv/bin/python benchmarks/conv_speed.py [--repeat 5] [--threads N]

Prints, for a few representative layer shapes, each implementation's median time,
GFLOP/s (2 FLOPs per multiply-accumulate) and its time relative to torch.
"""

from __future__ import annotations

import argparse
import statistics
from functools import partial

import torch
import torch.nn.functional as F

from convbook.ops import conv2d, corr2d
from convbook.shapes import conv_out_size
from convbook.timing import median_time

# (name, N, C_in, H, C_out, k, stride, padding, groups)
LAYERS = [
    ("CIFAR stem 3->64", 256, 3, 32, 64, 3, 1, 1, 1),
    ("CIFAR block 32->128", 256, 32, 32, 128, 3, 1, 1, 1),
    ("CIFAR block 128->256 /2", 256, 128, 16, 256, 3, 2, 1, 1),
    ("ResNet 256->256 14x14", 32, 256, 14, 256, 3, 1, 1, 1),
    ("ImageNet stem 7x7/2", 16, 3, 224, 64, 7, 2, 3, 1),
    ("depthwise 3x3 (groups=128)", 64, 128, 32, 128, 3, 1, 1, 128),
    ("grouped 3x3 (groups=8)", 64, 128, 32, 128, 3, 1, 1, 8),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n")

    X, K = torch.randn(64, 64), torch.randn(3, 3)
    t_loop = median_time(lambda: corr2d(X, K), max(1, args.repeat // 2))
    x4, w4 = X[None, None], K[None, None]
    t_ours = median_time(lambda: conv2d(x4, w4), args.repeat * 20)
    t_torch = median_time(lambda: F.conv2d(x4, w4), args.repeat * 20)
    torch.testing.assert_close(corr2d(X, K), F.conv2d(x4, w4)[0, 0], rtol=1e-4, atol=1e-4)
    print("single channel 64x64, 3x3 kernel")
    print(f"  loop corr2d     {t_loop * 1e3:9.3f} ms   {t_loop / t_torch:8.0f}x torch")
    print(f"  convbook conv2d {t_ours * 1e3:9.3f} ms   {t_ours / t_torch:8.1f}x torch")
    print(f"  torch conv2d    {t_torch * 1e3:9.3f} ms\n")

    columns = ("ours ms", "torch ms", "ours GF/s", "torch GF/s", "ours/torch")
    header = f"{'layer':30} " + " ".join(f"{c:>10}" for c in columns)
    print(header)
    print("-" * len(header))
    ratios = []
    for name, n, c_in, h, c_out, k, s, p, g in LAYERS:
        x = torch.randn(n, c_in, h, h)
        w = torch.randn(c_out, c_in // g, k, k)
        h_out = conv_out_size(h, k, s, p)
        flops = 2 * n * c_out * h_out * h_out * (c_in // g) * k * k
        kw = dict(stride=s, padding=p, groups=g)
        with torch.no_grad():
            expected = F.conv2d(x, w, **kw)
            torch.testing.assert_close(conv2d(x, w, **kw), expected, rtol=1e-3, atol=1e-3)
            t_o = median_time(partial(conv2d, x, w, **kw), args.repeat)
            t_t = median_time(partial(F.conv2d, x, w, **kw), args.repeat)
        ratios.append(t_o / t_t)
        print(
            f"{name:30} {t_o * 1e3:10.2f} {t_t * 1e3:10.2f} {flops / t_o / 1e9:10.1f} "
            f"{flops / t_t / 1e9:10.1f} {t_o / t_t:9.2f}x"
        )
    geo = statistics.geometric_mean(ratios)
    print(f"\ngeometric mean ours/torch: {geo:.2f}x")


if __name__ == "__main__":
    main()
