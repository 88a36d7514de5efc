"""convbook.training.loader: crops, flips and reproducible epochs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from convbook.inference import predict
from convbook.training.loader import TrainLoader, crop, downscale


def test_crop_takes_each_image_window_by_hand():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (5, 3, 10, 12), generator=g, dtype=torch.uint8)
    dy, dx = torch.tensor([0, 1, 2, 3, 4]), torch.tensor([4, 0, 3, 1, 2])
    out = crop(x, dy, dx, (6, 8))
    for i in range(5):
        assert torch.equal(out[i], x[i, :, dy[i]:dy[i] + 6, dx[i]:dx[i] + 8])


def loader(flip="alternating", n=20, translate=2, batch_size=6, seed=0):
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (n, 3, 8, 8), generator=g, dtype=torch.uint8)
    labels = torch.arange(n)  # label = index, so each batch tells which images it holds
    return images, TrainLoader(images, labels, batch_size, torch.zeros(3), torch.ones(3),
                               translate=translate, flip=flip, seed=seed)


def test_every_image_once_per_epoch_and_the_same_epoch_twice():
    _, tl = loader()
    assert len(tl) == 4  # 20 images, 6 a batch: 6, 6, 6, 2
    ys = torch.cat([y for _, y in tl.epoch(0)])
    assert sorted(ys.tolist()) == list(range(20))
    a, b = list(tl.epoch(3)), list(tl.epoch(3))
    assert all(torch.equal(x1, x2) and torch.equal(y1, y2) for (x1, y1), (x2, y2) in zip(a, b))
    assert not torch.equal(torch.cat([y for _, y in tl.epoch(4)]), ys)


def test_starting_mid_epoch_gives_the_rest_of_the_epoch():
    _, tl = loader()
    full = list(tl.epoch(2))
    tail = list(tl.epoch(2, start=2))
    assert len(tail) == 2
    for (x1, y1), (x2, y2) in zip(full[2:], tail):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    with pytest.raises(ValueError, match=r"start must be <= 4, got 5"):
        next(tl.epoch(0, start=5))


def test_batches_are_shifted_flipped_windows_of_the_images():
    images, tl = loader(translate=1)
    padded = F.pad(images.float(), (1,) * 4, mode="reflect")
    for x, y in tl.epoch(0):
        for xi, i in zip(x, y):
            windows = [padded[i, :, a:a + 8, b:b + 8] for a in range(3) for b in range(3)]
            assert any(torch.equal(xi, w / 255) or torch.equal(xi, w.flip(2) / 255)
                       for w in windows)


def mirrored(images, x, y):
    """Which images of a batch came out mirrored (no shifts: translate=0)."""
    return {int(i): torch.equal(xi, images[i].flip(2).float() / 255) and
            not torch.equal(xi, images[i].float() / 255) for xi, i in zip(x, y)}


def test_alternating_flip_shows_each_image_both_ways_in_two_epochs():
    images, tl = loader(flip="alternating", translate=0)
    e0 = {k: v for b in tl.epoch(0) for k, v in mirrored(images, *b).items()}
    e1 = {k: v for b in tl.epoch(1) for k, v in mirrored(images, *b).items()}
    e2 = {k: v for b in tl.epoch(2) for k, v in mirrored(images, *b).items()}
    assert all(e0[i] != e1[i] for i in range(20)) and e0 == e2
    assert 0 < sum(e0.values()) < 20


def test_no_flip_and_errors():
    images, tl = loader(flip="none", translate=0)
    assert not any(v for b in tl.epoch(0) for v in mirrored(images, *b).values())
    with pytest.raises(ValueError, match="flip must be one of"):
        loader(flip="vertical")
    with pytest.raises(ValueError, match="images and labels must have the same length"):
        TrainLoader(torch.zeros(3, 3, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.long),
                    2, torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        loader(batch_size=0)


def test_downscale_shrinks_whole_images_and_keeps_what_is_uniform():
    x = torch.full((2, 3, 32, 32), 0.7)
    y = downscale(x, 0.75)
    assert y.shape == (2, 3, 24, 24)
    torch.testing.assert_close(y, torch.full_like(y, 0.7))  # a uniform image stays uniform
    assert downscale(x, 1.0) is x  # scale 1: the images as they are, no copy
    # shrinking by two averages each 2×2 block with its neighbours: a checkerboard of ±1
    # (the finest pattern there is) nearly vanishes, where plain subsampling would keep it
    board = (torch.arange(8)[:, None] + torch.arange(8)).remainder(2).float() * 2 - 1
    small = downscale(board.expand(1, 1, 8, 8), 0.5)
    assert small.shape == (1, 1, 4, 4) and small.abs().max() < 0.3
    assert board[::2, ::2].abs().min() == 1
    assert downscale(torch.zeros(1, 1, 5, 7), 0.5).shape == (1, 1, 2, 4)  # round(2.5), round(3.5)


def test_an_epoch_at_a_smaller_scale_is_the_same_epoch_shrunk():
    _, tl = loader(n=12, batch_size=5)
    for (x_full, y_full), (x_small, y_small) in zip(tl.epoch(1), tl.epoch(1, scale=0.5)):
        assert x_small.shape[2:] == (4, 4) and torch.equal(y_full, y_small)
        torch.testing.assert_close(x_small, downscale(x_full, 0.5))
    with pytest.raises(ValueError, match=r"scale must be in \(0, 1\], got 1.5"):
        next(tl.epoch(0, scale=1.5))


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        (dict(std=torch.tensor([0.2, 0.0, 0.2])), ValueError, "std must be > 0 in every channel"),
        (dict(mean=torch.tensor([0.5, float("nan"), 0.5])), ValueError, "mean must be finite"),
        (dict(std=torch.tensor([0.2, float("inf"), 0.2])), ValueError, "std must be finite"),
        (dict(mean=torch.zeros(4)), ValueError,
         r"mean must have one value per channel of images \(3\), got 4"),
        (dict(images=torch.zeros(6, 3, 8, 8)), TypeError,
         "images must be a uint8 tensor \\(0..255\\), got torch.float32"),
    ],
)
def test_bad_statistics_or_images_are_refused_when_the_loader_is_made(changes, error, message):
    # checked once, where the loader is built, not at its first batch
    arguments = dict(images=torch.zeros(6, 3, 8, 8, dtype=torch.uint8),
                     labels=torch.arange(6), batch_size=2, mean=torch.full((3,), 0.5),
                     std=torch.full((3,), 0.25)) | changes
    with pytest.raises(error, match=message):
        TrainLoader(**arguments)


class _Reads(TorchFunctionMode):
    """Records the torch calls that read a tensor's values back to Python (on a GPU, each
    waits for the device to finish its queue)."""

    READS = frozenset({"item", "tolist", "__bool__", "__float__", "__int__", "__index__"})

    def __init__(self):
        super().__init__()
        self.reads = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in self.READS:
            self.reads.append(func.__name__)
        return func(*args, **(kwargs or {}))


def test_the_batches_of_an_epoch_read_nothing_back():
    # normalising each batch must not re-check mean and std (torch.isfinite(...).all() in
    # an if: a wait for the GPU per batch); the loader checked them once
    _, tl = loader(n=12, batch_size=4)
    with _Reads() as mode:
        batches = list(tl.epoch(0, scale=0.5))
    assert len(batches) == 3 and mode.reads == []


def test_predicting_batch_by_batch_reads_nothing_back_but_the_logits():
    images = torch.randint(0, 256, (12, 3, 4, 4), dtype=torch.uint8)
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 5))
    mean, std = torch.full((3,), 0.5), torch.full((3,), 0.25)
    _ = predict(model, images[:1], mean, std, batch_size=4, device="cpu")  # warm up
    with _Reads() as mode:
        logits = predict(model, images, mean, std, batch_size=4, device="cpu")
    checks_once = mode.reads
    assert logits.shape == (12, 5)
    with _Reads() as mode:
        predict(model, images[:4], mean, std, batch_size=4, device="cpu")
    assert mode.reads == checks_once  # the same reads for 1 batch as for 3: none per batch
    with pytest.raises(ValueError, match="std must be > 0 in every channel"):
        predict(model, images, mean, torch.zeros(3), batch_size=4, device="cpu")
