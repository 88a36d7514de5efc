"""Where and in which precision to compute: device choice, bfloat16 detection, and the
reuse of freed memory that makes CPU training steps faster.

Training (:mod:`convbook.training`) and inference (:mod:`convbook.inference`) both use these;
a run selects its device and resolves its precision once, and passes the results on.
"""

from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import torch

from convbook._args import check_bool, check_choice, check_instance

PRECISIONS = ("auto", "fp32", "bf16")


def select_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA if available, else Apple's MPS, else CPU; otherwise as given.

    Raises ``ValueError`` for a name torch does not know and for a device that is not there.
    """
    if isinstance(device, torch.device):
        return device
    check_instance(device, "device", str, "a string or torch.device")
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}"
        ) from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but PyTorch sees no CUDA GPU here")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None)
                                  and torch.backends.mps.is_available()):
        raise ValueError(f"device {device!r} asked for, but Apple's MPS is not available here")
    return dev


def cpu_has_bf16() -> bool:
    """True if this CPU has bfloat16 arithmetic (AVX512-BF16 or AMX), where bf16 autocast
    runs convolutions about 1.9 times faster than float32; elsewhere it is slower.

    ``ONEDNN_MAX_CPU_ISA`` (or ``DNNL_MAX_CPU_ISA``), which keeps PyTorch's convolutions
    (oneDNN) from using newer instructions, is honoured: set to an instruction set without
    bfloat16 (``AVX2``, ``AVX512_CORE``, ...) it makes this ``False``.
    """
    caps = getattr(torch.cpu, "get_capabilities", None)
    if caps is None:  # older torch: no way to tell, stay in float32
        return False
    c = caps()
    return bool(c.get("avx512_bf16") or c.get("amx_bf16")) and _onednn_may_use_bf16()


def _onednn_may_use_bf16() -> bool:
    """False if ``ONEDNN_MAX_CPU_ISA``/``DNNL_MAX_CPU_ISA`` caps oneDNN below bfloat16."""
    isa = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "")
    isa = isa.strip().upper()
    if isa in ("", "ALL", "DEFAULT"):
        return True
    return any(tag in isa for tag in ("BF16", "AMX", "FP16", "AVX10"))


def resolve_precision(precision: str, device: torch.device, *,
                      hardware_bf16: bool | None = None) -> str:
    """``"auto"`` → ``"bf16"`` on a CUDA GPU that supports it and on CPUs with bfloat16
    arithmetic (:func:`cpu_has_bf16`), else ``"fp32"``; ``"fp32"`` and ``"bf16"`` as asked.

    ``hardware_bf16`` answers "does the hardware compute in bfloat16?" instead of asking the
    machine (``None``, the default): ``resolve_precision("auto", cpu, hardware_bf16=False)``
    is what ``"auto"`` means on a CPU without bfloat16, whatever this machine is.
    """
    check_choice(precision, "precision", PRECISIONS)
    check_instance(device, "device", torch.device, "a torch.device")
    if hardware_bf16 is not None:
        check_bool(hardware_bf16, "hardware_bf16")
    if precision != "auto":
        return precision
    if device.type not in ("cuda", "cpu"):
        return "fp32"
    if hardware_bf16 is None:
        hardware_bf16 = (torch.cuda.is_bf16_supported() if device.type == "cuda"
                         else cpu_has_bf16())
    return "bf16" if hardware_bf16 else "fp32"


def describe_precision(precision: str, device: torch.device, *,
                       hardware_bf16: bool | None = None) -> str:
    """One line saying which precision ``precision`` resolves to on ``device``, and why
    (``hardware_bf16`` as in :func:`resolve_precision`)."""
    chosen = resolve_precision(precision, device, hardware_bf16=hardware_bf16)
    if precision != "auto":
        return f"precision: {chosen} (asked for)"
    if device.type == "cpu":
        if chosen == "bf16":
            return "precision: bf16 mixed precision (this CPU has bfloat16 arithmetic)"
        return ("precision: fp32 (this CPU has no bfloat16 arithmetic, AVX512-BF16 or AMX, "
                "so bf16 would be slower)")
    return f"precision: {chosen} mixed precision" if chosen == "bf16" else f"precision: {chosen}"


def autocast(device: torch.device, precision: str) -> AbstractContextManager:
    """bf16 autocast on ``device`` when ``precision == "bf16"``, else a no-op context."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4


def _glibc() -> Any | None:
    """The C library if it is glibc (Linux), else ``None``."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:  # pragma: no cover - a Linux without a loadable C library
        return None


@contextmanager
def reuse_freed_memory() -> Iterator[bool]:
    """Keep the memory of freed tensors in the process for the next ones, on Linux (glibc).

    glibc gives every block of more than 32 MiB (a CPU batch's activations, e.g.
    ``1000 × 32 × 31 × 31`` floats = 123 MB) its own pages from the operating system and
    returns them when the tensor is freed, so every training step asks for them again and the
    system must hand out, and zero, fresh pages: on a 2-core CPU that took about a third of
    a training step of ``FastNet``.  Inside this context glibc serves large blocks from its
    heap and keeps freed memory there, so the next step reuses it.

    Yields ``True`` where this applies, ``False`` elsewhere (then nothing changes).  On exit
    the large-block settings go back to what glibc's own adjustment reaches in a process
    that frees such blocks (blocks of more than 32 MiB from the system, free memory above
    64 MiB returned to it), and the memory kept is returned to the system.
    """
    libc = _glibc()
    if libc is None:
        yield False
        return
    changed = bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    try:
        yield changed
    finally:
        libc.mallopt(_M_MMAP_MAX, 65536)  # glibc's default
        libc.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
        libc.mallopt(_M_TRIM_THRESHOLD, 64 * 2**20)
        libc.malloc_trim(0)
