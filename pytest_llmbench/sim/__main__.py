"""``python -m pytest_llmbench.sim``: the same as ``llmbench sim``."""

from __future__ import annotations

import sys

from pytest_llmbench.sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
