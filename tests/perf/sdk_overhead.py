"""Per-item cost, latency, start-up and timing truth through the real SDKs (a script).

The floor: the provider's bare SDK client in a fresh process, 32 requests at a time, streaming,
reading every chunk and checking the answer (``AsyncOpenAI`` / ``AsyncAnthropic`` under
``asyncio.Semaphore(32)``; boto3 ``converse_stream`` on 32 threads). Ours: the same items as a
YAML suite, ``pytest suite.yaml --llmbench-models <api>:bench --llmbench-concurrency 32``. Both
against ``tests/perf/fast_server.py`` (raw asyncio, canned chunks), runs alternating, median
of ``--repeat``. Bytecode may be written (as after ``pip install``); each side has one
discarded warm-up run.

1. items: per-item cost (wall(N) - wall(1)) / (N - 1) at 0 ms latency, N in ``--sizes``,
   and linearity (per item at the largest N / at the smallest);
2. latency: 1,000 items, 200 ms TTFT, concurrency 32, wall including start-up;
3. startup: a one-item run's wall time, with every installed pytest plugin and with only
   llmbench's (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 -p pytest_llmbench.plugin``);
4. timing: 50 ms TTFT, 10 ms between tokens: records' TTFT and per-request mean ITL
   (both sides: (end of stream - first token) / (tokens - 1), as a record gives it)
   medians and p90-p10 spreads against the floor's, same server, same run;
5. providers: start-up and per-item (``--sizes``) for ``anthropic:`` and ``bedrock:``;
6. xdist: ``-n 2`` against one process on the largest of ``--sizes``.

    .venv/bin/python tests/perf/sdk_overhead.py --repeat 3
    .venv/bin/python tests/perf/sdk_overhead.py --only items --sizes 1000,3000 --repeat 1
    .venv/bin/python tests/perf/sdk_overhead.py --only timing --engine thread  # the old engine
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENGINE: list[str] = []  # --llmbench-engine, when --engine is given

_COMMON = r"""
import asyncio, json, sys, time
base, n, record = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
ttfts, itls, ok = [], [], 0

def note(sent, stamps, text, end):
    # per-request ITL as our records define it: (end of stream - first token) / (tokens - 1)
    global ok
    if record and stamps:
        ttfts.append(stamps[0] - sent)
        if len(stamps) > 1:
            itls.append((end - stamps[0]) / (len(stamps) - 1))
    ok += "".join(text).strip() == "42"
"""

FLOORS = {"openai": _COMMON + r"""
from openai import AsyncOpenAI

async def main():
    client = AsyncOpenAI(base_url=base, api_key="x", max_retries=0)
    sem = asyncio.Semaphore(32)

    async def one(i):
        async with sem:
            sent = time.perf_counter()
            stream = await client.chat.completions.create(
                model="bench", messages=[{"role": "user", "content": f"What is {i} * 0 + 42?"}],
                stream=True, stream_options={"include_usage": True}, max_tokens=16)
            text, stamps = [], []
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    stamps.append(time.perf_counter())
                    text.append(chunk.choices[0].delta.content)
            note(sent, stamps, text, time.perf_counter())

    await asyncio.gather(*(one(i) for i in range(n)))
    await client.close()

asyncio.run(main())
print(json.dumps({"ok": ok, "ttft": ttfts, "itl": itls}))
""", "anthropic": _COMMON + r"""
from anthropic import AsyncAnthropic

async def main():
    client = AsyncAnthropic(base_url=base, api_key="x", max_retries=0)
    sem = asyncio.Semaphore(32)

    async def one(i):
        async with sem:
            sent = time.perf_counter()
            stream = await client.messages.create(
                model="bench", messages=[{"role": "user", "content": f"What is {i} * 0 + 42?"}],
                stream=True, max_tokens=16)
            text, stamps = [], []
            async for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    stamps.append(time.perf_counter())
                    text.append(event.delta.text)
            note(sent, stamps, text, time.perf_counter())

    await asyncio.gather(*(one(i) for i in range(n)))
    await client.close()

asyncio.run(main())
print(json.dumps({"ok": ok, "ttft": ttfts, "itl": itls}))
""", "bedrock": _COMMON + r"""
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config

client = boto3.client("bedrock-runtime", endpoint_url=base, region_name="us-east-1",
                      aws_access_key_id="x", aws_secret_access_key="y",
                      config=Config(max_pool_connections=32, retries={"max_attempts": 1}))

def one(i):
    sent = time.perf_counter()
    response = client.converse_stream(
        modelId="bench", messages=[{"role": "user", "content": [{"text": f"What is {i} * 0 + 42?"}]}],
        inferenceConfig={"maxTokens": 16})
    text, stamps = [], []
    for event in response["stream"]:
        if "contentBlockDelta" in event:
            stamps.append(time.perf_counter())
            text.append(event["contentBlockDelta"]["delta"]["text"])
    return sent, stamps, text, time.perf_counter()

