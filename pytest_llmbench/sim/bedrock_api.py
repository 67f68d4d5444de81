"""Bedrock Runtime Converse and ConverseStream on the wire, as boto3 expects them.

The model id comes from the URL path (boto3 URL-encodes it, ``:`` as ``%3A``).
SigV4 is not checked; the access key id in the ``Credential=`` part is the
"API key" for the bad-key rules. Streams are AWS event-stream frames, one
HTTP chunk per event; errors carry ``x-amzn-ErrorType`` and ``{"message"}``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pytest_llmbench.sim import eventstream
from pytest_llmbench.sim.anthropic_api import SIGNATURE
from pytest_llmbench.sim.prompt import flatten
from pytest_llmbench.sim.respond import Headers
from pytest_llmbench.sim.state import CASE_HEADER, FAULT_HEADER, Plan, SimError, SimRequest, sample_of

_ERRORS: dict[str, tuple[int, str]] = {
    "auth": (403, "UnrecognizedClientException"),
    "not_found": (404, "ResourceNotFoundException"),
    "bad_request": (400, "ValidationException"),
    "rate_limit": (429, "ThrottlingException"),
    "server_error": (500, "InternalServerException"),
    "unavailable": (503, "ServiceUnavailableException"),
    "overloaded": (503, "ServiceUnavailableException"),
}
_MESSAGES = {
    "auth": "The security token included in the request is invalid.",
    "rate_limit": "Too many requests, please wait before trying again.",
}
_STOP = {"stop": "end_turn", "length": "max_tokens"}
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)")
_DELTA_HEADERS = eventstream.event_headers("contentBlockDelta")


def api_key(headers: Any) -> str | None:
    """The SigV4 access key id, or a bearer token (Bedrock API keys)."""
    auth = headers.get("authorization") or ""
    match = _CREDENTIAL.search(auth)
    if match:
        return match.group(1)
    if auth.lower().startswith("bearer "):
        return str(auth[7:].strip())
    return None


def parse_converse(headers: Any, body: bytes, model_id: str, stream: bool) -> SimRequest:
    """A ``SimRequest`` from a Converse body; ``SimError`` if malformed."""
    try:
        data = json.loads(body) if body else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise SimError("bad_request", f"Malformed input request: {exc}") from exc
    if not isinstance(data, dict):
        raise SimError("bad_request", "Malformed input request: expected a JSON object")
    prompt, echo, input_tokens = flatten(data.get("messages"), data.get("system"))
    config = data.get("inferenceConfig") or {}
    max_tokens = config.get("maxTokens") if isinstance(config, dict) else None
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise SimError("bad_request", "inferenceConfig.maxTokens must be a positive integer")
    return SimRequest(
        model=model_id, prompt=prompt, echo=echo, input_tokens=input_tokens,
        max_tokens=max_tokens, stream=stream, api_key=api_key(headers),
        case_id=headers.get(CASE_HEADER), forced_fault=headers.get(FAULT_HEADER),
        sample=sample_of(headers),
    )


class BedrockWire:
    """Bytes for one Converse or ConverseStream call."""

    stream_content_type = b"application/vnd.amazon.eventstream"

    def __init__(self, plan: Plan | None) -> None:
        rid = plan.request_id if plan else "000000000000000000000000"
        self.request_id = f"{rid[:8]}-{rid[8:12]}-{rid[12:16]}-{rid[16:20]}-{rid[20:]:0<12}"
        self._text_index = 1 if plan and plan.reasoning else 0
        self._text_prefix = b'{"contentBlockIndex":%d,"delta":{"text":' % self._text_index

    def headers(self) -> Headers:
        return [(b"x-amzn-requestid", self.request_id.encode())]

    @staticmethod
    def _usage(plan: Plan) -> dict[str, int]:
        n_in, n_out = plan.request.input_tokens, plan.output_tokens
        return {"inputTokens": n_in, "outputTokens": n_out, "totalTokens": n_in + n_out}

    def complete(self, plan: Plan, latency_s: float) -> bytes:
        return json.dumps({
            "output": {"message": {"role": "assistant", "content": self._content(plan)}},
            "stopReason": _STOP[plan.finish], "usage": self._usage(plan),
            "metrics": {"latencyMs": round(latency_s * 1000)},
        }).encode()

    def head(self, plan: Plan) -> bytes:
        return eventstream.event("messageStart", {"role": "assistant"})

    def first(self, plan: Plan) -> bytes:
        return b""

    @staticmethod
    def _content(plan: Plan) -> list[dict[str, Any]]:
        content: list[dict[str, Any]] = [{"text": plan.text}]
        if plan.reasoning:
            content.insert(0, {"reasoningContent": {"reasoningText": {
                "text": plan.reasoning_text, "signature": SIGNATURE}}})
        return content

    def token(self, piece: str) -> bytes:
        payload = self._text_prefix + json.dumps(piece).encode() + b"}}"
        return eventstream.message(_DELTA_HEADERS, payload)

    def reasoning(self, piece: str) -> bytes:
        return eventstream.event("contentBlockDelta", {
            "contentBlockIndex": 0, "delta": {"reasoningContent": {"text": piece}}})

    def switch(self, plan: Plan) -> bytes:
        """Sign and close the reasoning block; the answer is block 1."""
        return (eventstream.event("contentBlockDelta", {
                    "contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": SIGNATURE}}})
                + eventstream.event("contentBlockStop", {"contentBlockIndex": 0}))

    def tail(self, plan: Plan, latency_s: float) -> list[bytes]:
        open_block = 1 if plan.reasoning and plan.output_tokens > plan.reasoning else 0
        return [
            eventstream.event("contentBlockStop", {"contentBlockIndex": open_block}),
            eventstream.event("messageStop", {"stopReason": _STOP[plan.finish]}),
            eventstream.event("metadata", {"usage": self._usage(plan),
                                           "metrics": {"latencyMs": round(latency_s * 1000)}}),
        ]

    def stream_error(self, plan: Plan) -> bytes:
        return eventstream.exception(
            "modelStreamErrorException", "The model stream failed (injected mid-stream fault).")

    def error(self, err: SimError, retry_after_s: float) -> tuple[int, Headers, bytes]:
        status, code = _ERRORS[err.kind]
        headers = [*self.headers(), (b"content-type", b"application/json"),
                   (b"x-amzn-errortype",
                    f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/".encode())]
        if err.kind == "rate_limit":
            headers += [(b"retry-after", str(max(0, round(retry_after_s))).encode()),
                        (b"x-amz-retry-after", str(int(retry_after_s * 1000)).encode())]
        message = _MESSAGES.get(err.kind, err.message)
        return status, headers, json.dumps({"message": message}).encode()
