"""Another name of :mod:`convbook.training.distributed`, kept for scripts and chapters."""
import importlib
import sys

sys.modules[__name__] = importlib.import_module("convbook.training.distributed")
