"""Where and in which precision to compute: device choice and bfloat16 detection."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch


def select_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA if available, else Apple's MPS, else CPU; otherwise as given.

    Raises ``ValueError`` for a name torch does not know and for a device that is not there.
    """
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be a string or torch.device, got {device!r}")
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
    runs convolutions about 1.9 times faster than float32; elsewhere it is slower."""
    caps = getattr(torch.cpu, "get_capabilities", None)
    if caps is None:  # older torch: no way to tell, stay in float32
        return False
    c = caps()
    return bool(c.get("avx512_bf16") or c.get("amx_bf16"))


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` → ``"bf16"`` on a CUDA GPU that supports it and on CPUs with bfloat16
    arithmetic (:func:`cpu_has_bf16`), else ``"fp32"``."""
    if not isinstance(precision, str) or precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
    if not isinstance(device, torch.device):
        raise TypeError(f"device must be a torch.device, got {device!r}")
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
        if device.type == "cpu":
            return "bf16" if cpu_has_bf16() else "fp32"
        return "fp32"
    return precision


def describe_precision(precision: str, device: torch.device) -> str:
    """One line saying which precision ``precision`` resolves to on ``device``, and why."""
    chosen = resolve_precision(precision, device)
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
