"""The shipped network's recorded accuracy, measured again on all 10,000 CIFAR-10 test
images, and its samples found among them (slow: decodes the real archive)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from convbook import data, models
from convbook.inference import predict
from convbook.training.fit import data_signature

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz"


def _cifar10() -> data.ImageData:
    path = os.environ.get("CONVBOOK_DATA") or str(SHARED)
    assert Path(path).exists(), (
        f"the CIFAR-10 copy {path} is missing: set CONVBOOK_DATA to a CIFAR-10 ImageFolder "
        "directory or .tar.gz (CI uses ../shared/data/cifar10-jpg.tar.gz)"
    )
    return data.cifar10(path)


def test_recorded_accuracy_on_all_10000_test_images():
    info = models.pretrained_info()
    cifar = _cifar10()
    assert data_signature(cifar) == info["data"]["signature"]  # the data it was trained on
    model = models.pretrained()
    mean, std = torch.tensor(info["mean"]), torch.tensor(info["std"])
    torch.testing.assert_close((mean, std), cifar.mean_std())
    # fp32 on the CPU, as recorded: "auto" would pick bf16 on CPUs that have it
    logits = predict(model, cifar.test_images, mean, std, device="cpu", precision="fp32")
    correct = int((logits.argmax(1) == cifar.test_labels).sum())
    ev = info["evaluation"]
    assert (ev["images"], ev["precision"], ev["device"]) == (10_000, "fp32", "cpu")
    # Another CPU may round float32 sums differently (about 1e-6 of a logit): only an image
    # whose two best logits are nearly tied could change its answer, so the count may differ
    # from the recorded one by at most the number of such images (none or a few).
    top2 = logits.topk(2, dim=1).values
    near_ties = int(((top2[:, 0] - top2[:, 1]) < 1e-3).sum())
    assert abs(correct - ev["correct"]) <= near_ties, (
        f"{correct} of 10,000 right, the JSON records {ev['correct']}, and only {near_ties} "
        "answers are close enough to a tie to differ between CPUs"
    )
    assert ev["accuracy"] == ev["correct"] / 10_000
    assert ev["accuracy"] > 0.8  # the default recipe's 85%, not a half-trained network
    # the shipped samples are the test images whose indices the JSON lists
    images, labels = models.pretrained_samples()
    index = torch.tensor(info["samples"]["test_indices"])
    assert torch.equal(images, cifar.test_images[index])
    assert torch.equal(labels, cifar.test_labels[index])
