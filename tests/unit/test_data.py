"""convbook.data: finding, decoding, caching and batching CIFAR-10-shaped data."""

from __future__ import annotations

import os
import pickle
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from convbook import data as D


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch, tmp_path):
    """Nothing downloads in tests, and caches go to a temporary directory."""
    import torchvision.datasets.cifar as tv_cifar

    def refuse(*args, **kwargs):
        raise RuntimeError("downloads are disabled in tests")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", refuse)
    monkeypatch.setenv("CONVBOOK_CACHE", str(tmp_path / "cache"))


def make_tree(root: Path, n_train: int = 3, n_test: int = 2, classes=("cat", "ant"),
              size: int = 8) -> dict[str, list[tuple[str, np.ndarray]]]:
    """An ImageFolder tree of random PNGs; returns what each file holds, in sorted order."""
    rng = np.random.default_rng(0)
    written: dict[str, list[tuple[str, np.ndarray]]] = {}
    for split, n in (("train", n_train), ("test", n_test)):
        for c in classes:
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                a = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                Image.fromarray(a).save(root / split / c / f"{i:04d}.png")
                written.setdefault(split, []).append((c, a))
        written.setdefault(split, []).sort(key=lambda t: t[0])  # sorted by class, then file name
    return written


def expected_tensors(written, split):
    classes = sorted({c for c, _ in written["train"]})
    x = torch.from_numpy(np.stack([a for _, a in written[split]])).permute(0, 3, 1, 2)
    y = torch.tensor([classes.index(c) for c, _ in written[split]])
    return x, y


def test_imagefolder_directory_decodes_exactly(tmp_path):
    written = make_tree(tmp_path / "ds")
    d = D.cifar10(tmp_path / "ds", expected_sizes=None)
    assert d.classes == ("ant", "cat")
    for split in ("train", "test"):
        x, y = expected_tensors(written, split)
        assert torch.equal(getattr(d, f"{split}_images"), x)
        assert torch.equal(getattr(d, f"{split}_labels"), y)
    assert d.train_images.dtype == torch.uint8 and d.train_labels.dtype == torch.int64


def test_tarball_equals_directory(tmp_path):
    make_tree(tmp_path / "ds")
    with tarfile.open(tmp_path / "ds.tar.gz", "w:gz") as tf:
        tf.add(tmp_path / "ds", arcname="cifar")
    a = D.cifar10(tmp_path / "ds", expected_sizes=None)
    b = D.cifar10(tmp_path / "ds.tar.gz", expected_sizes=None)
    assert torch.equal(a.train_images, b.train_images)
    assert torch.equal(a.test_labels, b.test_labels)
    assert a.classes == b.classes


def test_jpeg_images_decode_close_to_pil(tmp_path):
    rng = np.random.default_rng(1)
    for split in ("train", "test"):
        for c in ("a", "b"):
            (tmp_path / split / c).mkdir(parents=True)
            a = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(a).save(tmp_path / split / c / "0.jpg", quality=90)
    d = D.cifar10(tmp_path, expected_sizes=None)
    pil = np.asarray(Image.open(tmp_path / "train" / "a" / "0.jpg").convert("RGB"))
    got = d.train_images[0].permute(1, 2, 0).numpy().astype(int)
    assert np.abs(got - pil.astype(int)).max() <= 2  # libjpeg versions may round differently


def test_cache_is_written_once_and_reused(tmp_path, monkeypatch):
    make_tree(tmp_path / "ds")
    first = D.cifar10(tmp_path / "ds", expected_sizes=None)
    cached = list((tmp_path / "cache").glob("*.pt"))
    assert len(cached) == 1
    assert not [p for p in (tmp_path / "cache").iterdir() if p.suffix == ".tmp"]

    def no_decoding(source):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(D.sources, "_decode_source", no_decoding)
    again = D.cifar10(tmp_path / "ds", expected_sizes=None)
    assert torch.equal(first.train_images, again.train_images)


def test_cache_is_rebuilt_when_source_changes(tmp_path):
    make_tree(tmp_path / "ds")
    D.cifar10(tmp_path / "ds", expected_sizes=None)
    extra = np.zeros((8, 8, 3), dtype=np.uint8)
    Image.fromarray(extra).save(tmp_path / "ds" / "train" / "ant" / "9999.png")
    d = D.cifar10(tmp_path / "ds", expected_sizes=None)
    assert len(d.train_labels) == 7


