"""CIFAR-10 as uint8 tensors: find it, decode it once, cache it, and feed it fast.

The modules, each using only those listed after it::

    sources   ``cifar10``, ``DatasetError``: finding and decoding a data set (ImageFolder
              directories, ``.tar.gz`` archives, ``cifar-10-batches-py``, torchvision's
              download)
    cache     ``cache_dir``: the decoded ``.pt`` cache, its fingerprints and clean-up
    dataset   ``ImageData``, ``channel_stats``: the data set as tensors, its statistics
    batching  ``batches``, ``num_batches``, ``normalize``, ``check_mean_std``,
              ``normalize_unchecked``, ``reflect_pad``: batches on the training device
"""

from convbook.data.batching import (
    batches,
    check_mean_std,
    normalize,
    normalize_unchecked,
    num_batches,
    reflect_pad,
)
from convbook.data.cache import cache_dir
from convbook.data.dataset import ImageData, channel_stats
from convbook.data.sources import CIFAR10_CLASSES, CIFAR10_SIZES, DatasetError, cifar10

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_SIZES",
    "DatasetError",
    "ImageData",
    "batches",
    "cache_dir",
    "channel_stats",
    "check_mean_std",
    "cifar10",
    "normalize",
    "normalize_unchecked",
    "num_batches",
    "reflect_pad",
]
