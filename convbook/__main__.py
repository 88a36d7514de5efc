"""``python -m convbook ...`` runs the command line (as ``torchrun -m convbook`` needs)."""

import sys

from convbook.cli import main

sys.exit(main())
