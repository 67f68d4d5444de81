"""Scorers: judge a response against a case, explaining the verdict in ``details``."""

from __future__ import annotations
