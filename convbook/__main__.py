"""``python -m convbook ...`` runs the command line (as ``torchrun -m convbook`` needs)."""

import sys

from convbook.cli import main

if __name__ == "__main__":
    sys.exit(main())
