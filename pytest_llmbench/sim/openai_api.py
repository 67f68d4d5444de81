"""OpenAI Chat Completions on the wire: request parsing, bodies, SSE chunks, errors.

Shapes follow what openai-python parses: ``chat.completion`` objects, SSE
``data:`` chunks with no ``event:`` lines, the ``choices: []`` usage chunk when
``stream_options.include_usage`` is set, ``data: [DONE]``, and errors as
``{"error": {message, type, param, code}}`` with the HTTP status the SDK maps
to its exception classes. Chunk bytes are pre-built around each token.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from pytest_llmbench.sim.prompt import flatten
from pytest_llmbench.sim.respond import Headers
from pytest_llmbench.sim.state import CASE_HEADER, FAULT_HEADER, Plan, SimError, SimRequest, sample_of

FINGERPRINT = "fp_llmbench_sim"

_ERRORS: dict[str, tuple[int, str, str | None]] = {
    "auth": (401, "invalid_request_error", "invalid_api_key"),
    "not_found": (404, "invalid_request_error", "model_not_found"),
    "bad_request": (400, "invalid_request_error", None),
    "rate_limit": (429, "requests", "rate_limit_exceeded"),
    "server_error": (500, "server_error", None),
    "unavailable": (503, "server_error", "service_unavailable"),
    "overloaded": (503, "server_error", "overloaded"),
}


def api_key(headers: Any) -> str | None:
    """The key from ``Authorization: Bearer`` or Azure's ``api-key`` header."""
    auth = headers.get("authorization")
    if auth and auth.lower().startswith("bearer "):
        return str(auth[7:].strip())
    key = headers.get("api-key")
    return None if key is None else str(key)


