"""`python -m pytest_llmbench.cli`: the `llmbench` command."""

from __future__ import annotations

import sys

from pytest_llmbench.cli import main

sys.exit(main())
