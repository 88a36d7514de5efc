"""CIFAR-10 as uint8 tensors: find it, decode it once, cache it, and feed it fast.

``cifar10()`` returns the whole data set as four tensors (``(N, 3, 32, 32)`` uint8 images and
``(N,)`` int64 labels for train and test) plus the class names.  The first call decodes the
60,000 images (about 7 s on 2 cores with ``torchvision.io.decode_jpeg``, which decodes a list
of JPEGs in one call) and writes a ``.pt`` cache; later calls load that in about a second.

Where the data comes from, in this order:

1. ``root``, or else the ``CONVBOOK_DATA`` environment variable: a directory in the
   ImageFolder layout (``train/<class>/*.png|jpg``, ``test/<class>/*``), a ``.tar.gz`` of
   such a directory, or torchvision's ``cifar-10-batches-py`` directory;
2. torchvision's ``CIFAR10`` download (with its checksum check) into the cache directory.

Augmentation (random crop after padding, horizontal flip) and normalisation run on whole
batches of tensors on the training device, never image by image through PIL.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import pickle
import re
import tarfile
import time
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from convbook._args import (
    check_bool,
    check_choice,
    check_int,
    check_path,
    check_positive_int,
    check_tensor,
)
from convbook._io import atomic_torch_save

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
CIFAR10_SIZES = {"train": 50_000, "test": 10_000}
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_CACHE_VERSION = 2
_STALE_SECONDS = 600  # a cache's temporary file untouched this long is a killed write's
_STATS_CHUNK = 1024  # images per step of channel_stats


class DatasetError(RuntimeError):
    """The data set was found but is missing, partial or corrupt; the message says what to do."""


@dataclass(frozen=True)
class ImageData:
    """A labelled image data set split into train and test.

    Attributes:
        train_images: ``(N_train, 3, H, W)`` uint8.
        train_labels: ``(N_train,)`` int64 class indices.
        test_images: ``(N_test, 3, H, W)`` uint8.
        test_labels: ``(N_test,)`` int64.
        classes: class names, ``classes[label]``.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    _stats: tuple[torch.Tensor, torch.Tensor] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def subset(self, n_train: int, n_test: int, seed: int = 0) -> ImageData:
        """A random, class-mixed subset of ``n_train`` training and ``n_test`` test images,
        drawn with ``seed`` (an int >= 0)."""
        n_train = check_int(n_train, "n_train", minimum=1, maximum=len(self.train_labels))
        n_test = check_int(n_test, "n_test", minimum=1, maximum=len(self.test_labels))
        seed = check_int(seed, "seed", minimum=0)
        g = torch.Generator().manual_seed(seed)
        tr = torch.randperm(len(self.train_labels), generator=g)[:n_train]
        te = torch.randperm(len(self.test_labels), generator=g)[:n_test]
        return ImageData(
            self.train_images[tr], self.train_labels[tr],
            self.test_images[te], self.test_labels[te], self.classes,
        )

    def mean_std(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and standard deviation of the training images, on the 0..1 scale.

        Returns two ``(3,)`` float32 tensors, computed from the data (never copied constants)
        on the first call and kept: later calls return the same tensors (do not modify them).
        """
        if self._stats is None:  # a frozen dataclass: set the kept value behind its back
            object.__setattr__(self, "_stats", channel_stats(self.train_images))
        assert self._stats is not None
        return self._stats

    def __repr__(self) -> str:
        shape = tuple(self.train_images.shape[1:])
        return (
            f"ImageData(train={len(self.train_labels):,}, test={len(self.test_labels):,}, "
            f"image shape={shape}, classes={len(self.classes)})"
        )


def channel_stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (unbiased) std of ``images: (N, C, H, W)`` uint8, scaled to 0..1.

    Exact sums in integers, a chunk of images at a time: no float64 copy of the data set
    (which for CIFAR-10's 50,000 training images would take 1.2 GB).

    Returns:
        ``(mean, std)``, two ``(C,)`` float32 tensors on ``images``' device.
    """
    check_tensor(images, "images", [4], ["(N, C, H, W)"])
    if images.dtype != torch.uint8:
        raise TypeError(f"images must be a uint8 tensor (0..255), got {images.dtype}")
    c = images.shape[1]
    n = images.numel() // c if c else 0
    if n == 0:
        raise ValueError(f"images must hold at least one pixel per channel, got shape "
                         f"{tuple(images.shape)}")
    total = torch.zeros(c, dtype=torch.int64, device=images.device)
    squares = torch.zeros(c, dtype=torch.int64, device=images.device)
    for start in range(0, len(images), _STATS_CHUNK):
        x = images[start:start + _STATS_CHUNK].to(torch.int32)
        total += x.sum(dim=(0, 2, 3), dtype=torch.int64)
        squares += (x * x).sum(dim=(0, 2, 3), dtype=torch.int64)
    # In Python's exact integers: n * sum(x^2) - (sum x)^2 = n (n - 1) * variance * 255^2.
    sums, sums_sq = total.tolist(), squares.tolist()
    mean = [t / (n * 255) for t in sums]
    std = [math.sqrt((n * q - t * t) / (n * (n - 1))) / 255 if n > 1 else math.nan
           for t, q in zip(sums, sums_sq)]
    return (torch.tensor(mean, dtype=torch.float32, device=images.device),
            torch.tensor(std, dtype=torch.float32, device=images.device))


# --------------------------------------------------------------------------- locating data


def cache_dir() -> Path:
    """Where decoded data sets are cached: ``$CONVBOOK_CACHE``, else
    ``$XDG_CACHE_HOME/convbook``, else ``~/.cache/convbook``."""
    if os.environ.get("CONVBOOK_CACHE"):
        return Path(os.environ["CONVBOOK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "convbook"


def cifar10(
    root: str | os.PathLike[str] | None = None,
    *,
    cache: str | os.PathLike[str] | None = None,
    download: bool = True,
    expected_sizes: dict[str, int] | str | None = "cifar10",
) -> ImageData:
    """Load CIFAR-10 (or any ImageFolder data set of that shape) as uint8 tensors.

    Args:
        root: a directory (ImageFolder layout or torchvision's ``cifar-10-batches-py``) or a
            ``.tar.gz`` of an ImageFolder directory.  Default: ``$CONVBOOK_DATA``, else
            torchvision's download.
        cache: directory for the decoded ``.pt`` cache (default :func:`cache_dir`).
        download: allow torchvision to download when no local copy is given.
        expected_sizes: images expected per split; a different count raises
            :class:`DatasetError`.  ``"cifar10"`` means :data:`CIFAR10_SIZES` (50,000 and
            10,000); ``None`` accepts any size (for small test trees).

    Returns:
        :class:`ImageData` with ``(N, 3, 32, 32)`` uint8 images and ``(N,)`` int64 labels.
    """
    for value, name in ((root, "root"), (cache, "cache")):
        if value is not None:
            check_path(value, name)
    check_bool(download, "download")
    expected_sizes = _expected_sizes(expected_sizes)
    cache_root = Path(cache) if cache is not None else cache_dir()
    if root is None and os.environ.get("CONVBOOK_DATA"):
        root = os.environ["CONVBOOK_DATA"]
        if not Path(root).exists():
            raise DatasetError(
                f"CONVBOOK_DATA points at {root}, which does not exist: set it to a CIFAR-10 "
                "ImageFolder directory or .tar.gz, or unset it to download with torchvision"
            )
    if root is None:
        return _from_torchvision(cache_root, download, expected_sizes)
    source = Path(root)
    if not source.exists():
        raise DatasetError(f"no data set at {source}: the path does not exist")
    cache_file = cache_root / f"{_cache_prefix(source)}{_fingerprint(source)}.pt"
    data = _load_cache(cache_file)
    if data is None:
        data = _decode_source(source)
        _check(data, expected_sizes, source)
        _save_cache(data, cache_file)
    else:
        _check(data, expected_sizes, source)
    _remove_superseded(cache_file, source)
    return data


def _expected_sizes(value: object) -> dict[str, int] | None:
    """``expected_sizes`` checked: None, ``"cifar10"`` or ``{"train": n, "test": m}``."""
    if value is None:
        return None
    if isinstance(value, str) and value == "cifar10":
        return CIFAR10_SIZES
    if not isinstance(value, dict) or set(value) != {"train", "test"}:
        raise ValueError(f"expected_sizes must be None, 'cifar10' or a dict with the keys "
                         f"'train' and 'test', got {value!r}")
    return {split: check_int(n, f"expected_sizes[{split!r}]", minimum=1)
            for split, n in value.items()}


def _cache_prefix(source: Path) -> str:
    """``<name>-<hash of the resolved path>-``: the caches of one source share it."""
    where = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:8]
    return f"{source.name}-{where}-"


def _fingerprint(source: Path) -> str:
    """A short hash of what the source holds: the size and modification time (ns) of the
    archive, or of every file of the directory (an image edited in place changes it).

    Costs one ``stat`` per file: about 0.6 s for CIFAR-10's 60,000 files on 2 busy cores.
    """
    h = hashlib.sha256(f"v{_CACHE_VERSION}:{source.resolve()}".encode())
    st = source.stat()
    lines = [f".:{st.st_size}:{st.st_mtime_ns}"]
    if source.is_dir():
        lines += sorted(_file_stats(source, ""))
    h.update("\n".join(lines).encode())
    return h.hexdigest()[:16]


def _file_stats(directory: Path, prefix: str) -> Iterator[str]:
    """``"relative/path:size:mtime_ns"`` for every file below ``directory``."""
    with os.scandir(directory) as entries:
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_dir():
                yield from _file_stats(Path(entry.path), rel + "/")
            else:
                st = entry.stat()
                yield f"{rel}:{st.st_size}:{st.st_mtime_ns}"


def _remove_superseded(cache_file: Path, source: Path) -> None:
    """Delete this source's other caches (the source has changed since they were written),
    caches of the older naming scheme, and temporary files of writes killed long ago.
    Best effort: a cache directory that cannot be listed or cleaned is left alone."""
    prefix = _cache_prefix(source)
    legacy = re.compile(re.escape(source.name) + r"-[0-9a-f]{16}\.pt")
    now = time.time()
    try:
        paths = list(cache_file.parent.iterdir())
    except OSError:
        return
    for p in paths:
        name = p.name
        superseded = name.endswith(".pt") and p != cache_file and (
            name.startswith(prefix) or legacy.fullmatch(name) is not None)
        try:
            killed = (name.startswith(f".{source.name}-") and name.endswith(".tmp")
                      and now - p.stat().st_mtime > _STALE_SECONDS)
            if superseded or killed:
                p.unlink(missing_ok=True)
        except OSError:
            continue


def _load_cache(path: Path) -> ImageData | None:
    if not path.exists():
        return None
    try:
        d = torch.load(path, weights_only=True)
        return ImageData(d["train_images"], d["train_labels"], d["test_images"],
                         d["test_labels"], tuple(d["classes"]))
    except Exception:  # a stale or damaged cache is rebuilt, never trusted
        return None


def _save_cache(data: ImageData, path: Path) -> None:
    """Write the cache atomically: a temporary file in the same directory, then rename."""
    payload = {
        "train_images": data.train_images, "train_labels": data.train_labels,
        "test_images": data.test_images, "test_labels": data.test_labels,
        "classes": list(data.classes),
    }
    atomic_torch_save(payload, path)


# --------------------------------------------------------------------------- decoding


# An image file: (class, path relative to the source's root, e.g. "train/cat/0001.jpg", bytes).
_File = tuple[str, str, bytes]


def _decode_source(source: Path) -> ImageData:
    if source.is_dir():
        if (source / "batches.meta").exists() or (source / "cifar-10-batches-py").is_dir():
            py = source if (source / "batches.meta").exists() else source / "cifar-10-batches-py"
            return _from_python_batches(py)
        files = {
            split: [_read_file(p, source) for p in sorted((source / split).glob("*/*"))
                    if p.suffix.lower() in _IMAGE_SUFFIXES]
            for split in ("train", "test")
            if (source / split).is_dir()
        }
        return _from_files(files, source)
    if source.name.endswith((".tar.gz", ".tgz", ".tar")):
        return _from_files(_read_tar(source), source)
    raise DatasetError(
        f"{source} is neither a directory nor a .tar.gz: point CONVBOOK_DATA at a CIFAR-10 "
        "ImageFolder directory (train/<class>/*.jpg, test/<class>/*.jpg) or its .tar.gz"
    )


def _read_file(path: Path, source: Path) -> _File:
    rel = path.relative_to(source).as_posix()
    if path.is_dir():
        raise _not_an_image(source, rel, "is a directory, not an image")
    return path.parent.name, rel, _nonempty(path.read_bytes(), source, rel)


def _nonempty(blob: bytes, source: Path, rel: str) -> bytes:
    if not blob:
        raise _not_an_image(source, rel, "is empty (0 bytes)")
    return blob


def _not_an_image(source: Path, rel: str, what: str) -> DatasetError:
    return DatasetError(
        f"{source}: {rel} {what}; the copy looks damaged: remove or replace that entry, "
        "re-download the data set, or point CONVBOOK_DATA at a good copy"
    )


def _read_tar(source: Path) -> dict[str, list[_File]]:
    files: dict[str, list[_File]] = {}
    try:
        with open(source, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            # gzip through Python's gzip module, so that a cut stream raises EOFError;
            # anything else through tarfile's own detection (plain, bz2, xz)
            stream = gzip.GzipFile(fileobj=raw) if gzipped else raw
            mode = "r|" if gzipped else "r|*"
            with tarfile.open(fileobj=stream, mode=mode) as tf:  # type: ignore[call-overload]
                for m in tf:
                    parts = Path(m.name).parts
                    parts = parts[parts.index("train"):] if "train" in parts else (
                        parts[parts.index("test"):] if "test" in parts else ())
                    if len(parts) != 3 or Path(parts[2]).suffix.lower() not in _IMAGE_SUFFIXES:
                        continue
                    rel = "/".join(parts)
                    if m.isdir():
                        raise _not_an_image(source, rel, "is a directory, not an image")
                    if not m.isfile():
                        continue
                    f = tf.extractfile(m)
                    assert f is not None
                    files.setdefault(parts[0], []).append(
                        (parts[1], rel, _nonempty(f.read(), source, rel)))
            # tarfile stops at the archive's end marker, or quietly at a cut-off header:
            # the gzip stream must end cleanly too, else the file is truncated.
            while gzipped and stream.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        n = sum(len(v) for v in files.values())
        raise DatasetError(
            f"{source} could not be read to the end after {n:,} images ({e}): the archive "
            "looks truncated or corrupt; re-download it, or point CONVBOOK_DATA at a good copy"
        ) from e
    # the order of a directory listing: by class, then file name
    return {split: sorted(v, key=lambda t: (t[0], t[1])) for split, v in files.items()}


def _from_files(files: dict[str, list[_File]], source: Path) -> ImageData:
    for split in ("train", "test"):
        if not files.get(split):
            raise DatasetError(
                f"found no {split} images in {source}: expected {split}/<class>/*.jpg or *.png "
                "(ImageFolder layout); point CONVBOOK_DATA at a complete copy"
            )
    classes = tuple(sorted({c for c, _, _ in files["train"]}))
    test_classes = tuple(sorted({c for c, _, _ in files["test"]}))
    if test_classes != classes:
        raise DatasetError(
            f"{source}: train has classes {list(classes)} but test has {list(test_classes)}; "
            "the copy looks partial: re-download it, or point CONVBOOK_DATA at a complete copy"
        )
    index = {c: i for i, c in enumerate(classes)}
    out = []
    for split in ("train", "test"):
        images = _decode_images(files[split], source, split)
        labels = torch.tensor([index[c] for c, _, _ in files[split]], dtype=torch.int64)
        out += [images, labels]
    return ImageData(*out, classes)


def _decode_images(files: list[_File], source: Path, split: str) -> torch.Tensor:
    """Decode encoded images into one ``(N, 3, H, W)`` uint8 tensor.

    JPEGs go through ``torchvision.io.decode_jpeg`` in batches (C++; a list in one call), other
    formats through ``torchvision.io.decode_image``.
    """
    with warnings.catch_warnings():  # torchvision 0.29 deprecates its decoders for TorchCodec
        warnings.simplefilter("ignore", DeprecationWarning)
        return _decode_images_quietly(files, source, split)


def _decode_images_quietly(files: list[_File], source: Path, split: str) -> torch.Tensor:
    from torchvision.io import ImageReadMode, decode_image, decode_jpeg

    blobs = [b for _, _, b in files]
    tensors = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs]
    is_jpeg = [b[:2] == b"\xff\xd8" for b in blobs]
    decoded: list[torch.Tensor | None] = [None] * len(blobs)
    jpeg_idx = [i for i, j in enumerate(is_jpeg) if j]
    try:
        for start in range(0, len(jpeg_idx), 4096):
            chunk = jpeg_idx[start:start + 4096]
            for i, img in zip(chunk, decode_jpeg([tensors[i] for i in chunk],
                                                 mode=ImageReadMode.RGB)):
                decoded[i] = img
        for i, j in enumerate(is_jpeg):
            if not j:
                decoded[i] = decode_image(tensors[i], mode=ImageReadMode.RGB)
    except RuntimeError as e:
        bad = _first_undecodable(blobs)
        name = files[bad][1] if bad >= 0 else f"a {split} image"
        raise DatasetError(
            f"{source}: {name} could not be decoded ({e}); the data set looks corrupt: "
            "re-download it, or point CONVBOOK_DATA at a good copy"
        ) from e
    shapes = {tuple(t.shape) for t in decoded if t is not None}
    if len(shapes) != 1:
        raise DatasetError(f"{source}: {split} images differ in size: {sorted(shapes)[:4]}")
    return torch.stack(decoded)  # type: ignore[arg-type]


def _first_undecodable(blobs: list[bytes]) -> int:
    from PIL import Image

    for i, b in enumerate(blobs):
        try:
            Image.open(io.BytesIO(b)).convert("RGB")
        except Exception:
            return i
    return -1


def _from_python_batches(py: Path) -> ImageData:
    """torchvision's / the original ``cifar-10-batches-py`` pickles."""
    def load(name: str) -> dict:
        path = py / name
        if not path.exists():
            raise DatasetError(
                f"{py} has no {name}: the cifar-10-batches-py copy is partial; delete it and "
                "download again, or point CONVBOOK_DATA at a complete copy"
            )
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")

    meta = load("batches.meta")
    parts = [load(f"data_batch_{i}") for i in range(1, 6)]
    test = load("test_batch")

    def images(batches: list[dict]) -> torch.Tensor:
        import numpy as np

        return torch.from_numpy(np.concatenate([b["data"] for b in batches])).reshape(-1, 3, 32, 32)

    def labels(batches: list[dict]) -> torch.Tensor:
        return torch.tensor([y for b in batches for y in b["labels"]], dtype=torch.int64)

    return ImageData(images(parts), labels(parts), images([test]), labels([test]),
                     tuple(meta["label_names"]))


def _from_torchvision(cache_root: Path, download: bool,
                      expected_sizes: dict[str, int] | None) -> ImageData:
    from torchvision.datasets import CIFAR10

    root = cache_root / "torchvision"
    try:
        CIFAR10(str(root), train=True, download=download)
    except RuntimeError as e:
        raise DatasetError(
            f"CIFAR-10 is not in {root} and could not be downloaded ({e}); set CONVBOOK_DATA "
            "to an offline copy (an ImageFolder directory or .tar.gz)"
        ) from e
    return cifar10(root / "cifar-10-batches-py", cache=cache_root, expected_sizes=expected_sizes)


def _check(data: ImageData, expected_sizes: dict[str, int] | None, source: Path) -> None:
    """Raise :class:`DatasetError` describing what was found when it is not what was expected."""
    for split, labels in (("train", data.train_labels), ("test", data.test_labels)):
        n, k = len(labels), len(data.classes)
        counts = torch.bincount(labels, minlength=k)
        if expected_sizes is not None and n != expected_sizes[split]:
            raise DatasetError(
                f"found {n:,} {split} images in {k} classes in {source}, expected "
                f"{expected_sizes[split]:,}: the copy looks truncated or partial; re-download "
                "it, or point CONVBOOK_DATA at a complete copy"
            )
        if expected_sizes is not None and k != len(CIFAR10_CLASSES):
            raise DatasetError(
                f"found {k} classes in {source}, expected {len(CIFAR10_CLASSES)}"
            )
        if (counts == 0).any():
            empty = [data.classes[i] for i in torch.nonzero(counts == 0).flatten().tolist()]
            raise DatasetError(f"{source}: no {split} images for classes {empty}")


# --------------------------------------------------------------------------- batches


def normalize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` uint8 (0..255) → float32 ``(x / 255 - mean) / std`` per channel.

    ``mean`` and ``std`` are ``(C,)`` tensors on the 0..1 scale (:meth:`ImageData.mean_std`);
    ``std`` must be positive and both finite.
    """
    check_tensor(x, "x", [4], ["(N, C, H, W)"])
    if x.dtype != torch.uint8:
        raise TypeError(f"x must be a uint8 tensor (0..255), got {x.dtype}")
    c = x.shape[1]
    for t, name in ((mean, "mean"), (std, "std")):
        check_tensor(t, name, [1], [f"(C,) = ({c},)"])
        if t.shape[0] != c:
            raise ValueError(f"{name} must have one value per channel of x ({c}), got "
                             f"{t.shape[0]}")
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} must be finite, got {t.tolist()}")
    if not (std > 0).all():
        raise ValueError(f"std must be > 0 in every channel, got {std.tolist()}")
    mean = mean.to(x.device).view(1, -1, 1, 1)
    std = std.to(x.device).view(1, -1, 1, 1)
    return (x.float() / 255 - mean) / std


def augment(
    x: torch.Tensor,
    *,
    pad: int = 4,
    flip: bool = True,
    padding_mode: str = "reflect",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random crop after padding, and random horizontal flip, for a whole batch at once.

    Args:
        x: ``(N, C, H, W)`` images (any dtype) on any device.
        pad: pixels added on each side before cropping back to ``H × W``; 0 turns cropping off.
        flip: flip each image left-right with probability 1/2.
        padding_mode: ``"reflect"`` or ``"constant"`` (zeros); ``pad`` must be smaller than
            ``H`` and ``W``.
        generator: CPU generator for the random offsets (seeded → reproducible).

    Returns:
        ``(N, C, H, W)``, same dtype and device: image ``n`` is the window of the padded image
        starting at row ``dy[n]``, column ``dx[n]``, each uniform in ``0..2·pad``.
    """
    check_tensor(x, "x", [4], ["(N, C, H, W)"])
    n, _, h, w = x.shape
    pad = check_int(pad, "pad", minimum=0)
    if pad and pad >= min(h, w):
        raise ValueError(f"pad must be smaller than the images' height and width "
                         f"{(h, w)}, got {pad}")
    check_bool(flip, "flip")
    check_choice(padding_mode, "padding_mode", ("reflect", "constant"))
    _check_generator(generator)
    if pad:
        xp = F.pad(x.float() if padding_mode == "reflect" else x, (pad,) * 4, mode=padding_mode)
        xp = xp.to(x.dtype)
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]  # (N, H, 1)
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]  # (N, 1, W)
        idx = torch.arange(n, device=x.device)[:, None, None]
        x = xp.permute(0, 2, 3, 1)[idx, rows, cols].permute(0, 3, 1, 2)  # (N, C, H, W)
    if flip:
        mask = (torch.rand(n, generator=generator) < 0.5).to(x.device).view(-1, 1, 1, 1)
        x = torch.where(mask, x.flip(3), x)
    return x.contiguous()


def batches(
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
    device: torch.device | str = "cpu",
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(images, labels)`` batches (uint8 ``(B, C, H, W)``, int64 ``(B,)``) on ``device``.

    A seeded ``generator`` makes the shuffled order reproducible.  Normalise and augment the
    batches on the device afterwards (:func:`normalize`, :func:`augment`).  The arguments
    are checked when it is called, before the first batch.
    """
    check_tensor(images, "images", [4], ["(N, C, H, W)"])
    check_tensor(labels, "labels", [1], ["(N,)"])
    if len(images) != len(labels):
        raise ValueError(f"images ({len(images)}) and labels ({len(labels)}) must have the "
                         "same length")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_bool(shuffle, "shuffle")
    check_bool(drop_last, "drop_last")
    _check_generator(generator)
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device, got {device!r}")
    try:
        device = torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"device must name a torch device ('cpu', 'cuda', 'mps', ...), got "
                         f"{device!r}") from e
    return _batches(images, labels, batch_size, shuffle, generator, drop_last, device)


def _batches(
    images: torch.Tensor, labels: torch.Tensor, batch_size: int, shuffle: bool,
    generator: torch.Generator | None, drop_last: bool, device: torch.device,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    n = len(labels)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        i = order[start:start + batch_size]
        yield (images[i].to(device, non_blocking=True), labels[i].to(device, non_blocking=True))


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many batches :func:`batches` yields for ``n`` items."""
    n = check_int(n, "n", minimum=0)
    batch_size = check_positive_int(batch_size, "batch_size")
    check_bool(drop_last, "drop_last")
    return n // batch_size if drop_last else -(-n // batch_size)


def _check_generator(generator: object) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {generator!r}")