with ThreadPoolExecutor(32) as pool:
    for result in pool.map(one, range(n)):
        note(*result)
print(json.dumps({"ok": ok, "ttft": ttfts, "itl": itls}))
"""}


def start_server(api: str, ttft_ms: float, itl_ms: float, tokens: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([PY, str(ROOT / "tests/perf/fast_server.py"), "--api", api,
                             "--ttft-ms", str(ttft_ms), "--itl-ms", str(itl_ms),
                             "--tokens", str(tokens)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{line.split()[1]}"
    return proc, base + "/v1" if api == "openai" else base


def model_settings(api: str, base_url: str) -> str:
    if api == "bedrock":
        return (f"{{endpoint_url: '{base_url}', region: us-east-1, aws_access_key_id: x, "
                f"aws_secret_access_key: y}}")
    return f"{{base_url: '{base_url}', api_key: x}}"


def project(api: str, base_url: str, n: int) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="llmbench-sdkperf-"))
    rows = "".join(json.dumps({"id": f"q{i:05d}", "question": f"{i} * 0 + 42", "answer": "42"})
                   + "\n" for i in range(n))
    (folder / "data.jsonl").write_text(rows)
    (folder / "suite.yaml").write_text("name: bench\ndataset: data.jsonl\n"
                                       "prompt: 'What is {question}?'\nexpected: answer\n"
                                       "params: {max_tokens: 16}\n")
    (folder / "llmbench.yaml").write_text(
        f"models:\n  {api}:bench: {model_settings(api, base_url)}\n")
    return folder


def run_ours(api: str, base_url: str, n: int, extra: tuple[str, ...] = (),
             only_llmbench: bool = False) -> tuple[float, Path]:
    folder = project(api, base_url, n)
    env, plugins = ENV, []
    if only_llmbench:
        env = {**ENV, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        plugins = ["-p", "pytest_llmbench.plugin"] + (["-p", "xdist.plugin"] if "-n" in extra else [])
    started = time.perf_counter()
    done = subprocess.run([PY, "-m", "pytest", "suite.yaml", "-q", "-p", "no:cacheprovider",
                           *plugins, "--llmbench-models", f"{api}:bench",
                           "--llmbench-concurrency", "32", "--llmbench-progress", "off", *ENGINE,
                           *extra],
                          cwd=folder, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"our run failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return wall, folder


def run_floor(api: str, base_url: str, n: int, record: bool = False) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = subprocess.run([PY, "-c", FLOORS[api], base_url, str(n), "1" if record else "0"],
                          capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"floor failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    if result["ok"] != n:
        raise SystemExit(f"floor: {result['ok']} of {n} right")
    return wall, result


def records(folder: Path) -> list[dict[str, Any]]:
    path = folder / ".llmbench/runs/latest/records.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def ours_wall(api: str, url: str, n: int, extra: tuple[str, ...] = (),
              only_llmbench: bool = False) -> float:
    wall, folder = run_ours(api, url, n, extra, only_llmbench)
    shutil.rmtree(folder, ignore_errors=True)
    return wall


def load() -> str:
    return os.getloadavg().__repr__()


def median_pair(api: str, url: str, n: int, repeat: int) -> tuple[float, float]:
    ours, floor = [], []
    for _ in range(repeat):
        floor.append(run_floor(api, url, n)[0])
        ours.append(ours_wall(api, url, n))
    return statistics.median(ours), statistics.median(floor)


def spread(values: list[float]) -> tuple[float, float]:
    qs = statistics.quantiles(values, n=10)
    return statistics.median(values), qs[-1] - qs[0]


def warm_up(api: str, url: str) -> None:
    run_floor(api, url, 1)
    ours_wall(api, url, 1)
    ours_wall(api, url, 1, only_llmbench=True)


def startup(api: str, url: str, repeat: int) -> float:
    ours, only, floor = [], [], []
    for _ in range(repeat):
        floor.append(run_floor(api, url, 1)[0])
        ours.append(ours_wall(api, url, 1))
        only.append(ours_wall(api, url, 1, only_llmbench=True))
    o, p, f = statistics.median(ours), statistics.median(only), statistics.median(floor)
    print(f"[{api}] start-up (1 item): ours {o:.2f} s ({o / f:.2f}x), only llmbench's plugins "
          f"{p:.2f} s ({p / f:.2f}x), floor {f:.2f} s; load {load()}", flush=True)
    return o


def per_item(api: str, url: str, sizes: list[int], repeat: int, ours1: float,
             floor1: float) -> None:
    costs = {}
    for n in sizes:
        ours, floor = median_pair(api, url, n, repeat)
        o, f = (ours - ours1) / (n - 1) * 1000, (floor - floor1) / (n - 1) * 1000
        costs[n] = o
        print(f"[{api}] {n:>6} items, 0 ms: ours {ours:.2f} s, floor {floor:.2f} s; per item "
              f"{o:.2f} ms vs {f:.2f} ms = {o / f:.2f}x; load {load()}", flush=True)
    if len(costs) > 1:
        low, high = costs[min(costs)], costs[max(costs)]
        print(f"[{api}] linearity: per item at {max(costs)} / at {min(costs)} = "
              f"{high / low:.2f}", flush=True)


def items_part(api: str, sizes: list[int], repeat: int, with_items: bool) -> None:
    server, url = start_server(api, 0, 0, 4)
    try:
        warm_up(api, url)
        ours1 = startup(api, url, repeat)
        floor1 = statistics.median(run_floor(api, url, 1)[0] for _ in range(repeat))
        if with_items:
            per_item(api, url, sizes, repeat, ours1, floor1)
    finally:
        server.terminate()


def latency_part(repeat: int) -> None:
    server, url = start_server("openai", 200, 0, 4)
    try:
        warm_up("openai", url)
        ours, floor = median_pair("openai", url, 1000, repeat)
        print(f"1000 items, 200 ms TTFT, c=32: ours {ours:.2f} s, floor {floor:.2f} s, "
              f"ratio {ours / floor:.3f}x; load {load()}", flush=True)
    finally:
        server.terminate()


TIMING_N = 320
"""Requests per run of the timing part. For ~2,000 a side (a TTFT median spread over ~30 ms
has a standard error well under 1 ms then), repeat short runs (``--repeat 6``) rather than
lengthen them: alternating often cancels the server's own drift between runs."""


