"""The scorer registry filled with the built-in scorers, and ``make_scorer`` over it.

Built-ins register themselves through ``scoring.base.register_scorer`` when imported;
this module is the one place that imports them all, so ``base`` imports none of them.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any, cast

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.scoring import (  # noqa: F401 - imported to register the built-ins
    choice,
    code,
    ifeval,
    judge,
    numeric,
    text,
)
from pytest_llmbench.scoring.base import Scorer, bind_options, registered_scorers
from pytest_llmbench.scoring.context import ScoringContext


def make_scorer(spec: Any, source: str = "suite", context: ScoringContext | None = None) -> Scorer:
    """Resolve a suite's ``scorer:`` value to a callable.

    A factory with a ``context`` parameter gets the run's ScoringContext (model calls,
    judge model, sandbox settings); others get only their options.
    """
    registry = registered_scorers()
    options: dict[str, Any] = {}
    if callable(spec):
        return spec  # type: ignore[no-any-return]
    if isinstance(spec, dict):
        options = {k: v for k, v in spec.items() if k != "name"}
        spec = spec.get("name")
    if not isinstance(spec, str) or not spec:
        raise ConfigError(f"{source}: scorer must be a name, module:function or {{name: ...}}")
    if spec in registry:
        factory = registry[spec]
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
            made: Callable[..., Any] = functools.partial(bind_options, func)
        elif options:
            made = func  # an undecorated function given options is a factory
        else:
            return cast(Scorer, func)
        try:
            return cast(Scorer, made(**options))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: scorer {spec!r}: {exc}") from None
    raise ConfigError(f"{source}: unknown scorer {spec!r} (known: {', '.join(sorted(registry))}, "
                      "or module:function)")
