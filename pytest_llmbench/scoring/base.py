"""Score, the scorer protocol and the scorer registry.

A scorer is any callable ``(response_text, case) -> Score`` (or a bool or a
number, normalised here). Named in a suite as ``exact``, ``{name: regex, ...}``
or ``package.module:function``. Users register their own with ``@scorer("name")``
(a function ``(response, case, **options)``) or ``register_scorer(name, factory)``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from pytest_llmbench.suites.model import Case


@dataclass
class Score:
    """A verdict in [0, 1]; ``details`` says how it was reached (extracted answer...)."""

    value: float
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)
    cost_usd: float | None = None  # what the scorer's own model calls cost (a judge)

    @property
    def extraction_failed(self) -> bool:
        return bool(self.details.get("extraction_failed"))


Scorer = Callable[[str, Case], Any]
ScorerFactory = Callable[..., Scorer]

_REGISTRY: dict[str, ScorerFactory] = {}


def registered_scorers() -> dict[str, ScorerFactory]:
    """The registry itself (name -> factory), filled by ``register_scorer``."""
    return _REGISTRY


F = TypeVar("F", bound=Callable[..., Any])


@overload
def register_scorer(name: str) -> Callable[[F], F]: ...
@overload
def register_scorer(name: str, factory: F) -> F: ...
def register_scorer(name: str, factory: F | None = None) -> F | Callable[[F], F]:
    """Register a scorer factory (``factory(**options) -> scorer``); usable as a decorator."""
    if factory is None:
        def decorate(f: F) -> F:
            return register_scorer(name, f)

        return decorate
    _REGISTRY[name] = factory
    return factory


@overload
def scorer(name: F) -> F: ...
@overload
def scorer(name: str | None = None) -> Callable[[F], F]: ...
def scorer(name: str | F | None = None) -> F | Callable[[F], F]:
    """Register ``func(response, case, **options)`` as a scorer named ``name``.

    Suite options (``{name: mine, threshold: 0.5}``) are passed as keyword
    arguments; ``@scorer`` alone uses the function's name.
    """
    if callable(name):
        return scorer(None)(name)

    def wrap(func: F) -> F:
        register_scorer(name or func.__name__, functools.partial(bind_options, func))
        func.__llmbench_scorer__ = True  # type: ignore[attr-defined]
        return func

    return wrap


def bind_options(func: Callable[..., Any], **options: Any) -> Scorer:
    if not options:
        return func
    inspect.signature(func).bind(None, None, **options)  # TypeError names a bad option
    return functools.partial(func, **options)


def expected_values(case: Case) -> list[Any]:
    """The case's accepted answers (a list means "any of"), None dropped."""
    value = case.expected
    values = value if isinstance(value, list) else [value]
    return [v for v in values if v is not None]


def verdict(ok: bool, details: dict[str, Any]) -> Score:
    return Score(1.0 if ok else 0.0, ok, details)


def as_score(result: Any) -> Score:
    if isinstance(result, Score):
        return result
    if isinstance(result, bool):
        return Score(1.0 if result else 0.0, result)
    if isinstance(result, int | float):
        return Score(float(result), float(result) >= 1.0)
    raise TypeError(f"a scorer must return Score, bool or a number, not {type(result).__name__}")