def test_cache_notices_an_image_edited_in_place(tmp_path):
    make_tree(tmp_path / "ds")
    first = D.cifar10(tmp_path / "ds", expected_sizes=None)
    path = tmp_path / "ds" / "train" / "ant" / "0001.png"
    before = path.stat()
    Image.fromarray(np.full((8, 8, 3), 7, dtype=np.uint8)).save(path)  # same name, new pixels
    # an edit moves the modification time on (set here: the clock may not have ticked yet)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    d = D.cifar10(tmp_path / "ds", expected_sizes=None)
    assert torch.equal(d.train_images[1], torch.full((3, 8, 8), 7, dtype=torch.uint8))
    assert not torch.equal(first.train_images[1], d.train_images[1])


def test_superseded_caches_and_stale_temporary_files_are_removed(tmp_path):
    make_tree(tmp_path / "ds")
    make_tree(tmp_path / "other" / "ds")  # another source with the same name
    cache = tmp_path / "cache"
    D.cifar10(tmp_path / "other" / "ds", expected_sizes=None)
    D.cifar10(tmp_path / "ds", expected_sizes=None)
    first = {p.name for p in cache.glob("*.pt")}
    assert len(first) == 2
    # a write that was killed long ago, and one that may still be running
    stale = cache / f".{sorted(first)[0]}.abc123.tmp"
    stale.write_bytes(b"half a cache")
    hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(stale, ns=(hour_ago, hour_ago))
    running = cache / f".{sorted(first)[1]}.def456.tmp"
    running.write_bytes(b"being written")
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(
        tmp_path / "ds" / "train" / "ant" / "9999.png")
    D.cifar10(tmp_path / "ds", expected_sizes=None)
    now = {p.name for p in cache.glob("*.pt")}
    assert len(now) == 2 and len(now - first) == 1  # ds's old cache replaced, other's kept
    assert not stale.exists() and running.exists()


@pytest.mark.parametrize("bad", ["empty", "directory"])
@pytest.mark.parametrize("packed", [False, True])
def test_an_empty_file_or_a_directory_named_like_an_image_is_named(tmp_path, bad, packed):
    make_tree(tmp_path / "ds")
    target = tmp_path / "ds" / "train" / "cat" / "0005.jpg"
    if bad == "empty":
        target.write_bytes(b"")
    else:
        target.mkdir()
        (target / "inside.txt").write_text("not an image")
    source = tmp_path / "ds"
    if packed:
        with tarfile.open(tmp_path / "ds.tar.gz", "w:gz") as tf:
            tf.add(tmp_path / "ds", arcname="ds")
        source = tmp_path / "ds.tar.gz"
    rule = r"is empty \(0 bytes\)" if bad == "empty" else r"is a directory, not an image"
    with pytest.raises(D.DatasetError, match=r"train/cat/0005\.jpg.*" + rule):
        D.cifar10(source, expected_sizes=None)


def test_an_undecodable_image_is_named(tmp_path):
    make_tree(tmp_path / "ds")
    (tmp_path / "ds" / "test" / "ant" / "0001.png").write_bytes(b"\x89PNG junk")
    with pytest.raises(D.DatasetError, match=r"test/ant/0001\.png could not be decoded"):
        D.cifar10(tmp_path / "ds", expected_sizes=None)


def test_damaged_cache_is_ignored(tmp_path):
    make_tree(tmp_path / "ds")
    D.cifar10(tmp_path / "ds", expected_sizes=None)
    (cache,) = (tmp_path / "cache").glob("*.pt")
    cache.write_bytes(b"not a torch file")
    d = D.cifar10(tmp_path / "ds", expected_sizes=None)
    assert len(d.train_labels) == 6


def test_wrong_count_names_what_was_found(tmp_path):
    make_tree(tmp_path / "ds")
    with pytest.raises(D.DatasetError,
                       match=r"found 6 train images in 2 classes .* expected 50,000: the copy "
                             r"looks truncated"):
        D.cifar10(tmp_path / "ds")


def test_corrupt_image_is_reported(tmp_path):
    make_tree(tmp_path / "ds")
    (tmp_path / "ds" / "test" / "cat" / "0000.png").unlink()
    (tmp_path / "ds" / "test" / "cat" / "0000.jpg").write_bytes(b"\xff\xd8" + b"junk" * 20)
    with pytest.raises(D.DatasetError, match=r"could not be decoded.*looks corrupt"):
        D.cifar10(tmp_path / "ds", expected_sizes=None)


