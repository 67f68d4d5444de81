"""Stash keys shared by the pytest-facing modules."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_llmbench.plugin.recorder import ItemRecorder
from pytest_llmbench.plugin.session import LLMBenchSession

SESSION = pytest.StashKey[LLMBenchSession]()
RECORDER = pytest.StashKey[ItemRecorder]()
SIM_PROCESS = pytest.StashKey[Any]()


def bench_session(config: pytest.Config) -> LLMBenchSession:
    return config.stash[SESSION]
