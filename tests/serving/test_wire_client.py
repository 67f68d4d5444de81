"""Serving loads on OpenAI-compatible hosts: the raw httpx client (``client: raw``, the
default) sends what the OpenAI SDK (``client: sdk``) would, and measures the same.

A recording TCP relay in front of the simulator keeps the bytes each client sends,
so the tests see the real requests: URL, auth header, the ``headers`` setting and
``extra_body`` merged into the JSON body.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import read_records
from tests.relay import start_relay

SUITE = """\
kind: serving
name: wire
prompts: {{input_tokens: 16}}
max_tokens: 8
ignore_eos: true
params: {{temperature: 0.5}}
requests: 6
warmup: 1
harness: {{max_loop_lag_ms: 1000}}
{client}
scenarios:
  - concurrency: 3
"""


@dataclass
class Relay:
    """A TCP relay to the simulator that keeps every byte sent to it."""

    url: str
    sent: list[bytearray] = field(default_factory=list)
    """The bytes sent on each connection."""

    def requests(self) -> list[tuple[str, dict[str, str], dict]]:
        """(request line, headers, JSON body) of each chat request seen."""
        out = []
        for stream in map(bytes, self.sent):
            out += self._parse(stream)
        return out

    @staticmethod
    def _parse(stream: bytes) -> list[tuple[str, dict[str, str], dict]]:
        out = []
        while b"\r\n\r\n" in stream:
            head, stream = stream.split(b"\r\n\r\n", 1)
            line, *rest = head.decode().split("\r\n")
            headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in rest)}
            size = int(headers.get("content-length", 0))
            body, stream = stream[:size], stream[size:]
            out.append((line, headers, json.loads(body) if body else {}))
        return out


@pytest.fixture
def relay(perf_sim: object) -> Iterator[Relay]:
    port = int(perf_sim.base_url.rsplit(":", 1)[1])  # type: ignore[attr-defined]
    loop = asyncio.new_event_loop()
    record = Relay("")
    server = loop.run_until_complete(start_relay(port, record.sent))
    record.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield record
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def _run(pytester: pytest.Pytester, relay: Relay, client: str, key: str) -> pytest.RunResult:
    pytester.makefile(".yaml", load=SUITE.format(client=client))
    pytester.makefile(".yaml", llmbench=f"""models:
  openai-compatible:perf:
    base_url: {relay.url}/v1
    api_key: {key}
    headers: {{x-team: bench}}
""")
    return pytester.runpytest_subprocess("load.yaml", "--llmbench-models",
                                         "openai-compatible:perf", "-p", "no:cacheprovider")


@pytest.mark.parametrize("client", ["", "client: raw", "client: sdk"])
def test_raw_and_sdk_clients_send_the_same_request_and_measure(
        pytester: pytest.Pytester, relay: Relay, client: str) -> None:
    result = _run(pytester, relay, client, "sk-wire-secret")
    result.assert_outcomes(passed=1)
    (record,) = read_records(pytester)
    serving = record["metrics"]["serving"]
    assert serving["completed"] == 6 and serving["errors"] == 0
    assert serving["output_tokens"] == 6 * 8
    assert serving["ttft_ms"]["p50"] >= 19  # the simulator's 20 ms TTFT
    requests = relay.requests()
    assert len(requests) == 7  # warm-up included
    assert len(relay.sent) <= 3  # one pooled connection per concurrent user
    line, headers, body = requests[-1]
    assert line == "POST /v1/chat/completions HTTP/1.1"
    assert headers["authorization"] == "Bearer sk-wire-secret"
    assert headers["x-team"] == "bench"
    assert body["model"] == "perf" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    # ignore_eos goes through extra_body, merged into the JSON body as the SDK does
    assert body["ignore_eos"] is True and "extra_body" not in body
    assert body["max_tokens"] == 8 and body["temperature"] == 0.5
    raw = "client: sdk" not in client
    assert headers["user-agent"].startswith("python-httpx" if raw else "AsyncOpenAI")
    run = pytester.path / ".llmbench" / "runs" / "latest"
    assert not any("sk-wire-secret" in p.read_text() for p in run.rglob("*") if p.is_file())
    assert "sk-wire-secret" not in result.stdout.str()


def test_rejected_key_is_an_error_record_with_the_status(pytester: pytest.Pytester,
                                                        relay: Relay) -> None:
    result = _run(pytester, relay, "", "bad-key")  # the simulator's default rejected key
    result.assert_outcomes(failed=1)
    (record,) = read_records(pytester)
    assert record["outcome"] == "error" and record["error_kind"] == "provider"
    assert "all 6 requests failed" in record["error"]
    assert "AuthenticationError" in record["error"] and "HTTP 401" in record["error"]
    assert "bad-key" not in json.dumps(record)


def test_client_key_is_checked(pytester: pytest.Pytester, relay: Relay) -> None:
    result = _run(pytester, relay, "client: curl", "sk-x")
    result.stdout.fnmatch_lines(["*load.yaml*10*client must be raw or sdk, not 'curl'*"])
