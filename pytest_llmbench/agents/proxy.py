"""A recording proxy for an external agent's model calls.

The agent is given this proxy as its base URL and a placeholder key; the proxy forwards
each request to the real endpoint with the harness's own key (so no credential enters the
sandbox), streams the response back as it arrives, and records per call: time to the
first byte, total time and the token usage the server reported (OpenAI ``usage``, or
Anthropic ``message_start`` / ``message_delta``). Calls without reported usage keep
their tokens absent, never zero.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

PLACEHOLDER_KEY = "llmbench-proxy"
_HOP = {"host", "content-length", "connection", "authorization", "x-api-key",
        "accept-encoding", "transfer-encoding"}


@dataclass
class ProxyCall:
    path: str
    status: int
    ttft_s: float | None
    latency_s: float
    input_tokens: int | None
    output_tokens: int | None


@dataclass
class RecordingProxy:
    upstream: str
    auth: dict[str, str]
    host: str = "127.0.0.1"
    calls: list[ProxyCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        proxy = self
        client = httpx.Client(timeout=httpx.Timeout(600, connect=10))

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                headers.update(proxy.auth)
                start = time.perf_counter()
                first: float | None = None
                chunks: list[bytes] = []
                try:
                    with client.stream("POST", proxy.upstream + self.path, content=body,
                                       headers=headers) as response:
                        self.send_response(response.status_code)
                        for key, value in response.headers.items():
                            if key.lower() not in _HOP | {"content-encoding"}:
                                self.send_header(key, value)
                        self.send_header("connection", "close")
                        self.end_headers()
                        for chunk in response.iter_raw():
                            if first is None:
                                first = time.perf_counter() - start
                            chunks.append(chunk)
                            self.wfile.write(chunk)
                            self.wfile.flush()
                        status = response.status_code
                except httpx.HTTPError as exc:
                    self.send_error(502, f"upstream: {type(exc).__name__}")
                    status = 502
                n_in, n_out = usage_of(b"".join(chunks))
                proxy.calls.append(ProxyCall(self.path, status, first,
                                             time.perf_counter() - start, n_in, n_out))

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._client = client
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()


def usage_of(body: bytes) -> tuple[int | None, int | None]:
    """(input, output) tokens from a JSON body or an SSE stream, as the server reported."""
    n_in: int | None = None
    n_out: int | None = None
    texts = [body] if body.lstrip().startswith(b"{") else [
        line[5:].strip() for line in body.splitlines() if line.startswith(b"data:")]
    for text in texts:
        try:
            data = json.loads(text)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        usage = data.get("usage") or (data.get("message") or {}).get("usage")
        if not isinstance(usage, dict):
            continue
        n_in = usage.get("prompt_tokens", usage.get("input_tokens", n_in))
        n_out = usage.get("completion_tokens", usage.get("output_tokens", n_out))
    return n_in, n_out