def parse_chat(headers: Any, body: bytes, model_override: str | None = None) -> SimRequest:
    """A ``SimRequest`` from a chat completions body; ``SimError`` if malformed."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SimError("bad_request",
                       f"We could not parse the JSON body of your request: {exc}") from exc
    if not isinstance(data, dict):
        raise SimError("bad_request", "the request body must be a JSON object")
    model = model_override or data.get("model")
    if not isinstance(model, str) or not model:
        raise SimError("bad_request", "you must provide a model parameter", param="model")
    prompt, echo, input_tokens = flatten(data.get("messages"))
    max_tokens = data.get("max_completion_tokens", data.get("max_tokens"))
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise SimError("bad_request", "max_tokens must be a positive integer", param="max_tokens")
    options = data.get("stream_options") or {}
    return SimRequest(
        model=model, prompt=prompt, echo=echo, input_tokens=input_tokens, max_tokens=max_tokens,
        stream=bool(data.get("stream")), api_key=api_key(headers),
        case_id=headers.get(CASE_HEADER), forced_fault=headers.get(FAULT_HEADER),
        sample=sample_of(headers),
        include_usage=bool(isinstance(options, dict) and options.get("include_usage")),
        ignore_eos=data.get("ignore_eos") is True,
    )


class OpenAIWire:
    """Bytes for one chat completion, streamed or not."""

    stream_content_type = b"text/event-stream; charset=utf-8"

    def __init__(self, plan: Plan | None) -> None:
        self.request_id = f"req_{plan.request_id}" if plan else "req_error"
        if plan is None:
            return
        self.id = f"chatcmpl-{plan.request_id}"
        self.created = int(time.time())
        self.model = plan.request.model
        self.include_usage = plan.request.include_usage
        head = json.dumps({"id": self.id, "object": "chat.completion.chunk",
                           "created": self.created, "model": self.model,
                           "system_fingerprint": FINGERPRINT})[:-1]
        self._prefix = f'data: {head},"choices":[{{"index":0,"delta":{{"content":'.encode()
        usage = ',"usage":null' if self.include_usage else ""
        self._suffix = f'}},"logprobs":null,"finish_reason":null}}]{usage}}}\n\n'.encode()
        field = plan.profile.reasoning_format
        self._think_prefix = self._prefix.replace(b'"content":', f'"{field}":'.encode())
        self._think_field = field

    def headers(self) -> Headers:
        return [(b"x-request-id", self.request_id.encode())]

    def _usage(self, plan: Plan) -> dict[str, Any]:
        n_in, n_out = plan.request.input_tokens, plan.output_tokens
        return {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": plan.reasoning, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0,
                                              "rejected_prediction_tokens": 0}}

    def complete(self, plan: Plan, latency_s: float) -> bytes:
        return json.dumps({
            "id": self.id, "object": "chat.completion", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": plan.text,
                                                 "refusal": None, "annotations": [],
                                                 **self._thought(plan)},
                         "logprobs": None, "finish_reason": plan.finish}],
            "usage": self._usage(plan), "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }).encode()

    def _chunk(self, choices: list[Any], usage: Any = None) -> bytes:
        body: dict[str, Any] = {"id": self.id, "object": "chat.completion.chunk",
                                "created": self.created, "model": self.model,
                                "system_fingerprint": FINGERPRINT, "choices": choices}
        if self.include_usage:
            body["usage"] = usage
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    def head(self, plan: Plan) -> bytes:
        return b""

    def first(self, plan: Plan) -> bytes:
        return self._chunk([{"index": 0, "delta": {"role": "assistant", "content": "",
                                                   "refusal": None},
                             "logprobs": None, "finish_reason": None}])

    def token(self, piece: str) -> bytes:
        return self._prefix + json.dumps(piece).encode() + self._suffix

    def reasoning(self, piece: str) -> bytes:
        return self._think_prefix + json.dumps(piece).encode() + self._suffix

    def switch(self, plan: Plan) -> bytes:
        return b""

    def _thought(self, plan: Plan) -> dict[str, str]:
        return {self._think_field: plan.reasoning_text} if plan.reasoning else {}

    def tail(self, plan: Plan, latency_s: float) -> list[bytes]:
        out = self._chunk([{"index": 0, "delta": {}, "logprobs": None,
                            "finish_reason": plan.finish}])
        if self.include_usage:
            out += self._chunk([], self._usage(plan))
        return [out + b"data: [DONE]\n\n"]

    def stream_error(self, plan: Plan) -> bytes:
        return b"data: " + json.dumps({"error": {
            "message": "The server had an error while processing your request (injected "
                       "mid-stream fault).", "type": "server_error", "param": None,
            "code": None}}).encode() + b"\n\n"

    def error(self, err: SimError, retry_after_s: float) -> tuple[int, Headers, bytes]:
        return error_response(self.headers(), err, retry_after_s)


def error_response(headers: Headers, err: SimError, retry_after_s: float
                   ) -> tuple[int, Headers, bytes]:
    """(status, headers, body) of an OpenAI error; Chat Completions and Responses share it."""
    status, type_, code = _ERRORS[err.kind]
    headers = [*headers, (b"content-type", b"application/json")]
    if err.kind == "rate_limit":
        headers += [(b"retry-after", _seconds(retry_after_s)),
                    (b"retry-after-ms", str(int(retry_after_s * 1000)).encode()),
                    (b"x-ratelimit-limit-requests", b"60"),
                    (b"x-ratelimit-remaining-requests", b"0"),
                    (b"x-ratelimit-reset-requests", f"{retry_after_s:g}s".encode())]
    body = {"error": {"message": err.message, "type": type_, "param": err.param, "code": code}}
    return status, headers, json.dumps(body).encode()

def models_list(names: list[str]) -> bytes:
    """``GET /v1/models``: every simulated model (ids without the ``sim:`` prefix)."""
    created = 1_700_000_000
    data = [{"id": n, "object": "model", "created": created, "owned_by": "llmbench-sim"}
            for n in sorted(names)]
    return json.dumps({"object": "list", "data": data}).encode()


def ollama_tags(names: list[str]) -> bytes:
    """Ollama's native ``GET /api/tags``: the same models, as Ollama lists local ones."""
    data = [{"name": n, "model": n, "modified_at": "2024-01-01T00:00:00Z", "size": 0,
             "digest": hashlib.sha256(n.encode()).hexdigest(),
             "details": {"format": "gguf", "family": "llmbench-sim", "parameter_size": "0B",
                         "quantization_level": "none"}} for n in sorted(names)]
    return json.dumps({"models": data}).encode()


def _seconds(value: float) -> bytes:
    return str(max(0, round(value))).encode() if value >= 1 or value == 0 else f"{value:g}".encode()
