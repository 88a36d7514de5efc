"""Maintainer scripts, run from the repository root and not installed with the package:
``build_book.py`` (``make book``) and ``launch_links.py`` (Binder/Colab links).  The tests
import them as ``tools.build_book`` and ``tools.launch_links``."""