def timing_part(repeat: int) -> None:
    server, url = start_server("openai", 50, 10, 8)
    try:
        ttft, itl, fttft, fitl = [], [], [], []
        for _ in range(repeat):
            _, floor = run_floor("openai", url, TIMING_N, record=True)
            fttft += floor["ttft"]
            fitl += floor["itl"]
            _, folder = run_ours("openai", url, TIMING_N)
            for r in records(folder):
                if r.get("ttft_s") is not None and (r.get("output_tokens") or 0) > 1:
                    ttft.append(r["ttft_s"])
                    itl.append((r["latency_s"] - r["ttft_s"]) / (r["output_tokens"] - 1))
            shutil.rmtree(folder, ignore_errors=True)
        for name, mine, base in (("TTFT", ttft, fttft), ("ITL (per-request mean)", itl, fitl)):
            (m, s), (fm, fs) = spread(mine), spread(base)
            print(f"{name}: median ours {m * 1000:.2f} ms vs floor {fm * 1000:.2f} ms "
                  f"(d = {(m - fm) * 1000:+.2f} ms); p90-p10 {s * 1000:.2f} vs {fs * 1000:.2f} ms "
                  f"({s / fs:.2f}x); {len(mine)} / {len(base)} requests; load {load()}", flush=True)
    finally:
        server.terminate()


def xdist_part(n: int, repeat: int) -> None:
    server, url = start_server("openai", 0, 0, 4)
    try:
        warm_up("openai", url)
        one, two, floor = [], [], []
        for _ in range(repeat):
            floor.append(run_floor("openai", url, n)[0])
            one.append(ours_wall("openai", url, n))
            two.append(ours_wall("openai", url, n, ("-n", "2")))
        o, t, f = statistics.median(one), statistics.median(two), statistics.median(floor)
        print(f"{n} items, 0 ms: -n 2 {t:.2f} s, one process {o:.2f} s ({t / o:.2f}x), "
              f"floor {f:.2f} s; {os.cpu_count()} CPUs; load {load()}", flush=True)
    finally:
        server.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1000,3000,10000")
    parser.add_argument("--engine", choices=["process", "thread"],
                        help="--llmbench-engine for our runs (default: the plugin's)")
    parser.add_argument("--only", choices=["items", "latency", "startup", "timing", "providers",
                                           "xdist"])
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.engine:
        ENGINE[:] = ["--llmbench-engine", args.engine]
    if args.only in (None, "startup", "items"):
        items_part("openai", sizes, args.repeat, args.only != "startup")
    if args.only in (None, "latency"):
        latency_part(args.repeat)
    if args.only in (None, "timing"):
        timing_part(args.repeat)
    if args.only in (None, "providers"):
        for api in ("anthropic", "bedrock"):
            items_part(api, sizes, args.repeat, True)
    if args.only in (None, "xdist"):
        xdist_part(max(sizes), args.repeat)


if __name__ == "__main__":
    main()
