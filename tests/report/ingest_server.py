"""A real local ingest endpoint for tests: a threaded HTTP server that follows a script
of answers (fail, time out, succeed) and stores batches by idempotency key, as a
well-behaved server does, so a resend is visible but never duplicated."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class IngestServer:
    script: list[str] = field(default_factory=list)  # per post: "ok", "503", "429", "401", "slow"
    default: str = "ok"
    slow_s: float = 4.0
    max_bytes: int | None = None  # a body larger than this is refused with 413, unstored
    posts: list[dict[str, Any]] = field(default_factory=list)  # every request, in order
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> batch
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer(self) -> str:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def store(self, key: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.stored.setdefault(key, body)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for b in self.stored.values() for r in b.get("records", [])]


def _handler(server: IngestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers.get("Idempotency-Key", "")
            with server.lock:
                server.posts.append({"headers": dict(self.headers), "key": key, "body": body})
            answer = server.answer()
            if server.max_bytes is not None and int(self.headers["Content-Length"]) > \
                    server.max_bytes:
                answer = "413"
            if answer == "slow":  # processes the batch, but answers after the client gave up
                server.store(key, body)
                time.sleep(server.slow_s)
                answer = "ok"
            if answer == "ok":
                server.store(key, body)
                self.send_response(200)
            else:
                self.send_response(int(answer))
                if answer in ("429", "503"):
                    self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def serve(server: IngestServer) -> Iterator[IngestServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1/ingest?tenant=t1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
