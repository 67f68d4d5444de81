"""Records, run directories, summaries, statistics and gates."""

from __future__ import annotations
