"""Anthropic Messages on the wire: request parsing, message bodies, SSE events, errors.

Streams carry ``event:`` lines (anthropic-python drops events without one):
``message_start`` (with input tokens) goes out as soon as the model starts,
then ``content_block_start`` and ``ping``; content deltas follow at the
token deadlines; ``message_delta`` carries the cumulative output tokens.
Errors use ``{"type": "error", "error": {type, message}, "request_id"}``.
"""

from __future__ import annotations

import json
from typing import Any

from pytest_llmbench.sim.prompt import flatten
from pytest_llmbench.sim.respond import Headers
from pytest_llmbench.sim.state import CASE_HEADER, FAULT_HEADER, Plan, SimError, SimRequest, sample_of

_ERRORS: dict[str, tuple[int, str]] = {
    "auth": (401, "authentication_error"),
    "not_found": (404, "not_found_error"),
    "bad_request": (400, "invalid_request_error"),
    "rate_limit": (429, "rate_limit_error"),
    "server_error": (500, "api_error"),
    "unavailable": (503, "api_error"),
    "overloaded": (529, "overloaded_error"),
}

_STOP = {"stop": "end_turn", "length": "max_tokens"}


def api_key(headers: Any) -> str | None:
    """The key from ``x-api-key`` (SDK 0.x/1.x) or ``Authorization: Bearer`` (2.x)."""
    key = headers.get("x-api-key")
    if key:
        return str(key)
    auth = headers.get("authorization")
    if auth and auth.lower().startswith("bearer "):
        return str(auth[7:].strip())
    return None


def parse_messages(headers: Any, body: bytes, model_override: str | None = None) -> SimRequest:
    """A ``SimRequest`` from a Messages body; ``SimError`` if malformed. Vertex puts the
    model in the URL (``model_override``), not the body."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SimError("bad_request", f"invalid JSON in request body: {exc}") from exc
    if not isinstance(data, dict):
        raise SimError("bad_request", "the request body must be a JSON object")
    model = model_override or data.get("model")
    if not isinstance(model, str) or not model:
        raise SimError("bad_request", "model: Field required")
    max_tokens = data.get("max_tokens")
    if max_tokens is None:
        raise SimError("bad_request", "max_tokens: Field required")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise SimError("bad_request", "max_tokens: Input should be a positive integer")
    prompt, echo, input_tokens = flatten(data.get("messages"), data.get("system"))
    return SimRequest(
        model=model, prompt=prompt, echo=echo, input_tokens=input_tokens, max_tokens=max_tokens,
        stream=bool(data.get("stream")), api_key=api_key(headers),
        case_id=headers.get(CASE_HEADER), forced_fault=headers.get(FAULT_HEADER),
        sample=sample_of(headers),
    )


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: ".encode() + json.dumps(data).encode() + b"\n\n"


_DELTA_PREFIX = (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,'
                 b'"delta":{"type":"text_delta","text":')
_THINKING_PREFIX = (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
                    b'"delta":{"type":"thinking_delta","thinking":')
SIGNATURE = "c2ltdWxhdGVkIHRoaW5raW5nIHNpZ25hdHVyZQ=="


class AnthropicWire:
    """Bytes for one message, streamed or not."""

    stream_content_type = b"text/event-stream; charset=utf-8"

    def __init__(self, plan: Plan | None) -> None:
        self.request_id = f"req_011sim{plan.request_id}" if plan else "req_011simerror"
        self.id = f"msg_01sim{plan.request_id}" if plan else ""
        self.model = plan.request.model if plan else ""
        thinks = bool(plan and plan.reasoning)
        self._text_index = 1 if thinks else 0
        self._delta_prefix = _DELTA_PREFIX % self._text_index

    def headers(self) -> Headers:
        return [(b"request-id", self.request_id.encode())]

    def _message(self, content: list[Any], stop: str | None,
                 usage: dict[str, int]) -> dict[str, Any]:
        return {"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                "content": content, "stop_reason": stop, "stop_sequence": None,
                "usage": {**usage, "cache_creation_input_tokens": 0,
                          "cache_read_input_tokens": 0}}

    def complete(self, plan: Plan, latency_s: float) -> bytes:
        usage = {"input_tokens": plan.request.input_tokens, "output_tokens": plan.output_tokens}
        content: list[dict[str, Any]] = [{"type": "text", "text": plan.text}]
        if plan.reasoning:
            content.insert(0, {"type": "thinking", "thinking": plan.reasoning_text,
                               "signature": SIGNATURE})
        return json.dumps(self._message(content, _STOP[plan.finish], usage)).encode()

    def head(self, plan: Plan) -> bytes:
        usage = {"input_tokens": plan.request.input_tokens, "output_tokens": 1}
        block = ({"type": "thinking", "thinking": "", "signature": ""} if plan.reasoning
                 else {"type": "text", "text": ""})
        return (_event("message_start", {"type": "message_start",
                                         "message": self._message([], None, usage)})
                + _event("content_block_start", {"type": "content_block_start", "index": 0,
                                                 "content_block": block})
                + _event("ping", {"type": "ping"}))

    def first(self, plan: Plan) -> bytes:
        return b""

    def token(self, piece: str) -> bytes:
        return self._delta_prefix + json.dumps(piece).encode() + b"}}\n\n"

    def reasoning(self, piece: str) -> bytes:
        return _THINKING_PREFIX + json.dumps(piece).encode() + b"}}\n\n"

    def switch(self, plan: Plan) -> bytes:
        """Close the thinking block (with its signature) and open the text block."""
        return (_event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "signature_delta",
                                                         "signature": SIGNATURE}})
                + _event("content_block_stop", {"type": "content_block_stop", "index": 0})
                + _event("content_block_start", {"type": "content_block_start", "index": 1,
                                                 "content_block": {"type": "text", "text": ""}}))

    def tail(self, plan: Plan, latency_s: float) -> list[bytes]:
        open_block = 1 if plan.reasoning and plan.output_tokens > plan.reasoning else 0
        return [_event("content_block_stop", {"type": "content_block_stop", "index": open_block})
                + _event("message_delta", {"type": "message_delta",
                                           "delta": {"stop_reason": _STOP[plan.finish],
                                                     "stop_sequence": None},
                                           "usage": {"output_tokens": plan.output_tokens}})
                + _event("message_stop", {"type": "message_stop"})]

    def stream_error(self, plan: Plan) -> bytes:
        return _event("error", {"type": "error", "error": {
            "type": "overloaded_error", "message": "Overloaded (injected mid-stream fault)"},
            "request_id": self.request_id})

    def error(self, err: SimError, retry_after_s: float) -> tuple[int, Headers, bytes]:
        status, type_ = _ERRORS[err.kind]
        headers = [*self.headers(), (b"content-type", b"application/json")]
        if err.kind == "rate_limit":
            headers += [(b"retry-after", str(max(0, round(retry_after_s))).encode()),
                        (b"retry-after-ms", str(int(retry_after_s * 1000)).encode()),
                        (b"anthropic-ratelimit-requests-limit", b"60"),
                        (b"anthropic-ratelimit-requests-remaining", b"0")]
        message = f"model: {self.model}" if err.kind == "not_found" and self.model else err.message
        body = {"type": "error", "error": {"type": type_, "message": message},
                "request_id": self.request_id}
        return status, headers, json.dumps(body).encode()
