"""Channel shuffle (ShuffleNet): let the groups of a grouped convolution talk to each other."""

from __future__ import annotations

import torch

from convbook._args import check_positive_int, check_tensor


def channel_shuffle(input: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` groups, like ``nn.ChannelShuffle``.

    View the ``C`` channels as a ``(groups, C / groups)`` grid, transpose it and flatten:
    channel ``c = g * (C / groups) + i`` moves to position ``i * groups + g``, so the next
    grouped convolution sees one channel from every group.

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``, ``C`` divisible by ``groups``.
        groups: number of groups.

    Returns:
        A tensor of the same shape with the channels permuted.
    """
    check_tensor(input, "input", [3, 4], ["(C, H, W)", "(N, C, H, W)"])
    groups = check_positive_int(groups, "groups")
    c = input.shape[-3]
    if c % groups:
        raise ValueError(f"channels ({c}) must be divisible by groups ({groups})")
    lead, rest = input.shape[:-3], input.shape[-2:]
    x = input.reshape(*lead, groups, c // groups, *rest)
    return x.transpose(-4, -3).reshape(input.shape)
