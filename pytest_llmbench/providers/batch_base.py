"""Provider batch APIs behind one small protocol, and the registry of who has one.

A ``BatchAPI`` sends many requests as one provider batch, reports its state
and reads its results back into Completions (or one ProviderError per request
that failed). It is synchronous: the batch coordinator polls from its own
thread, and a batch takes minutes to hours. Results carry no timings: a
batch answer's latency, TTFT and tokens/s are absent, never 0.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError, ProviderError
from pytest_llmbench.providers.base import ChatRequest, Completion

BATCH_APIS: dict[str, str] = {
    "openai": "pytest_llmbench.providers.batch_openai:OpenAIBatch",
    "sim": "pytest_llmbench.providers.batch_openai:OpenAIBatch",
    "anthropic": "pytest_llmbench.providers.batch_anthropic:AnthropicBatch",
    "bedrock": "pytest_llmbench.providers.batch_bedrock:BedrockBatch",
}
"""Providers with a batch API (``sim`` is the simulator's OpenAI-compatible one)."""

DOCUMENTED_DISCOUNT = {"openai": 0.5, "sim": 0.5, "anthropic": 0.5, "bedrock": 0.5}
"""Batch price / live price, as each provider documents it (used when the price table
has no batch price for a model)."""


@dataclass
class BatchStatus:
    """A batch's state as the provider reports it, in common words."""

    state: str  # validating | in_progress | finalizing | cancelling | ended
    provider_status: str  # the provider's own word (completed, expired, Stopped ...)
    total: int = 0
    done: int = 0
    failed: int = 0
    expires_at: float | None = None
    """The provider's deadline (Unix time): the batch expires if not done by then."""
    message: str | None = None
    """Why it ended badly (failed, expired, stopped), as the provider says."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.state == "ended"

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "provider_status": self.provider_status,
                "total": self.total, "done": self.done, "failed": self.failed,
                "expires_at": self.expires_at, "message": self.message}


@dataclass
class BatchResults:
    """What one ended batch answered: per custom id a Completion or a ProviderError."""

    answers: dict[str, Completion | ProviderError] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    """Result lines that could not be read (their request is then missing)."""
    missing_reason: str | None = None
    """Why requests without a result have none (an expired or stopped job, a lost file)."""


class BatchAPI(Protocol):
    """One model's batch endpoint. ``line`` is one request as sent (its size counts
    against ``max_bytes``)."""

    max_requests: int
    max_bytes: int

    def line(self, request: ChatRequest, custom_id: str) -> bytes: ...

    def submit(self, lines: Sequence[bytes], name: str) -> str: ...

    def status(self, batch_id: str) -> BatchStatus: ...

    def results(self, batch_id: str, status: BatchStatus) -> BatchResults: ...

    def cancel(self, batch_id: str) -> None: ...


def supports_batch(provider: str) -> bool:
    return provider in BATCH_APIS


def check_batch_models(models: Sequence[ModelSpec], source: str = "--llmbench-batch") -> None:
    """A usage error naming every model whose provider has no batch API."""
    without = [m.name for m in models if not supports_batch(m.provider)]
    if without:
        raise ConfigError(f"{source}: no batch API for {', '.join(without)} (batch works with "
                          f"the providers {', '.join(sorted(BATCH_APIS))}); run them live or "
                          "set batch: false for them")


def batch_api(spec: ModelSpec, context: dict[str, Any]) -> BatchAPI:
    path = BATCH_APIS.get(spec.provider)
    if path is None:
        raise ConfigError(f"{spec.name}: provider {spec.provider!r} has no batch API")
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)(spec, context)  # type: ignore[no-any-return]


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def malformed(model: str, what: str) -> ProviderError:
    return ProviderError(f"malformed batch result: {what}", model=model, kind="malformed_result",
                         error_type="MalformedResult")


def completion(text: Any, input_tokens: Any, output_tokens: Any, finish: Any,
               raw_usage: dict[str, Any] | None, model: str,
               reasoning: str | None = None) -> Completion:
    """A batch answer as a Completion: tokens from the provider's usage, no timings.
    Anything but a string answer and whole token counts is a malformed result."""
    if not isinstance(text, str):
        raise malformed(model, "the answer has no text")
    for name, value in (("input tokens", input_tokens), ("output tokens", output_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise malformed(model, f"{name} are not a count ({value!r})")
    return Completion(text=text, input_tokens=input_tokens, output_tokens=output_tokens,
                      ttft_s=None, latency_s=None, finish_reason=finish if isinstance(
                          finish, str) else None, raw_usage=raw_usage, reasoning=reasoning,
                      batch=True)


STATUS_KINDS = {400: "bad_request", 401: "auth", 403: "auth", 404: "not_found",
                413: "bad_request", 422: "bad_request", 429: "rate_limited"}


def status_error(model: str, status: Any, error_type: str, message: str) -> ProviderError:
    kind = STATUS_KINDS.get(status) if isinstance(status, int) else None
    if kind is None:
        kind = "server_error" if isinstance(status, int) and status >= 500 else "other"
    return ProviderError(message or f"HTTP {status}", model=model, kind=kind,
                         error_type=error_type)


def read_result_lines(data: bytes, out: BatchResults, model: str, id_key: str,
                      answer: Callable[[dict[str, Any]], Completion | ProviderError]) -> None:
    """Every JSONL result line of ``data`` into ``out``. A line without JSON or an id is
    set aside as unreadable; an answer that cannot be read costs only its own request."""
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
            custom_id = line[id_key]
            if not isinstance(custom_id, str):
                raise TypeError(id_key)
        except (ValueError, KeyError, TypeError):
            out.unreadable.append(raw[:200].decode("utf-8", "replace"))
            continue
        try:
            out.answers[custom_id] = answer(line)
        except ProviderError as exc:
            out.answers[custom_id] = exc
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            out.answers[custom_id] = malformed(model, f"{type(exc).__name__}: {exc}")
