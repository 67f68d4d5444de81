"""A real HTTP server that answers every chat API with 200 responses that are NOT the API's
format: an HTML page, plain JSON of another shape, garbage, a stream of only ``[DONE]``, a
stream cut off before its finish event, an event whose data is not JSON.

The mode comes from the ``x-bad-mode`` request header (the providers' ``headers`` setting
sends it, the way the simulator's faults are chosen), the wire from the path: OpenAI
``/v1/chat/completions``, Anthropic ``/v1/messages``, Bedrock ``/model/<id>/converse-stream``.
``x-bad-echo`` is copied into every body, so a test can plant a secret in a response.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import uvicorn

from pytest_llmbench.sim import eventstream

MODES = ("html", "json", "garbage", "done_only", "truncated", "bad_event", "wrong_shape", "ok",
         "echo_key", "error_key")

_HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>%s</body></html>"


def _sse(*events: str) -> bytes:
    return b"".join(f"data: {e}\n\n".encode() for e in events)


def _openai(mode: str, echo: str) -> tuple[str, bytes]:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Paris" + echo},
                          "finish_reason": None}]}
    done = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}
    if mode == "done_only":
        return "text/event-stream", _sse("[DONE]")
    if mode == "truncated":
        return "text/event-stream", _sse(json.dumps(chunk))
    if mode == "bad_event":
        return "text/event-stream", _sse(json.dumps(chunk), "{not json " + echo)
    if mode == "wrong_shape":
        return "text/event-stream", _sse(json.dumps({"status": "ok", "answer": "Paris" + echo}),
                                         "[DONE]")
    return "text/event-stream", _sse(json.dumps(chunk), json.dumps(done), "[DONE]")


def _anthropic(mode: str, echo: str) -> tuple[str, bytes]:
    def ev(name: str, data: dict[str, Any] | str) -> str:
        body = data if isinstance(data, str) else json.dumps({"type": name, **data})
        return f"event: {name}\ndata: {body}\n\n"

    start = ev("message_start", {"message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 1}}})
    block = ev("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
    delta = ev("content_block_delta", {"index": 0, "delta": {"type": "text_delta",
                                                              "text": "Paris" + echo}})
    end = (ev("content_block_stop", {"index": 0})
           + ev("message_delta", {"delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                  "usage": {"output_tokens": 1}})
           + ev("message_stop", {}))
    if mode == "done_only":
        return "text/event-stream", b"data: [DONE]\n\n"
    if mode == "truncated":
        return "text/event-stream", (start + block + delta).encode()
    if mode == "bad_event":
        return "text/event-stream", (start + block + ev("content_block_delta", "{not json " + echo)
                                     ).encode()
    if mode == "wrong_shape":
        return "text/event-stream", ev("status", {"answer": "Paris" + echo}).encode()
    return "text/event-stream", (start + block + delta + end).encode()


def _bedrock(mode: str, echo: str) -> tuple[str, bytes]:
    ctype = "application/vnd.amazon.eventstream"
    start = eventstream.event("messageStart", {"role": "assistant"})
    delta = eventstream.event("contentBlockDelta", {"contentBlockIndex": 0,
                                                    "delta": {"text": "Paris" + echo}})
    end = (eventstream.event("contentBlockStop", {"contentBlockIndex": 0})
           + eventstream.event("messageStop", {"stopReason": "end_turn"})
           + eventstream.event("metadata", {"usage": {"inputTokens": 5, "outputTokens": 1,
                                                      "totalTokens": 6},
                                            "metrics": {"latencyMs": 5}}))
    if mode == "done_only":
        return ctype, b""
    if mode == "truncated":
        return ctype, start + delta
    if mode == "bad_event":
        return ctype, start + delta[:-7] + b"garbage" + echo.encode()
    if mode == "wrong_shape":
        return ctype, eventstream.event("status", {"answer": "Paris" + echo})
    return ctype, start + delta + end


def body_for(path: str, mode: str, echo: str = "") -> tuple[str, bytes]:
    """(content type, body) of ``mode`` on the wire that ``path`` belongs to."""
    if mode == "html":
        return "text/html; charset=utf-8", _HTML % echo.encode()
    if mode == "json":
        return "application/json", json.dumps({"status": "ok", "answer": "Paris",
                                               "note": echo}).encode()
    if mode == "garbage":
        return "text/event-stream", b"\x00\xff\xfe GARBAGE \x8f\n\n" + echo.encode() + b"\n\n"
    if path.endswith("/messages"):
        return _anthropic(mode, echo)
    if "/model/" in path:
        return _bedrock(mode, echo)
    return _openai(mode, echo)


def make_app(ingested: list[tuple[dict[str, str], bytes]]) -> Any:
    """The ASGI app; POSTs to ``/ingest`` are kept in ``ingested`` (headers, body).

    Two more modes echo the credential the client sent (its bearer token or
    ``x-api-key``), as careless servers do: ``echo_key`` in a 200 answer, ``error_key`` in
    a 401 error message."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        received = b""
        while True:
            message = await receive()
            received += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status = 200
        if scope["path"].endswith("/ingest"):
            ingested.append((headers, received))
            ctype, body = "application/json", b'{"ok": true}'
        else:
            mode = headers.get("x-bad-mode", "ok")
            key = (headers.get("x-api-key")
                   or headers.get("authorization", "").removeprefix("Bearer ").strip())
            echo = headers.get("x-bad-echo", "")
            if mode == "echo_key":
                mode, echo = "ok", f" (you sent {key})"
            ctype, body = body_for(scope["path"], mode, echo)
            if mode == "error_key":
                status, ctype = 401, "application/json"
                body = json.dumps({"error": {"type": "authentication_error",
                                             "message": f"Incorrect API key provided: {key}"},
                                   "message": f"Incorrect API key provided: {key}"}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


class MalformedServer:
    """``app`` on a free loopback port, on a background thread (a context manager)."""

    def __init__(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ingested: list[tuple[dict[str, str], bytes]] = []
        config = uvicorn.Config(make_app(self.ingested), host="127.0.0.1", port=self.port, log_level="error",
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> MalformedServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("malformed test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
