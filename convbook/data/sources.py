"""Finding and decoding a data set: :func:`cifar10` and the sources it reads.

``cifar10()`` returns the whole data set as four tensors (``(N, 3, 32, 32)`` uint8 images and
``(N,)`` int64 labels for train and test) plus the class names.  The first call decodes the
60,000 images (about 7 s on 2 cores with ``torchvision.io.decode_jpeg``, which decodes a list
of JPEGs in one call) and writes a ``.pt`` cache; later calls load that in about a second.

Where the data comes from, in this order:

1. ``root``, or else the ``CONVBOOK_DATA`` environment variable: a directory in the
   ImageFolder layout (``train/<class>/*.png|jpg``, ``test/<class>/*``), a ``.tar.gz`` of
   such a directory, or torchvision's ``cifar-10-batches-py`` directory;
2. torchvision's ``CIFAR10`` download (with its checksum check) into the cache directory.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile
import warnings
import zlib
from pathlib import Path

import torch

from convbook._args import check_bool, check_int, check_path, check_str
from convbook.data.cache import cache_dir, cache_path, load_cache, remove_superseded, save_cache
from convbook.data.dataset import ImageData

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
CIFAR10_SIZES = {"train": 50_000, "test": 10_000}
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class DatasetError(RuntimeError):
    """The data set was found but is missing, partial or corrupt; the message says what to do."""


def cifar10(
    root: str | os.PathLike[str] | None = None,
    *,
    cache: str | os.PathLike[str] | None = None,
    download: bool = True,
    expected_sizes: dict[str, int] | str | None = "cifar10",
    root_option: str = "root",
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
        root_option: what the messages call the setting that gave ``root`` when they say
            where to point it (the command line passes ``"--data"``); a root that came from
            ``$CONVBOOK_DATA`` is called that.

    Returns:
        :class:`ImageData` with ``(N, 3, 32, 32)`` uint8 images and ``(N,)`` int64 labels.
    """
    for value, name in ((root, "root"), (cache, "cache")):
        if value is not None:
            check_path(value, name)
    check_bool(download, "download")
    expected_sizes = _expected_sizes(expected_sizes)
    where = check_str(root_option, "root_option")
    cache_root = Path(cache) if cache is not None else cache_dir()
    if root is None and os.environ.get("CONVBOOK_DATA"):
        root, where = os.environ["CONVBOOK_DATA"], "CONVBOOK_DATA"
        if not Path(root).exists():
            raise DatasetError(
                f"CONVBOOK_DATA points at {root}, which does not exist: set it to a CIFAR-10 "
                "ImageFolder directory or .tar.gz, or unset it to download with torchvision"
            )
    if root is None:
        return _from_torchvision(cache_root, download, expected_sizes, where)
    source = Path(root)
    if not source.exists():
        raise DatasetError(f"no data set at {source}: the path does not exist; point {where} "
                           "at a CIFAR-10 ImageFolder directory or .tar.gz")
    cache_file = cache_path(source, cache_root)
    data = load_cache(cache_file)
    if data is None:
        data = _decode_source(source, where)
        _check(data, expected_sizes, source, where)
        save_cache(data, cache_file)
    else:
        _check(data, expected_sizes, source, where)
    remove_superseded(cache_file, source)
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


# --------------------------------------------------------------------------- decoding


# An image file: (class, path relative to the source's root, e.g. "train/cat/0001.jpg", bytes).
_File = tuple[str, str, bytes]


def _decode_source(source: Path, where: str) -> ImageData:
    if source.is_dir():
        if (source / "batches.meta").exists() or (source / "cifar-10-batches-py").is_dir():
            py = source if (source / "batches.meta").exists() else source / "cifar-10-batches-py"
            return _from_python_batches(py, where)
        files = {
            split: [_read_file(p, source, where) for p in sorted((source / split).glob("*/*"))
                    if p.suffix.lower() in _IMAGE_SUFFIXES]
            for split in ("train", "test")
            if (source / split).is_dir()
        }
        return _from_files(files, source, where)
    if source.name.endswith((".tar.gz", ".tgz", ".tar")):
        return _from_files(_read_tar(source, where), source, where)
    raise DatasetError(
        f"{source} is neither a directory nor a .tar.gz: point {where} at a CIFAR-10 "
        "ImageFolder directory (train/<class>/*.jpg, test/<class>/*.jpg) or its .tar.gz"
    )


def _read_file(path: Path, source: Path, where: str) -> _File:
    rel = path.relative_to(source).as_posix()
    if path.is_dir():
        raise _not_an_image(source, rel, "is a directory, not an image", where)
    return path.parent.name, rel, _nonempty(path.read_bytes(), source, rel, where)


def _nonempty(blob: bytes, source: Path, rel: str, where: str) -> bytes:
    if not blob:
        raise _not_an_image(source, rel, "is empty (0 bytes)", where)
    return blob


