"""Data-parallel fits for ``tests/integration/test_distributed.py``, run by torchrun in two
processes::

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/ddp_worker.py OUT

Process 0 writes ``OUT/<name>.pt`` for each run of :data:`EQUIVALENCE` (one epoch of
``convbook.training.fit.fit``), which the test compares with the same fit in one process.  Then
process 1 alone gets a Ctrl-C, in the middle of an epoch of a dropout network, at the worst
moment: during the optimizer's step, after the processes have exchanged their numbers of that
step.  Process 0 writes ``OUT/stopped.pt`` (the checkpoint of the stop), ``OUT/resumed.pt``
(after resuming) and ``OUT/straight.pt`` (the same run without the stop).  Last, the two
processes try to train with different seeds.  Each process writes ``OUT/rank<r>.json`` saying
what it saw.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.utils.hooks import RemovableHandle

from convbook.data import ImageData
from convbook.training import distributed
from convbook.training.fit import fit

#: one epoch of each run; the batches of the mean-loss run split unevenly (8 + 7, then 6 + 6)
EQUIVALENCE = {
    "sum_one_step": dict(n_train=16, recipe="tutorial", batch_size=16, loss_sum=True, lr=0.002,
                         momentum=0.9),
    "mean_uneven": dict(n_train=27, recipe="tutorial", batch_size=15, lr=0.05, momentum=0.9),
    "fast_recipe": dict(n_train=32, recipe="fast", batch_size=16),
}
#: settings every run shares
COMMON = dict(device="cpu", precision="fp32", progress=False)
SIGINT_AT = 4  # process 1 is interrupted in its 4th step, the 1st of the 2nd epoch


def toy_data(n_train: int, n_test: int = 7, seed: int = 0) -> ImageData:
    """Two classes of noisy 8×8 images, bright and dark."""
    g = torch.Generator().manual_seed(seed)

    def make(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % 2
        base = torch.where(y.view(-1, 1, 1, 1) == 1, 170.0, 80.0)
        x = base + 40 * torch.randn(n, 3, 8, 8, generator=g)
        return x.clamp(0, 255).to(torch.uint8), y

    return ImageData(*make(n_train), *make(n_test), ("dark", "bright"))


class SmallNet(nn.Module):
    """conv → ReLU → conv → global average → linear ``head``: no batch norm; dropout if asked."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.head(self.drop(x.mean((2, 3))))


def equivalence_run(name: str, checkpoint: Path | None) -> nn.Module:
    """Run ``name`` of :data:`EQUIVALENCE`; in one process when no process group is set up."""
    settings = dict(EQUIVALENCE[name])
    data = toy_data(settings.pop("n_train"))
    model = SmallNet()
    fit(model, data, 1, checkpoint=checkpoint, **COMMON, **settings)
    return model


def interrupt_at(step: int) -> RemovableHandle:
    """Send this process a SIGINT as the optimizer starts its ``step``-th step."""
    calls = {"n": 0}

    def hook(optimizer, args, kwargs):
        calls["n"] += 1
        if calls["n"] == step:
            os.kill(os.getpid(), signal.SIGINT)

    return register_optimizer_step_pre_hook(hook)


def main(out: Path) -> None:
    distributed.init("cpu", timeout=60)
    procs = distributed.processes()
    seen: dict[str, object] = {"rank": procs.rank, "size": procs.size}
    for name in EQUIVALENCE:
        equivalence_run(name, out / f"{name}.pt")

    data = toy_data(48)  # 3 steps an epoch
    resume_run = dict(recipe="tutorial", batch_size=16, lr=0.05, checkpoint=out / "run.pt",
                      **COMMON)
    straight = SmallNet(dropout=0.5)
    fit(straight, data, 2, **{**resume_run, "checkpoint": out / "straight.pt"})
    hook = interrupt_at(SIGINT_AT) if procs.rank == 1 else None
    try:
        fit(SmallNet(dropout=0.5), data, 2, **resume_run)
        seen["interrupted"] = False
    except KeyboardInterrupt:
        seen["interrupted"] = True
    if hook:
        hook.remove()
    if procs.main:
        shutil.copy(out / "run.pt", out / "stopped.pt")
    fit(SmallNet(dropout=0.5), data, 2, resume=True, **resume_run)
    if procs.main:
        shutil.copy(out / "run.pt", out / "resumed.pt")
    try:  # each process with another seed: they refuse to train together
        fit(SmallNet(), toy_data(16), 1, seed=procs.rank, recipe="tutorial", batch_size=8,
            **COMMON)
        seen["disagreement"] = None
    except distributed.DisagreementError as e:
        seen["disagreement"] = str(e)
    (out / f"rank{procs.rank}.json").write_text(json.dumps(seen))
    distributed.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
