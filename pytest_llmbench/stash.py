"""Stash keys shared by the pytest-facing modules."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_llmbench.recorder import ItemRecorder
from pytest_llmbench.session import LLMBenchSession

SESSION = pytest.StashKey[LLMBenchSession]()
RECORDER = pytest.StashKey[ItemRecorder]()
SIM_PROCESS = pytest.StashKey[Any]()


def bench_session(config: pytest.Config) -> LLMBenchSession:
    return config.stash[SESSION]
