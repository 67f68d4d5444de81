"""How wide llmbench's terminal lines and tables may be."""

from __future__ import annotations

import os
from typing import Any

DEFAULT_WIDTH = 100  # a CI log or a pipe: no terminal to ask


def terminal_width(reporter: Any) -> int:
    """The terminal's width on a terminal; ``$COLUMNS`` when set; else 100 columns."""
    tw = getattr(reporter, "_tw", None)
    if tw is not None and getattr(tw, "isatty", lambda: False)():
        return int(tw.fullwidth)
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else DEFAULT_WIDTH
