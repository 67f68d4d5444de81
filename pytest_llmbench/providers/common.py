"""Small helpers the SDK providers share: settings, key lookup, stream timing."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ProtocolError
from pytest_llmbench.providers.base import Completion
from pytest_llmbench.providers.errors_map import missing_key
from pytest_llmbench.providers.reasoning import ThinkSplitter, think_mode
from pytest_llmbench.redaction import remember_secret

EVENT_STREAM = "text/event-stream"


def api_key(spec: ModelSpec, env_var: str | None, required: bool, placeholder: str = "none") -> str:
    """The key from settings, else the env var; a missing required key fails at once."""
    key = spec.settings.get("api_key") or (os.environ.get(env_var) if env_var else None)
    if key:
        remember_secret(str(key))
        return str(key)
    if required:
        raise missing_key(spec.name, env_var)
    return placeholder


def headers(spec: ModelSpec) -> dict[str, str] | None:
    """Extra request headers from the ``headers`` setting (e.g. for the simulator's faults)."""
    value = spec.settings.get("headers")
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None


async def require_stream(response: Any, model: str, expected: str = EVENT_STREAM) -> None:
    """Raise ProtocolError (with the start of the body) when a streamed request's 200
    response is not a stream of ``expected`` content type: an HTML error page, JSON."""
    ctype = str(response.headers.get("content-type") or "")
    if expected in ctype.lower():
        return
    try:
        body = await response.aread()
    except Exception:  # noqa: BLE001 - the content type alone already says it is wrong
        body = b""
    raise ProtocolError(f"a streamed request was answered with {ctype or 'no content type'}, "
                        f"not {expected}", model=model, received=body)


def unfinished(model: str, events: int, finish_event: str, last: object = None) -> ProtocolError:
    """The error of a stream that ended (or held no event) before its finish event."""
    what = "no event" if events == 0 else f"{events} event" + ("s" if events > 1 else "")
    return ProtocolError(f"the stream ended without its {finish_event} after {what}",
                         model=model, received=None if last is None else str(last))


WARM_URL = "http://127.0.0.1:9"
"""Where warm-up clients point; they never send a request."""


def warm_async_client(client: Any, touch: Callable[[Any], object]) -> None:
    """Touch a throwaway async SDK client's resources (``touch``) and close it under anyio,
    which loads anyio's asyncio backend: the imports a first call would otherwise pay."""
    import anyio  # noqa: PLC0415 - the SDKs' own dependency

    touch(client)
    anyio.run(client.close, backend="asyncio")


def estimate_tokens(text: str) -> int:
    """A whitespace estimate, only used when the server reports no usage."""
    return len(text.split())


@dataclass
class StreamClock:
    """Timestamps of one streamed call: TTFT at the first content token, gaps between
    content chunks, E2E at the last byte (vLLM benchmark_serving definitions).

    Thinking (``reasoning()``, or ``<think>`` text found in content when
    ``think_tags`` is set) is collected apart and timed by its first token only.
    """

    start: float = field(default_factory=time.perf_counter)
    ttft: float | None = None
    last: float | None = None
    gaps: list[float] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    reasoning_ttft: float | None = None
    think_tags: str = "off"
    _splitter: ThinkSplitter | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.think_tags != "off":
            self._splitter = ThinkSplitter(self._content, self.reasoning,
                                           inside=self.think_tags == "open")

    def token(self, text: str) -> None:
        """A piece of streamed content (the answer, or ``<think>`` text when parsed)."""
        if self._splitter is not None:
            self._splitter.feed(text)
        else:
            self._content(text)

    def _content(self, text: str) -> None:
        now = time.perf_counter()
        if self.ttft is None:
            self.ttft = now - self.start
        elif self.last is not None:
            self.gaps.append(now - self.last)
        self.last = now
        self.parts.append(text)

    def reasoning(self, text: str) -> None:
        """A piece of thinking; its first one sets ``reasoning_ttft``."""
        if self.reasoning_ttft is None:
            self.reasoning_ttft = time.perf_counter() - self.start
        self.thinking.append(text)

    def finish(self, *, input_tokens: int | None, output_tokens: int | None, finish: str | None,
               raw_usage: dict[str, Any] | None, prompt: str,
               reasoning_tokens: int | None = None, end: float | None = None) -> Completion:
        if self._splitter is not None:
            self._splitter.flush()
        text = "".join(self.parts)
        thought = "".join(self.thinking) or None
        latency = (time.perf_counter() if end is None else end) - self.start
        estimated = output_tokens is None
        if estimated:
            output_tokens = estimate_tokens(text) + (estimate_tokens(thought) if thought else 0)
            input_tokens = input_tokens if input_tokens is not None else estimate_tokens(prompt)
        reasoning_estimated = False
        if thought and not reasoning_tokens:  # servers that stream thinking often report 0
            reasoning_tokens, reasoning_estimated = estimate_tokens(thought), True
            if output_tokens is not None:
                reasoning_tokens = min(reasoning_tokens, output_tokens)
        return Completion(text=text, input_tokens=input_tokens, output_tokens=output_tokens,
                          tokens_estimated=estimated, ttft_s=self.ttft, latency_s=latency,
                          itl_s=self.gaps, finish_reason=finish,
                          raw_usage=raw_usage, reasoning=thought,
                          reasoning_tokens=reasoning_tokens or (0 if thought else None),
                          reasoning_tokens_estimated=reasoning_estimated,
                          reasoning_ttft_s=self.reasoning_ttft)


def think_tags(spec: ModelSpec) -> str:
    """The ``think_tags`` setting (see :mod:`providers.reasoning`)."""
    return think_mode(spec.settings.get("think_tags"), spec.name)


def prompt_text(messages: list[dict[str, Any]]) -> str:
    return " ".join(str(m.get("content", "")) for m in messages)


def split_system(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """The system prompt apart from the turns (Anthropic Messages and Bedrock Converse take it
    apart; here so that Bedrock need not import the anthropic SDK)."""
    system = [str(m.get("content", "")) for m in messages if m.get("role") == "system"]
    turns = [m for m in messages if m.get("role") != "system"]
    return ("\n\n".join(system) if system else None), turns


def anthropic_usage_event(kind: str, event: Any, usage: dict[str, Any], stop: Any) -> Any:
    """Fold an Anthropic stream's ``message_start`` / ``message_delta`` into ``usage`` (the
    counts arrive in both) and return the stop reason so far."""
    if kind == "message_start":
        usage.update(event.message.usage.model_dump(exclude_none=True))
    elif kind == "message_delta":
        stop = event.delta.stop_reason or stop
        if event.usage is not None:
            usage.update(event.usage.model_dump(exclude_none=True))
    return stop
