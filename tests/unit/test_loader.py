"""convbook.training.loader: crops, flips and reproducible epochs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

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
