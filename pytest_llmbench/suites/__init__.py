"""Suites and cases: YAML suite files, dataset loaders and deterministic sampling.

``Case`` and ``Suite`` load on first use, so asking ``suites.discovery`` whether a YAML
file is a suite (every pytest run with YAML files does) imports nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_llmbench.suites.model import Case, Suite

__all__ = ["Case", "Suite"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from pytest_llmbench.suites import model

        return getattr(model, name)
    raise AttributeError(f"module 'pytest_llmbench.suites' has no attribute {name!r}")
