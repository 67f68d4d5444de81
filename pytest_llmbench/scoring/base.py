"""Score, the scorer protocol and the scorer registry.

A scorer is any callable ``(response_text, case) -> Score`` (or a bool or a
number, normalised here). Named in a suite as ``exact``, ``{name: regex, ...}``
or ``package.module:function``. Users register their own with ``@scorer("name")``
(a function ``(response, case, **options)``) or ``register_scorer(name, factory)``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.scoring.context import ScoringContext
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


def register_scorer(name: str, factory: ScorerFactory | None = None) -> Any:
    """Register a scorer factory (``factory(**options) -> scorer``); usable as a decorator."""
    if factory is None:
        return lambda f: register_scorer(name, f) or f
    _REGISTRY[name] = factory
    return factory


def scorer(name: str | Callable[..., Any] | None = None) -> Any:
    """Register ``func(response, case, **options)`` as a scorer named ``name``.

    Suite options (``{name: mine, threshold: 0.5}``) are passed as keyword
    arguments; ``@scorer`` alone uses the function's name.
    """
    if callable(name):
        return scorer(None)(name)

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        register_scorer(name or func.__name__, functools.partial(_bind, func))
        func.__llmbench_scorer__ = True  # type: ignore[attr-defined]
        return func

    return wrap


def _bind(func: Callable[..., Any], **options: Any) -> Scorer:
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


def make_scorer(spec: Any, source: str = "suite", context: ScoringContext | None = None) -> Scorer:
    """Resolve a suite's ``scorer:`` value to a callable.

    A factory with a ``context`` parameter gets the run's ScoringContext (model calls,
    judge model, sandbox settings); others get only their options.
    """
    from pytest_llmbench.scoring import (  # noqa: F401, PLC0415 - registers built-ins
        choice,
        code,
        ifeval,
        judge,
        numeric,
        text,
    )

    options: dict[str, Any] = {}
    if callable(spec):
        return spec  # type: ignore[no-any-return]
    if isinstance(spec, dict):
        options = {k: v for k, v in spec.items() if k != "name"}
        spec = spec.get("name")
    if not isinstance(spec, str) or not spec:
        raise ConfigError(f"{source}: scorer must be a name, module:function or {{name: ...}}")
    if spec in _REGISTRY:
        factory = _REGISTRY[spec]
        if "context" in inspect.signature(factory).parameters:
            options["context"] = context if context is not None else ScoringContext()
        try:
            return factory(**options)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: scorer {spec!r}: {exc}") from None
    if ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            func = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"{source}: cannot import scorer {spec!r}: {exc}") from None
        if getattr(func, "__llmbench_scorer__", False):
            factory: Callable[..., Any] = functools.partial(_bind, func)
        elif options:
            factory = func  # an undecorated function given options is a factory
        else:
            return func  # type: ignore[no-any-return]
        try:
            return factory(**options)  # type: ignore[no-any-return]
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: scorer {spec!r}: {exc}") from None
    raise ConfigError(f"{source}: unknown scorer {spec!r} (known: {', '.join(sorted(_REGISTRY))}, "
                      "or module:function)")
