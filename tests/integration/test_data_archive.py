"""convbook.data on the real offline CIFAR-10 archive: all 60,000 images decoded, and the
archive cut in half (slow: about 20 s of decoding)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from convbook import data as D

pytestmark = pytest.mark.slow

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10-jpg.tar.gz"


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch, tmp_path):
    """Nothing downloads in tests, and caches go to a temporary directory."""
    import torchvision.datasets.cifar as tv_cifar

    def refuse(*args, **kwargs):
        raise RuntimeError("downloads are disabled in tests")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", refuse)
    monkeypatch.setenv("CONVBOOK_CACHE", str(tmp_path / "cache"))


def _offline_copy() -> Path:
    """``$CONVBOOK_DATA`` if set (it must exist then), else the shared offline copy; skip
    only when neither is configured and the shared copy is truly absent."""
    if os.environ.get("CONVBOOK_DATA"):
        path = Path(os.environ["CONVBOOK_DATA"])
        assert path.exists(), f"CONVBOOK_DATA points at {path}, which does not exist"
        return path
    if not SHARED.exists():
        pytest.skip(f"no offline CIFAR-10 copy: {SHARED} is absent and CONVBOOK_DATA is unset "
                    "(CI always has it)")
    return SHARED


@pytest.fixture(scope="module")
def real_cache(tmp_path_factory):
    """One temporary cache for the tests on the real data: decoded once, never in ~/.cache."""
    return tmp_path_factory.mktemp("real-cache")


def test_real_cifar10_archive(real_cache):
    """The shared offline copy: 50,000 + 10,000 images, 10 balanced classes."""
    d = D.cifar10(_offline_copy(), cache=real_cache)
    assert d.classes == ("airplane", "automobile", "bird", "cat", "deer",
                         "dog", "frog", "horse", "ship", "truck")
    assert d.train_images.shape == (50_000, 3, 32, 32)
    assert d.test_images.shape == (10_000, 3, 32, 32)
    assert torch.bincount(d.train_labels).tolist() == [5000] * 10
    assert torch.bincount(d.test_labels).tolist() == [1000] * 10
    # Published per-channel statistics of CIFAR-10's training set (JPEG copy: within 0.005).
    mean, std = d.mean_std()
    torch.testing.assert_close(mean, torch.tensor([0.4914, 0.4822, 0.4465]), atol=5e-3, rtol=0)
    torch.testing.assert_close(std, torch.tensor([0.2470, 0.2435, 0.2616]), atol=5e-3, rtol=0)
    # The chunked statistics agree with a float64 computation over the whole set at once.
    x = d.train_images.double().div_(255)
    torch.testing.assert_close(mean, x.mean(dim=(0, 2, 3)).float(), atol=1e-7, rtol=0)
    torch.testing.assert_close(std, x.std(dim=(0, 2, 3)).float(), atol=1e-7, rtol=0)
    del x
    assert d.mean_std() is d.mean_std()  # computed once, kept on the data set
    assert [p.suffix for p in real_cache.iterdir()] == [".pt"]  # the cache went there


def test_real_archive_cut_in_half_is_reported_as_truncated(tmp_path):
    whole = _offline_copy()
    if whole.is_dir():
        pytest.skip(f"CONVBOOK_DATA is a directory ({whole}); this test needs the .tar.gz")
    with open(whole, "rb") as f:
        (tmp_path / "cut.tar.gz").write_bytes(f.read(whole.stat().st_size // 2))
    with pytest.raises(D.DatasetError, match=r"could not be read to the end after [\d,]+ images"
                                             r".*looks truncated"):
        D.cifar10(tmp_path / "cut.tar.gz", cache=tmp_path / "cache")
