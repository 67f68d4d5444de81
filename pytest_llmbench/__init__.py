"""pytest-llmbench: LLM benchmarks as parametrized pytest tests.

The public names load on first use (PEP 562): the pytest11 entry point imports this
package in every pytest run, and a run without benchmarks must not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "ModelSpec": "pytest_llmbench.config",
    "ConfigError": "pytest_llmbench.errors", "LLMBenchError": "pytest_llmbench.errors",
    "ProviderError": "pytest_llmbench.errors", "SuiteError": "pytest_llmbench.errors",
    "WrongAnswer": "pytest_llmbench.errors",
    "ChatRequest": "pytest_llmbench.providers.base", "Completion": "pytest_llmbench.providers.base",
    "Provider": "pytest_llmbench.providers.base",
    "register_provider": "pytest_llmbench.providers.base",
    "Score": "pytest_llmbench.scoring.base", "register_scorer": "pytest_llmbench.scoring.base",
    "scorer": "pytest_llmbench.scoring.base",
    "Case": "pytest_llmbench.suites.model", "Suite": "pytest_llmbench.suites.model",
    "Variant": "pytest_llmbench.suites.variants",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_llmbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


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
