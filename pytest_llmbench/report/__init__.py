"""Renderers of run results: files (JSON, CSV) and the terminal table."""

from __future__ import annotations
