"""Small helpers the SDK providers share: settings, key lookup, stream timing."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.providers.base import Completion
from pytest_llmbench.providers.errors_map import missing_key


def api_key(spec: ModelSpec, env_var: str | None, required: bool, placeholder: str = "none") -> str:
    """The key from settings, else the env var; a missing required key fails at once."""
    key = spec.settings.get("api_key") or (os.environ.get(env_var) if env_var else None)
    if key:
        return str(key)
    if required:
        raise missing_key(spec.name, env_var)
    return placeholder


def headers(spec: ModelSpec) -> dict[str, str] | None:
    """Extra request headers from the ``headers`` setting (e.g. for the simulator's faults)."""
    value = spec.settings.get("headers")
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None


def estimate_tokens(text: str) -> int:
    """A whitespace estimate, only used when the server reports no usage."""
    return len(text.split())


@dataclass
class StreamClock:
    """Timestamps of one streamed call: TTFT at the first content token, gaps between
    content chunks, E2E at the last byte (vLLM benchmark_serving definitions)."""

    start: float = field(default_factory=time.perf_counter)
    ttft: float | None = None
    last: float | None = None
    gaps: list[float] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    def token(self, text: str, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        if self.ttft is None:
            self.ttft = now - self.start
        elif self.last is not None:
            self.gaps.append(now - self.last)
        self.last = now
        self.parts.append(text)

    def finish(self, *, input_tokens: int | None, output_tokens: int | None, finish: str | None,
               raw_usage: dict[str, Any] | None, prompt: str,
               end: float | None = None) -> Completion:
        text = "".join(self.parts)
        latency = (time.perf_counter() if end is None else end) - self.start
        estimated = output_tokens is None
        if estimated:
            output_tokens = estimate_tokens(text)
            input_tokens = input_tokens if input_tokens is not None else estimate_tokens(prompt)
        return Completion(text=text, input_tokens=input_tokens, output_tokens=output_tokens,
                          tokens_estimated=estimated, ttft_s=self.ttft, latency_s=latency,
                          itl_s=self.gaps, finish_reason=finish,
                          raw_usage=raw_usage)


def prompt_text(messages: list[dict[str, Any]]) -> str:
    return " ".join(str(m.get("content", "")) for m in messages)