def test_truncated_tarball_is_reported(tmp_path):
    make_tree(tmp_path / "ds")
    with tarfile.open(tmp_path / "ds.tar.gz", "w:gz") as tf:
        tf.add(tmp_path / "ds", arcname=".")
    whole = (tmp_path / "ds.tar.gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(D.DatasetError, match=r"could not be read to the end.*truncated"):
        D.cifar10(tmp_path / "cut.tar.gz", expected_sizes=None)


def test_missing_split_and_mismatched_classes(tmp_path):
    make_tree(tmp_path / "ds")
    for p in (tmp_path / "ds" / "test" / "cat").iterdir():
        p.unlink()
    (tmp_path / "ds" / "test" / "cat").rmdir()
    with pytest.raises(D.DatasetError, match=r"train has classes \['ant', 'cat'\] but test has"):
        D.cifar10(tmp_path / "ds", expected_sizes=None)
    make_tree(tmp_path / "only_train", n_test=0)
    for c in ("ant", "cat"):
        (tmp_path / "only_train" / "test" / c).rmdir()
    with pytest.raises(D.DatasetError, match="found no test images"):
        D.cifar10(tmp_path / "only_train", expected_sizes=None)


def test_bad_paths(tmp_path, monkeypatch):
    with pytest.raises(D.DatasetError, match="the path does not exist"):
        D.cifar10(tmp_path / "nowhere")
    (tmp_path / "file.zip").write_bytes(b"x")
    with pytest.raises(D.DatasetError, match=r"neither a directory nor a \.tar\.gz"):
        D.cifar10(tmp_path / "file.zip")
    monkeypatch.setenv("CONVBOOK_DATA", str(tmp_path / "missing.tar.gz"))
    with pytest.raises(D.DatasetError, match=r"CONVBOOK_DATA points at .*missing\.tar\.gz"):
        D.cifar10()


def test_python_batches_layout(tmp_path):
    py = tmp_path / "cifar-10-batches-py"
    py.mkdir()
    rng = np.random.default_rng(2)
    arrays = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        arr = rng.integers(0, 256, (2, 3072), dtype=np.uint8)
        arrays[name] = arr
        with open(py / name, "wb") as f:
            pickle.dump({"data": arr, "labels": [0, 1]}, f)
    with open(py / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["a", "b"]}, f)
    d = D.cifar10(tmp_path, expected_sizes=None)
    assert d.classes == ("a", "b")
    assert d.train_images.shape == (10, 3, 32, 32)
    # row-major 3072 = 3 planes of 32×32, red first
    assert torch.equal(d.test_images[1, 0, 0], torch.from_numpy(arrays["test_batch"][1, :32]))
    assert d.train_labels.tolist() == [0, 1] * 5
    os.remove(py / "data_batch_3")
    with pytest.raises(D.DatasetError, match="has no data_batch_3"):
        D.cifar10(tmp_path / "cifar-10-batches-py", cache=tmp_path / "c2", expected_sizes=None)


def test_without_a_local_copy_the_download_is_tried_and_failure_is_explained(monkeypatch):
    monkeypatch.delenv("CONVBOOK_DATA", raising=False)
    with pytest.raises(D.DatasetError,
                       match=r"could not be downloaded.*point root or CONVBOOK_DATA at an"):
        D.cifar10()


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("CONVBOOK_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert D.cache_dir() == tmp_path / "xdg" / "convbook"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert D.cache_dir() == Path.home() / ".cache" / "convbook"


# --------------------------------------------------------------------------- batches


@pytest.mark.parametrize("n, chunk", [(5, 1), (5, 2), (37, 8), (1, 4)])
def test_channel_stats_match_numpy(n, chunk, monkeypatch):
    monkeypatch.setattr(D.dataset, "_STATS_CHUNK", chunk)  # several chunks, a partial last one
    x = torch.randint(0, 256, (n, 3, 4, 6), dtype=torch.uint8)
    a = x.numpy().astype(np.float64) / 255
    mean, std = D.channel_stats(x)
    np.testing.assert_allclose(mean.numpy(), a.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(std.numpy(), a.std(axis=(0, 2, 3), ddof=1), rtol=1e-5)


def test_mean_std_is_computed_once(monkeypatch):
    d = D.ImageData(torch.randint(0, 256, (6, 3, 2, 2), dtype=torch.uint8),
                    torch.arange(6) % 2, torch.zeros(2, 3, 2, 2, dtype=torch.uint8),
                    torch.arange(2), ("a", "b"))
    calls = []
    real = D.channel_stats
    monkeypatch.setattr(D.dataset, "channel_stats", lambda x: calls.append(1) or real(x))
    first = d.mean_std()
    assert d.mean_std() is first and len(calls) == 1
    assert d == D.ImageData(d.train_images, d.train_labels, d.test_images, d.test_labels,
                            d.classes)  # the kept statistics take no part in equality


def test_normalize():
    x = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8)
    mean, std = D.channel_stats(x)
    z = D.normalize(x, mean, std)
    torch.testing.assert_close(z.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-5, rtol=0)


@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(2, 9), w=st.integers(2, 9),
       pad=st.integers(0, 8))
