"""ScoringContext: what a scorer may use beyond the response and the case.

Scorers stay plain ``(text, case) -> Score`` callables; a scorer factory that
declares a ``context`` parameter receives this object once, when the suite's
scorer is built. It gives model calls through the run's own engine (so a
judge shares its concurrency limits, retries and providers, ``sim:`` models
included), the judge model the run configured, the rendered prompt of a case
and run settings such as the sandbox backend. It knows nothing of pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.suites.model import Case


def _no_calls(requests: Sequence[ChatRequest]) -> list[Completion]:
    raise ConfigError("this scorer needs model calls, but no engine is available here")


@dataclass
class ScoringContext:
    """Model calls and run settings for scorers (the plugin builds one per run)."""

    call_many: Callable[[Sequence[ChatRequest]], list[Completion]] = _no_calls
    judge: ModelSpec | None = None
    resolve_model: Callable[[str], ModelSpec] = ModelSpec.parse
    prompt_of: Callable[[Case], str] = lambda case: case.prompt
    settings: dict[str, Any] = field(default_factory=dict)

    def call(self, request: ChatRequest) -> Completion:
        return self.call_many([request])[0]

    def judge_model(self, name: str | None, source: str) -> ModelSpec:
        """The judge named by a scorer, else the run's (``--llmbench-judge`` or the
        models config's ``judge:``)."""
        if name:
            return self.resolve_model(name)
        if self.judge is None:
            raise ConfigError(f"{source}: the judge scorer needs a model: set 'model:' in the "
                              "scorer, 'judge:' in the models config or --llmbench-judge")
        return self.judge
