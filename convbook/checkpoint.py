"""Another name of :mod:`convbook.training.checkpoint`, kept for scripts and chapters."""
import importlib
import sys

sys.modules[__name__] = importlib.import_module("convbook.training.checkpoint")
