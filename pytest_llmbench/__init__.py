"""pytest-llmbench: LLM benchmarks as parametrized pytest tests.

Only light names are re-exported here; heavy modules load lazily.
"""

from __future__ import annotations

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import (
    ConfigError,
    LLMBenchError,
    ProviderError,
    SuiteError,
    WrongAnswer,
)
from pytest_llmbench.providers.base import (
    ChatRequest,
    Completion,
    Provider,
    register_provider,
)
from pytest_llmbench.scoring.base import Score, register_scorer, scorer
from pytest_llmbench.suites.model import Case, Suite
from pytest_llmbench.suites.variants import Variant

__all__ = [
    "Case",
    "ChatRequest",
    "Completion",
    "ConfigError",
    "LLMBenchError",
    "ModelSpec",
    "Provider",
    "ProviderError",
    "Score",
    "Suite",
    "SuiteError",
    "Variant",
    "WrongAnswer",
    "register_provider",
    "register_scorer",
    "scorer",
]
