"""The agent's model: one tool-calling request per turn, through the run's call engine.

Each turn is a :class:`ChatRequest` with ``tools`` and the conversation so far, handed to
the same engine ordinary items use (:mod:`pytest_llmbench.calls.engine`): the run's retry
policy, per-model rate limits, budget, pricing, response cache and record/replay all apply,
keyed on the whole request. The providers speak each API's native tool calling
(:mod:`pytest_llmbench.providers.tool_calling`: OpenAI ``tools`` / ``tool_calls``,
Anthropic ``tool_use`` / ``tool_result``, Bedrock ``toolUse`` / ``toolResult``), streamed
and measured per call. The transcript is kept in one neutral shape (OpenAI-like dicts).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Protocol

from pytest_llmbench.agents.tools import SPECS, ToolCall
from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.providers.base import ChatRequest, Completion

WIRES = ("openai", "anthropic", "bedrock")


@dataclass
class Turn:
    """One model call's reply: its text, its tool calls and how the call went."""

    text: str
    tool_calls: list[ToolCall]
    completion: Completion
    stop: str | None = None
    retries: int = 0


class ToolModel(Protocol):
    spec: ModelSpec

    def step(self, messages: list[dict[str, Any]]) -> Turn: ...

    def close(self) -> None: ...


class Calls(Protocol):
    """What the model needs of the engine: one request answered (``Engine.call``)."""

    def call(self, request: ChatRequest) -> Completion: ...


def wire_of(spec: ModelSpec) -> str:
    """Which format a model speaks: its provider's, or ``settings.wire`` for ``sim:``."""
    if spec.provider == "anthropic":
        return "anthropic"
    if spec.provider == "bedrock":
        return "bedrock"
    if spec.provider == "sim":
        wire = str(spec.settings.get("wire", "openai"))
        if wire not in WIRES:
            raise ConfigError(f"{spec.name}: settings.wire must be one of {', '.join(WIRES)}")
        return wire
    if spec.provider in ("vertex", "inproc"):
        raise ConfigError(f"{spec.name}: agent tasks need native tool calling "
                          "(openai-compatible, anthropic, bedrock or sim models)")
    return "openai"


class EngineToolModel:
    """The agent's model: each turn one engine call with the tools and the conversation.

    ``metadata`` (suite, case id, and ``key_aliases`` for per-run paths) travels with
    every request; the engine never sends it."""

    def __init__(self, spec: ModelSpec, engine: Calls, metadata: dict[str, Any] | None = None,
                 owned: Any = None) -> None:
        wire_of(spec)  # a model without native tool calling: one clear line, before any call
        self.spec = spec
        self.engine = engine
        self.metadata = dict(metadata or {})
        self._owned = owned

    def step(self, messages: list[dict[str, Any]]) -> Turn:
        request = ChatRequest(model=self.spec, messages=copy.deepcopy(messages),
                              params=dict(self.spec.params), tools=SPECS,
                              metadata=dict(self.metadata))
        completion = self.engine.call(request)
        calls = [ToolCall(c["id"], c["name"], c["arguments"]) for c in completion.tool_calls]
        return Turn(completion.text, calls, completion, completion.finish_reason,
                    max(0, completion.attempts - 1))

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None


def make_tool_model(spec: ModelSpec, context: dict[str, Any], retry: RetryPolicy,
                    timeout_s: float, engine: Calls | None = None,
                    metadata: dict[str, Any] | None = None) -> ToolModel:
    """The model for the agent loop: on ``engine`` (the run's), else on an engine of its
    own (closed with the model) built from ``context``, ``retry`` and ``timeout_s``."""
    wire_of(spec)
    owned = None
    if engine is None:
        from pytest_llmbench.calls.engine import Engine  # noqa: PLC0415

        engine = owned = Engine(concurrency=1, timeout=timeout_s, context=context, retry=retry)
    return EngineToolModel(spec, engine, metadata, owned)
