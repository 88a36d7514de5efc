"""convbook.hardware.reuse_freed_memory, measured: page faults of real training steps with
and without it (slow: steps on 64 MiB activations)."""

from __future__ import annotations

import os
import platform
import resource

import pytest
import torch
from torch import nn

from convbook import hardware

pytestmark = pytest.mark.slow

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _faults_per_step(steps: int = 3) -> float:
    """Page faults of a training step whose activations are 64 MiB tensors."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1))
    x = torch.randn(256, 3, 64, 64)  # activations: 256·16·64·64 floats = 64 MiB each

    def step():
        net(x).square().mean().backward()

    for _ in range(2):  # warm up: the heap grows to what a step needs
        step()
    before = _minor_faults()
    for _ in range(steps):
        step()
    return (_minor_faults() - before) / steps


@pytest.mark.skipif(not GLIBC, reason="the page-fault behaviour tested is glibc's (Linux)")
def test_inside_the_context_a_step_reuses_memory_instead_of_faulting_it_in():
    plain = _faults_per_step()
    with hardware.reuse_freed_memory() as applied:
        reusing = _faults_per_step()
    assert applied is True
    pages = 64 * 2**20 // os.sysconf("SC_PAGE_SIZE")  # one activation tensor's pages
    assert plain > pages  # glibc maps every big tensor afresh: at least one tensor's pages
    assert reusing < plain / 10, (plain, reusing)
