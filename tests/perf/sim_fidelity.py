"""Does the simulator deliver the latency it is configured for? (a script, not a test)

Starts the simulator in its own process with a model of TTFT 100 ms and ITL
10 ms (128 output tokens), drives it with a minimal raw-asyncio closed-loop
client (one keep-alive connection per stream, hand-parsed chunked SSE,
``perf_counter`` stamps taken when bytes arrive) at 64 concurrent streams, and
prints the delivered TTFT and ITL (pooled per-chunk gaps, vLLM style) against
the configuration. Exit status 1 if a median is off by more than 2 ms.

Then ramps concurrency at a fixed ITL to find the highest streamed-token
rate the simulator sustains (delivered median and mean ITL within 10 % of the
configuration, per-stream throughput within 10 % of ideal). ``--target URL
--model NAME`` measures another server (e.g. guidellm's mock server) with the
same client instead.

    python tests/perf/sim_fidelity.py                 # fidelity at c=64 + ramp
    python tests/perf/sim_fidelity.py --no-ramp --requests 1280
    python tests/perf/sim_fidelity.py --target http://127.0.0.1:8765 --model mock-model
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# a content delta, compact (the simulator) or with spaces (json.dumps defaults, e.g. guidellm)
TOKEN_MARKS = (b'"delta":{"content":', b'"delta": {"content": ')
END_MARK = b"\r\n0\r\n\r\n"


@dataclass
class Samples:
    ttft: list[float] = field(default_factory=list)
    itl: list[float] = field(default_factory=list)
    e2e: list[float] = field(default_factory=list)
    tokens: int = 0
    requests: int = 0
    errors: int = 0


class Stream(asyncio.Protocol):
    """One keep-alive connection that runs requests back to back (closed loop)."""

    def __init__(self, request: bytes, results: Samples, todo: list[int], warmup: int,
                 done: asyncio.Future[None]) -> None:
        self.request = request
        self.results = results
        self.todo = todo  # shared counter: requests still to start
        self.warmup = warmup
        self.done = done
        self.transport: asyncio.Transport | None = None
        self.tail = b""
        self.stamps: list[float] = []
        self.start = 0.0
        self.status_ok = False
        self.in_body = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.send()

    def send(self) -> None:
        if self.todo[0] <= 0:
            assert self.transport is not None
            self.transport.close()
            if not self.done.done() and self.todo[1] == 0:
                self.done.set_result(None)
            return
        self.todo[0] -= 1
        self.todo[1] += 1
        self.tail, self.stamps, self.in_body = b"", [], False
        self.start = time.perf_counter()
        assert self.transport is not None
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self.in_body:
            self.tail += data
            head_end = self.tail.find(b"\r\n\r\n")
            if head_end < 0:
                return
            self.status_ok = self.tail.startswith(b"HTTP/1.1 200")
            data = self.tail[head_end + 4:]
            self.tail = b""
            self.in_body = True
        n = data.count(TOKEN_MARKS[0]) + data.count(TOKEN_MARKS[1])
        if n:
            self.stamps.extend([now] * n)
        buf = self.tail + data
        if buf.endswith(END_MARK) or buf == b"0\r\n\r\n":
            self.finish(now)
        else:
            self.tail = buf[-len(END_MARK):]

    def finish(self, now: float) -> None:
        r = self.results
        self.todo[1] -= 1
        if self.warmup > 0:
            self.warmup -= 1
        elif not self.status_ok or not self.stamps:
            r.errors += 1
        else:
            r.requests += 1
            r.tokens += len(self.stamps)
            r.ttft.append(self.stamps[0] - self.start)
            r.itl.extend(b - a for a, b in zip(self.stamps, self.stamps[1:], strict=False))
            r.e2e.append(self.stamps[-1] - self.start)
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done() and self.todo[0] <= 0 and self.todo[1] <= 0:
            self.done.set_result(None)


def build_request(url: str, model: str, max_tokens: int) -> bytes:
    parts = urlsplit(url)
    body = json.dumps({
        "model": model, "stream": True, "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": "Tell me a long story. " * 20}],
    }).encode()
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/json\r\nAuthorization: Bearer sk-perf\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def closed_loop(url: str, model: str, concurrency: int, requests: int,
                      max_tokens: int) -> tuple[Samples, float]:
    """Run ``requests`` (plus one warm-up per stream) over ``concurrency`` connections."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    request = build_request(url, model, max_tokens)
    results = Samples()
    todo = [requests + concurrency, 0]
    done: asyncio.Future[None] = loop.create_future()
    t0 = time.perf_counter()
    for _ in range(concurrency):
        await loop.create_connection(
            lambda: Stream(request, results, todo, 1, done), parts.hostname, parts.port)
    await asyncio.wait_for(done, timeout=600)
    return results, time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def describe(name: str, values: list[float], config_ms: float | None) -> str:
    ms = [v * 1000 for v in values]
    med, mean = statistics.median(ms), statistics.fmean(ms)
    text = (f"{name:5s} median {med:8.2f} ms  mean {mean:8.2f}  p90 {pct(ms, 0.9):8.2f}  "
            f"p99 {pct(ms, 0.99):8.2f}  (n={len(ms)})")
    if config_ms is not None:
        text += f"  delta(median) {med - config_ms:+.2f} ms"
    return text


def cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def fidelity(url: str, model: str, pid: int | None, args: argparse.Namespace) -> bool:
    cpu0, me0 = cpu_seconds(pid), time.process_time()
    results, wall = asyncio.run(closed_loop(url, model, args.concurrency, args.requests,
                                            args.tokens))
    server_cpu, client_cpu = cpu_seconds(pid) - cpu0, time.process_time() - me0
    ttft_med = statistics.median(results.ttft) * 1000
    itl_med = statistics.median(results.itl) * 1000
    print(f"\n== fidelity: TTFT {args.ttft} ms, ITL {args.itl} ms, {args.tokens} tokens, "
          f"c={args.concurrency}, {results.requests} requests (+{args.concurrency} warm-up), "
          f"errors {results.errors}")
    print(describe("TTFT", results.ttft, args.ttft))
    print(describe("ITL", results.itl, args.itl))
    print(describe("E2E", results.e2e, args.ttft + (args.tokens - 1) * args.itl))
    print(f"mean ITL {statistics.fmean(results.itl) * 1000:.3f} ms; "
          f"output {results.tokens / wall:,.0f} tok/s over {wall:.1f} s wall "
          f"(incl. warm-up); server CPU {server_cpu:.1f} s "
          f"({server_cpu / wall:.0%} of a core), client CPU {client_cpu:.1f} s")
    ok = abs(ttft_med - args.ttft) <= 2.0 and abs(itl_med - args.itl) <= 2.0
    print(f"TTFT/ITL medians within 2 ms of the configuration: {'YES' if ok else 'NO'}")
    return ok


def ramp(url: str, model: str, pid: int | None, args: argparse.Namespace) -> None:
    itl_ms = args.ramp_itl
    print(f"\n== capacity ramp: ITL {itl_ms} ms, TTFT 0, {args.ramp_tokens} tokens per request")
    best = 0.0
    for c in args.ramp_levels:
        requests = max(c, int(c * args.ramp_seconds / (args.ramp_tokens * itl_ms / 1000)))
        cpu0, me0 = cpu_seconds(pid), time.process_time()
        results, wall = asyncio.run(closed_loop(url, model, c, requests, args.ramp_tokens))
        server_cpu, client_cpu = cpu_seconds(pid) - cpu0, time.process_time() - me0
        ideal = c * 1000 / itl_ms
        # tokens/s over the measured requests: each stream emits at most 1000/itl_ms tok/s
        rate = results.tokens / sum(results.e2e) * c if results.e2e else 0.0
        mean_itl = statistics.fmean(results.itl) * 1000 if results.itl else float("nan")
        med_itl = statistics.median(results.itl) * 1000 if results.itl else float("nan")
        # degraded: tokens bunch up (median gap off by >10 %), fall behind (mean gap >10 %
        # long) or the per-stream rate drops below 90 % of ideal
        good = (results.errors == 0 and abs(med_itl - itl_ms) <= itl_ms * 0.1
                and mean_itl <= itl_ms * 1.1 and rate >= 0.9 * ideal)
        print(f"c={c:5d}  ideal {ideal:8,.0f} tok/s  delivered {rate:8,.0f}  "
              f"ITL mean {mean_itl:6.2f} ms median {med_itl:6.2f}  "
              f"TTFT median {statistics.median(results.ttft) * 1000:6.2f} ms  "
              f"CPU server {server_cpu / wall:4.0%} client {client_cpu / wall:4.0%}  "
              f"{'ok' if good else 'DEGRADED'}")
        if good:
            best = max(best, rate)
        else:
            break
    print(f"highest sustained streamed-token rate: {best:,.0f} tok/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", help="measure this server instead of starting the simulator")
    parser.add_argument("--model", default="perf")
    parser.add_argument("--ttft", type=float, default=100.0)
    parser.add_argument("--itl", type=float, default=10.0)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--requests", type=int, default=640)
    parser.add_argument("--no-ramp", action="store_true")
    parser.add_argument("--ramp-itl", type=float, default=10.0)
    parser.add_argument("--ramp-tokens", type=int, default=100)
    parser.add_argument("--ramp-seconds", type=float, default=4.0)
    parser.add_argument("--ramp-levels", type=int, nargs="+",
                        default=[64, 128, 256, 384, 512, 768, 1024, 1536, 2048])
    parser.add_argument("--server-pid", type=int, help="PID of --target, for its CPU time")
    parser.add_argument("--server-loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    parser.add_argument("--server-http", default="auto", choices=["auto", "h11", "httptools"])
    args = parser.parse_args()

    if args.target:
        ok = fidelity(args.target, args.model, args.server_pid, args)
        if not args.no_ramp:
            ramp(args.target, args.model, args.server_pid, args)
        return 0 if ok else 1

    from pytest_llmbench.sim import start_sim_process

    models = [f"perf:policy=lorem,ttft_ms={args.ttft},itl_ms={args.itl},"
              f"output_tokens={args.tokens}",
              f"ramp:policy=lorem,ttft_ms=0,itl_ms={args.ramp_itl},output_tokens=max_tokens"]
    extra = ["--loop", args.server_loop, "--http", args.server_http]
    with start_sim_process(models=models, extra_args=extra) as sim:
        loop = _loop_kind() if args.server_loop == "auto" else args.server_loop
        http = _http_kind() if args.server_http == "auto" else args.server_http
        print(f"simulator pid {sim.pid} at {sim.base_url}; python {sys.version.split()[0]}; "
              f"{os.cpu_count()} CPUs; server loop: {loop}, http: {http}; client: asyncio")
        ok = fidelity(sim.base_url, "perf", sim.pid, args)
        if not args.no_ramp:
            ramp(sim.base_url, "ramp", sim.pid, args)
    return 0 if ok else 1


def _loop_kind() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def _http_kind() -> str:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


if __name__ == "__main__":
    sys.exit(main())
