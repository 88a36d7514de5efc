"""The answer of chapter 4's exercise 6, measured by another route than its self-check.

It depends on the shipped weights, so the tests measure it instead of writing it down:
``test_check_ch04.py`` and ``test_check_answers.py`` share this helper.
"""

from __future__ import annotations

import torch


def pretrained_survivors() -> tuple[int, int, int]:
    """The answer of exercise 6, computed by another route than the check's: the training
    engine's ``predict`` and index-based shifting."""
    from convbook import models
    from convbook.inference import predict

    net, info = models.pretrained(), models.pretrained_info()
    images, labels = models.pretrained_samples()
    mean, std = torch.tensor(info["mean"]), torch.tensor(info["std"])
    shifted = images[..., [1, *range(images.shape[-1] - 1)]]
    before = predict(net, images, mean, std, precision="fp32", device="cpu").argmax(1)
    after = predict(net, shifted, mean, std, precision="fp32", device="cpu").argmax(1)
    return int((before == after).sum()), int((before == labels).sum()), len(labels)
