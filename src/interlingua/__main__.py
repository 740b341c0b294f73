"""``python -m interlingua``: the ``interlingua`` command, also as ``torchrun -m interlingua train ...``."""

import sys

from interlingua.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