def test_reflect_pad_matches_torch_for_any_dtype(n, c, h, w, pad):
    pad = min(pad, min(h, w) - 1)
    x = torch.randint(0, 256, (n, c, h, w), dtype=torch.uint8)
    expected = F.pad(x.float(), (pad,) * 4, mode="reflect").to(torch.uint8)
    assert torch.equal(D.reflect_pad(x, pad), expected)


def test_reflect_pad_rejects_a_pad_as_large_as_the_image():
    with pytest.raises(ValueError, match=r"pad must be in \[0, 3\] for 4×5 images, got 4"):
        D.reflect_pad(torch.zeros(1, 1, 4, 5), 4)


def test_batches_cover_everything_once_and_are_seeded():
    x = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    y = torch.arange(10)

    def order(seed):
        g = torch.Generator().manual_seed(seed)
        return [yb.tolist() for _, yb in D.batches(x, y, 4, shuffle=True, generator=g)]

    a = order(0)
    assert [len(b) for b in a] == [4, 4, 2] and D.num_batches(10, 4) == 3
    assert sorted(i for b in a for i in b) == list(range(10))
    assert a == order(0) and a != order(1)
    for xb, yb in D.batches(x, y, 4, shuffle=True, generator=torch.Generator().manual_seed(0)):
        assert xb.flatten().tolist() == yb.tolist()
    assert [len(b) for _, b in D.batches(x, y, 4, drop_last=True)] == [4, 4]
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        next(D.batches(x, y, 0))


def test_subset_and_repr():
    d = D.ImageData(torch.zeros(20, 3, 2, 2, dtype=torch.uint8), torch.arange(20) % 2,
                    torch.zeros(8, 3, 2, 2, dtype=torch.uint8), torch.arange(8) % 2, ("a", "b"))
    s = d.subset(5, 3)
    assert len(s.train_labels) == 5 and len(s.test_labels) == 3
    assert repr(d) == "ImageData(train=20, test=8, image shape=(3, 2, 2), classes=2)"


def test_grey_and_rgba_pngs_decode_as_rgb(tmp_path):
    """convbook reads every image as RGB: grey replicated into three channels, alpha dropped."""
    rng = np.random.default_rng(5)
    grey = rng.integers(0, 256, (4, 4), dtype=np.uint8)
    rgba = rng.integers(0, 256, (4, 4, 4), dtype=np.uint8)
    for split in ("train", "test"):
        (tmp_path / split / "a").mkdir(parents=True)
        Image.fromarray(grey).save(tmp_path / split / "a" / "0.png")
        Image.fromarray(rgba, mode="RGBA").save(tmp_path / split / "a" / "1.png")
    d = D.cifar10(tmp_path, expected_sizes=None)
    assert torch.equal(d.train_images[0], torch.from_numpy(grey).expand(3, 4, 4))
    assert torch.equal(d.train_images[1], torch.from_numpy(rgba[..., :3]).permute(2, 0, 1))


def test_a_bzip2_archive_still_reads(tmp_path):
    make_tree(tmp_path / "ds")
    with tarfile.open(tmp_path / "ds.tar", "w:bz2") as tf:  # named .tar, compressed anyway
        tf.add(tmp_path / "ds", arcname="ds")
    a = D.cifar10(tmp_path / "ds", expected_sizes=None)
    b = D.cifar10(tmp_path / "ds.tar", expected_sizes=None)
    assert torch.equal(a.train_images, b.train_images) and a.classes == b.classes
