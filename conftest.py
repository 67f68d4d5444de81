"""Root conftest: shared helpers for the plugin's own tests (pytester is enabled in
pyproject's addopts)."""

from __future__ import annotations
