"""Shared pytest configuration: hypothesis profiles and determinism."""

import os

import torch
from hypothesis import HealthCheck, settings

# "ci" (default) keeps the suite fast on 2 cores; "thorough" is for local bug hunts:
#   HYPOTHESIS_PROFILE=thorough make test-python
settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

torch.manual_seed(0)
