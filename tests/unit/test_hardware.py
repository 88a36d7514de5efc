"""convbook.hardware: bfloat16 detection and the reuse of freed memory on the CPU."""

from __future__ import annotations

import os
import platform

import pytest
import torch

from convbook import hardware

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.parametrize("isa, allowed", [
    ("", True), ("ALL", True), ("avx512_core_bf16", True), ("AVX512_CORE_AMX", True),
    ("AVX10_1_512", True), ("AVX2", False), ("avx512_core", False),
    ("AVX512_CORE_VNNI", False), ("SSE41", False),
])
def test_a_cap_on_onednns_instructions_is_honoured(monkeypatch, isa, allowed):
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": True})
    assert hardware.cpu_has_bf16() is allowed
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx2": True})
    assert hardware.cpu_has_bf16() is False  # no bfloat16 instructions: the cap changes nothing


def test_the_what_if_answer_replaces_detection(monkeypatch):
    def never():
        raise AssertionError("hardware_bf16 was given: nothing should be detected")

    monkeypatch.setattr(hardware, "cpu_has_bf16", never)
    cpu = torch.device("cpu")
    assert hardware.resolve_precision("auto", cpu, hardware_bf16=True) == "bf16"
    assert hardware.resolve_precision("auto", cpu, hardware_bf16=False) == "fp32"
    assert hardware.resolve_precision("fp32", cpu, hardware_bf16=True) == "fp32"  # asked for
    assert "no bfloat16" in hardware.describe_precision("auto", cpu, hardware_bf16=False)


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not GLIBC, reason="the page-fault behaviour tested is glibc's (Linux)")
def test_the_memory_kept_is_returned_on_exit():
    size = 256 * 2**20
    with hardware.reuse_freed_memory():
        held = torch.ones(size // 4)  # 256 MiB, touched
        del held
        kept = _resident_bytes()
    released = _resident_bytes()
    assert kept - released > size // 2, (kept, released)


def test_off_glibc_nothing_changes(monkeypatch):
    monkeypatch.setattr(hardware, "_glibc", lambda: None)
    with hardware.reuse_freed_memory() as applied:
        assert applied is False
