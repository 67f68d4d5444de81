"""Suites and cases: YAML suite files, dataset loaders and deterministic sampling."""

from __future__ import annotations

from pytest_llmbench.suites.model import Case, Suite

__all__ = ["Case", "Suite"]