def _not_an_image(source: Path, rel: str, what: str, where: str) -> DatasetError:
    return DatasetError(
        f"{source}: {rel} {what}; the copy looks damaged: remove or replace that entry, "
        f"re-download the data set, or point {where} at a good copy"
    )


def _read_tar(source: Path, where: str) -> dict[str, list[_File]]:
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
                        raise _not_an_image(source, rel, "is a directory, not an image",
                                            where)
                    if not m.isfile():
                        continue
                    f = tf.extractfile(m)
                    assert f is not None
                    files.setdefault(parts[0], []).append(
                        (parts[1], rel, _nonempty(f.read(), source, rel, where)))
            # tarfile stops at the archive's end marker, or quietly at a cut-off header:
            # the gzip stream must end cleanly too, else the file is truncated.
            while gzipped and stream.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        n = sum(len(v) for v in files.values())
        raise DatasetError(
            f"{source} could not be read to the end after {n:,} images ({e}): the archive "
            f"looks truncated or corrupt; re-download it, or point {where} at a good copy"
        ) from e
    # the order of a directory listing: by class, then file name
    return {split: sorted(v, key=lambda t: (t[0], t[1])) for split, v in files.items()}


def _from_files(files: dict[str, list[_File]], source: Path, where: str) -> ImageData:
    for split in ("train", "test"):
        if not files.get(split):
            raise DatasetError(
                f"found no {split} images in {source}: expected {split}/<class>/*.jpg or *.png "
                f"(ImageFolder layout); point {where} at a complete copy"
            )
    classes = tuple(sorted({c for c, _, _ in files["train"]}))
    test_classes = tuple(sorted({c for c, _, _ in files["test"]}))
    if test_classes != classes:
        raise DatasetError(
            f"{source}: train has classes {list(classes)} but test has {list(test_classes)}; "
            f"the copy looks partial: re-download it, or point {where} at a complete copy"
        )
    index = {c: i for i, c in enumerate(classes)}
    out = []
    for split in ("train", "test"):
        images = _decode_images(files[split], source, split, where)
        labels = torch.tensor([index[c] for c, _, _ in files[split]], dtype=torch.int64)
        out += [images, labels]
    return ImageData(*out, classes)


def _decode_images(files: list[_File], source: Path, split: str, where: str) -> torch.Tensor:
    """Decode encoded images into one ``(N, 3, H, W)`` uint8 tensor.

    JPEGs go through ``torchvision.io.decode_jpeg`` in batches (C++; a list in one call), other
    formats through ``torchvision.io.decode_image``.
    """
    with warnings.catch_warnings():  # torchvision 0.29 deprecates its decoders for TorchCodec
        warnings.simplefilter("ignore", DeprecationWarning)
        return _decode_images_quietly(files, source, split, where)


def _decode_images_quietly(files: list[_File], source: Path, split: str, where: str
                           ) -> torch.Tensor:
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
            f"re-download it, or point {where} at a good copy"
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


def _from_python_batches(py: Path, where: str) -> ImageData:
    """torchvision's / the original ``cifar-10-batches-py`` pickles."""
    def load(name: str) -> dict:
        path = py / name
        if not path.exists():
            raise DatasetError(
                f"{py} has no {name}: the cifar-10-batches-py copy is partial; delete it and "
                f"download again, or point {where} at a complete copy"
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
                      expected_sizes: dict[str, int] | None, where: str) -> ImageData:
    from torchvision.datasets import CIFAR10

    root = cache_root / "torchvision"
    try:
        CIFAR10(str(root), train=True, download=download)
    except (RuntimeError, OSError) as e:  # OSError: urllib's URLError, no internet
        reason = getattr(e, "reason", None) or str(e).splitlines()[0]
        raise DatasetError(
            f"CIFAR-10 is not in {root} and could not be downloaded ({reason}); point "
            f"{where} or CONVBOOK_DATA at an offline copy (an ImageFolder directory or .tar.gz)"
        ) from e
    return cifar10(root / "cifar-10-batches-py", cache=cache_root, expected_sizes=expected_sizes,
                   root_option=where)


def _check(data: ImageData, expected_sizes: dict[str, int] | None, source: Path,
           where: str) -> None:
    """Raise :class:`DatasetError` describing what was found when it is not what was expected."""
    for split, labels in (("train", data.train_labels), ("test", data.test_labels)):
        n, k = len(labels), len(data.classes)
        counts = torch.bincount(labels, minlength=k)
        if expected_sizes is not None and n != expected_sizes[split]:
            raise DatasetError(
                f"found {n:,} {split} images in {k} classes in {source}, expected "
                f"{expected_sizes[split]:,}: the copy looks truncated or partial; re-download "
                f"it, or point {where} at a complete copy"
            )
        if expected_sizes is not None and k != len(CIFAR10_CLASSES):
            raise DatasetError(
                f"found {k} classes in {source}, expected {len(CIFAR10_CLASSES)}"
            )
        if (counts == 0).any():
            empty = [data.classes[i] for i in torch.nonzero(counts == 0).flatten().tolist()]
            raise DatasetError(f"{source}: no {split} images for classes {empty}")
