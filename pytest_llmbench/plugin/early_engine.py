"""Start the engine's child process as soon as pytest has parsed the command line.

The child's SDK import (~0.5 s for openai) is most of a one-item run's start-up; begun here,
it overlaps pytest loading its plugins and configuring instead of following them. The
providers are read from ``--llmbench-models`` / ``$BENCHMARK_MODELS`` as written (text before
the first colon, else ``--llmbench-provider``); the run's engine adopts the child and asks it
for any SDK this guess missed. Nothing is started by xdist's controller (its workers start
their own), for ``--llmbench-engine thread`` (option, env or ini), ``--collect-only``, or a
run without models on its command line or in ``$BENCHMARK_MODELS``; a child the run does not
adopt (``engine: thread`` in llmbench.yaml, a usage error) is ended at unconfigure.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest


def maybe_spawn(early_config: pytest.Config) -> None:
    known: Any = early_config.known_args_namespace
    models = getattr(known, "llmbench_models", None) or os.environ.get("BENCHMARK_MODELS")
    engine = getattr(known, "llmbench_engine", None) or os.environ.get("LLMBENCH_ENGINE") \
        or early_config.getini("llmbench_engine") or None
    if not models or engine not in (None, "process") or getattr(known, "numprocesses", None) \
            or getattr(known, "tx", None) or getattr(known, "collectonly", False):
        return
    from pytest_llmbench.calls import engine_spawn  # noqa: PLC0415 - light: spawn before imports

    specs = [spec.strip() for spec in str(models).split(",") if spec.strip()]
    if all(spec.partition(":")[0] in engine_spawn.LOCAL_PROVIDERS for spec in specs):
        return  # nothing the child would call

    engine_spawn.spawn_early()  # its interpreter starts while this one imports the rest
    from pytest_llmbench.calls.engine_process import goes_remote  # noqa: PLC0415
    from pytest_llmbench.config import with_provider  # noqa: PLC0415
    from pytest_llmbench.providers.base import known_providers  # noqa: PLC0415

    default = getattr(known, "llmbench_provider", None) or os.environ.get("BENCHMARK_PROVIDER")
    providers = known_providers()
    named = {with_provider(spec, default, providers).partition(":")[0] for spec in specs}
    guessed = sorted(provider for provider in named if goes_remote(provider))
    engine_spawn.warm_early(guessed)  # none (bare ids, a local default): ended at unconfigure


def discard() -> None:
    """End a child no engine adopted (the run stopped before its first call)."""
    engine_spawn = sys.modules.get("pytest_llmbench.calls.engine_spawn")
    if engine_spawn is not None:
        engine_spawn.discard_early()
