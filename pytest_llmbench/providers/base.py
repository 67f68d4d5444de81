"""The Provider protocol, the request/response types and the provider registry.

A provider turns a ChatRequest into a measured Completion. Providers know
nothing of pytest; the engine calls them on its own event loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.results.throughput import decode_rate


@dataclass(frozen=True)
class ChatRequest:
    """What to send: the model, chat messages and generation params.

    ``metadata`` carries hints that are not sent to real APIs (the case id,
    and for in-process test providers the expected answer). ``tools`` (function specs:
    name, description, JSON schema ``parameters``) asks for native tool calling; the
    messages may then hold assistant ``tool_calls`` and ``tool`` results
    (:mod:`providers.tool_calling`), and the reply's calls are ``Completion.tool_calls``.
    """

    model: ModelSpec
    messages: list[dict[str, str]]
    params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    tools: list[dict[str, Any]] | None = None


@dataclass
class Completion:
    """A model's answer and how the call went (times in seconds)."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    tokens_estimated: bool = False
    ttft_s: float | None = None
    latency_s: float | None = None
    itl_s: list[float] = field(default_factory=list)
    finish_reason: str | None = None
    attempts: int = 1
    cost_usd: float | None = None
    raw_usage: dict[str, Any] | None = None
    reasoning: str | None = None
    """A reasoning model's thinking, kept apart from ``text`` (the answer)."""
    reasoning_tokens: int | None = None
    """The part of ``output_tokens`` spent thinking."""
    reasoning_tokens_estimated: bool = False
    reasoning_ttft_s: float | None = None
    """Request sent -> first reasoning token (``ttft_s`` stays the first answer token)."""
    cached: bool = False
    """Answered from the response cache or a recording, not by a call."""
    batch: bool = False
    """Answered by a provider batch: no latency, TTFT or tokens/s (None, never 0)."""
    cost_basis: str | None = None
    """How ``cost_usd`` was priced when it is not the live price (a batch price)."""
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    """The tools the model called (``id``, ``name``, raw JSON ``arguments``), in order."""

    @property
    def output_tps(self) -> float | None:
        """This request's decode rate: (output tokens - 1) / time after the first token of
        the thinking or the answer; None under ``MIN_DECODE_TOKENS`` tokens (see
        ``results.throughput``, the one definition)."""
        starts = [t for t in (self.ttft_s, self.reasoning_ttft_s) if t is not None]
        return decode_rate(self.output_tokens, self.latency_s, min(starts) if starts else None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["output_tps"] = self.output_tps
        return data


class Provider(Protocol):
    """What every provider implements. One instance serves all calls to one model.

    A provider that answers requests with ``tools`` says so with a true
    ``tool_calling`` attribute; the engine refuses such requests to any other."""

    async def complete(self, request: ChatRequest) -> Completion: ...

    async def aclose(self) -> None: ...


ProviderFactory = Callable[[ModelSpec, dict[str, Any]], Provider]
"""Builds a provider for a model; the dict is run context (e.g. the simulator's URL)."""

_REGISTRY: dict[str, ProviderFactory] = {}
_OPENAI = "pytest_llmbench.providers.openai_chat:OpenAIChatProvider"
_BUILTINS: dict[str, str] = {
    "inproc": "pytest_llmbench.providers.inproc:InProcessProvider",
    "sim": "pytest_llmbench.providers.sim:SimProvider",
    "openai": _OPENAI,
    "azure": _OPENAI,
    "together": _OPENAI,
    "groq": _OPENAI,
    "fireworks": _OPENAI,
    "deepinfra": _OPENAI,
    "openrouter": _OPENAI,
    "cerebras": _OPENAI,
    "databricks": _OPENAI,
    "runpod": _OPENAI,
    "anyscale": _OPENAI,
    "lambda": _OPENAI,
    "mistral": _OPENAI,
    "ollama": _OPENAI,
    "vllm": _OPENAI,
    "sglang": _OPENAI,
    "llamacpp": _OPENAI,
    "lmstudio": _OPENAI,
    "openai-compatible": _OPENAI,
    "anthropic": "pytest_llmbench.providers.anthropic_messages:AnthropicProvider",
    "bedrock": "pytest_llmbench.providers.bedrock_converse:BedrockProvider",
    "vertex": "pytest_llmbench.providers.vertex:VertexProvider",
}
_entry_points_loaded = False


_IMPORTED: dict[str, ProviderFactory] = {}
"""Factories found by name (built-ins, entry points): a fresh interpreter finds the same."""


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Register a provider under ``name`` (from a conftest, a plugin or an entry point)."""
    _REGISTRY[name] = factory


def importable_provider(name: str) -> bool:
    """Whether a fresh interpreter builds this provider the same way (a built-in or an entry
    point, not one registered or patched at run time): the engine process can call it."""
    _load_entry_points()
    current = _REGISTRY.get(name)
    return name in _BUILTINS if current is None else _IMPORTED.get(name) is current


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group="pytest_llmbench.providers"):
        if ep.name not in _REGISTRY:
            _REGISTRY[ep.name] = _IMPORTED[ep.name] = ep.load()


def known_providers() -> list[str]:
    _load_entry_points()
    return sorted(set(_REGISTRY) | set(_BUILTINS))


def get_factory(name: str) -> ProviderFactory:
    _load_entry_points()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in _BUILTINS:
        module_name, _, attr = _BUILTINS[name].partition(":")
        import importlib  # noqa: PLC0415 - providers import their SDKs lazily

        factory: ProviderFactory = getattr(importlib.import_module(module_name), attr)
        _REGISTRY[name] = _IMPORTED[name] = factory
        return factory
    raise ConfigError(f"unknown provider {name!r} (known: {', '.join(known_providers())})")


def warm(name: str) -> None:
    """Import ``name``'s SDK and pay its first-use costs now (a factory's optional static
    ``warm()``): paid inside the first calls, they stall the loop while the first wave of
    streams is in flight and stretch its measured gaps. Best effort: a call reports what fails."""
    with contextlib.suppress(Exception):
        hook = getattr(get_factory(name), "warm", None)
        if callable(hook):
            hook()


def check_provider(spec: ModelSpec, source: str = "--llmbench-models") -> None:
    if spec.provider not in known_providers():
        raise ConfigError(f"{source}: unknown provider {spec.provider!r} in {spec.name!r} "
                          f"(known: {', '.join(known_providers())})")
