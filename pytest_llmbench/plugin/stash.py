"""Stash keys shared by the pytest-facing modules (light: imported by dormant runs too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_llmbench.plugin.recorder import ItemRecorder  # noqa: F401 - in a string
    from pytest_llmbench.plugin.session import LLMBenchSession  # noqa: F401

SESSION = pytest.StashKey["LLMBenchSession"]()
RECORDER = pytest.StashKey["ItemRecorder"]()
SIM_PROCESS = pytest.StashKey[Any]()
WAKE = pytest.StashKey[Callable[[], None]]()
"""Set while a run is dormant (nothing asked for benchmarks yet): configures it fully."""


def bench_session(config: pytest.Config) -> LLMBenchSession:
    """The run's session; a dormant run is configured on this first need."""
    session = config.stash.get(SESSION, None)
    if session is None and WAKE in config.stash:
        config.stash[WAKE]()
        session = config.stash.get(SESSION, None)
    if session is None:
        raise KeyError("llmbench session")
    return session
