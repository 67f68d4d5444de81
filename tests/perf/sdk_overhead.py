"""Per-item cost and start-up through the real OpenAI SDK against a fast server (a script).

The floor: a bare ``AsyncOpenAI`` client under ``asyncio.Semaphore(32)``, ``stream=True`` with
``include_usage``, reading every chunk and checking the answer, in a fresh process. Ours: the
same items as a YAML suite, ``pytest suite.yaml --llmbench-models openai:bench`` at
``--llmbench-concurrency 32``. Both against ``tests/perf/fast_server.py`` (raw asyncio, canned
SSE), runs alternating, median of ``--repeat``:

1. per-item cost: (wall(N) - wall(1)) / (N - 1) at 0 ms latency, N = 1,000 / 3,000 / 10,000;
2. latency-bound: 1,000 items, 200 ms TTFT, concurrency 32, wall including start-up;
3. start-up: a one-item run's wall time;
4. timing truth: 50 ms TTFT, 10 ms between tokens: our records' TTFT and ITL medians and
   p90-p10 spreads against the floor's on the same server.

    .venv/bin/python tests/perf/sdk_overhead.py --repeat 3
    .venv/bin/python tests/perf/sdk_overhead.py --only items --sizes 1000,3000 --repeat 1
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

FLOOR = r"""
import asyncio, json, sys, time
from openai import AsyncOpenAI

async def main(base, n, record):
    client = AsyncOpenAI(base_url=base, api_key="x", max_retries=0)
    sem = asyncio.Semaphore(32)
    ttfts, itls, ok = [], [], 0

    async def one(i):
        nonlocal ok
        async with sem:
            sent = time.perf_counter()
            stream = await client.chat.completions.create(
                model="bench", messages=[{"role": "user", "content": f"What is {i} * 0 + 42?"}],
                stream=True, stream_options={"include_usage": True}, max_tokens=16)
            text, first, last = [], None, None
            async for chunk in stream:
                now = time.perf_counter()
                if chunk.choices and chunk.choices[0].delta.content:
                    if first is None:
                        first = now
                    elif record:
                        itls.append(now - last)
                    last = now
                    text.append(chunk.choices[0].delta.content)
            if record and first is not None:
                ttfts.append(first - sent)
            ok += "".join(text).strip() == "42"

    await asyncio.gather(*(one(i) for i in range(n)))
    await client.close()
    print(json.dumps({"ok": ok, "ttft": ttfts, "itl": itls}))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"))
"""


def start_server(ttft_ms: float, itl_ms: float, tokens: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([PY, str(ROOT / "tests/perf/fast_server.py"), "--ttft-ms", str(ttft_ms),
                             "--itl-ms", str(itl_ms), "--tokens", str(tokens)],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    return proc, f"http://127.0.0.1:{line.split()[1]}/v1"


def project(base_url: str, n: int) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="llmbench-sdkperf-"))
    rows = "".join(json.dumps({"id": f"q{i:05d}", "question": f"{i} * 0 + 42", "answer": "42"})
                   + "\n" for i in range(n))
    (folder / "data.jsonl").write_text(rows)
    (folder / "suite.yaml").write_text("name: bench\ndataset: data.jsonl\n"
                                       "prompt: 'What is {question}?'\nexpected: answer\n"
                                       "params: {max_tokens: 16}\n")
    (folder / "llmbench.yaml").write_text(
        f"models:\n  openai:bench: {{base_url: '{base_url}', api_key: x}}\n")
    return folder


def run_ours(base_url: str, n: int) -> tuple[float, Path]:
    folder = project(base_url, n)
    started = time.perf_counter()
    done = subprocess.run([PY, "-m", "pytest", "suite.yaml", "-q", "-p", "no:cacheprovider",
                           "--llmbench-models", "openai:bench", "--llmbench-concurrency", "32",
                           "--llmbench-progress", "off"],
                          cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"our run failed:\n{done.stdout[-3000:]}")
    return wall, folder


def run_floor(base_url: str, n: int, record: bool = False) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = subprocess.run([PY, "-c", FLOOR, base_url, str(n), "1" if record else "0"],
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    result = json.loads(done.stdout)
    if result["ok"] != n:
        raise SystemExit(f"floor: {result['ok']} of {n} right")
    return wall, result


def records(folder: Path) -> list[dict[str, Any]]:
    path = folder / ".llmbench/runs/latest/records.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def median_pair(base_url: str, n: int, repeat: int) -> tuple[float, float]:
    ours, floor = [], []
    for _ in range(repeat):
        floor.append(run_floor(base_url, n)[0])
        wall, folder = run_ours(base_url, n)
        shutil.rmtree(folder, ignore_errors=True)
        ours.append(wall)
    return statistics.median(ours), statistics.median(floor)


def spread(values: list[float]) -> tuple[float, float]:
    qs = statistics.quantiles(values, n=10)
    return statistics.median(values), qs[-1] - qs[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1000,3000,10000")
    parser.add_argument("--only", choices=["items", "latency", "startup", "timing"])
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    server, url = start_server(0, 0, 4)
    try:
        if args.only in (None, "startup", "items"):
            ours1, floor1 = median_pair(url, 1, args.repeat)
            print(f"start-up (1 item): ours {ours1:.2f} s, floor {floor1:.2f} s, "
                  f"ratio {ours1 / floor1:.2f}x")
        if args.only in (None, "items"):
            per_item = {}
            for n in sizes:
                ours, floor = median_pair(url, n, args.repeat)
                o, f = (ours - ours1) / (n - 1) * 1000, (floor - floor1) / (n - 1) * 1000
                per_item[n] = o
                print(f"{n:>6} items, 0 ms: ours {ours:.2f} s, floor {floor:.2f} s; per item "
                      f"{o:.2f} ms vs {f:.2f} ms = {o / f:.2f}x")
            if len(per_item) > 1:
                low, high = per_item[min(per_item)], per_item[max(per_item)]
                print(f"linearity: per-item at {max(per_item)} / at {min(per_item)} = "
                      f"{high / low:.2f}")
    finally:
        server.terminate()
    if args.only in (None, "latency"):
        server, url = start_server(200, 0, 4)
        try:
            ours, floor = median_pair(url, 1000, args.repeat)
            print(f"1000 items, 200 ms TTFT, c=32: ours {ours:.2f} s, floor {floor:.2f} s, "
                  f"ratio {ours / floor:.3f}x")
        finally:
            server.terminate()
    if args.only in (None, "timing"):
        server, url = start_server(50, 10, 8)
        try:
            _, floor = run_floor(url, 320, record=True)
            _, folder = run_ours(url, 320)
            recs = records(folder)
            shutil.rmtree(folder, ignore_errors=True)
            ttft = [r["ttft_s"] for r in recs if r.get("ttft_s") is not None]
            itl = [g for r in recs for g in (r.get("metrics") or {}).get("itl_s", [])]
            (tm, ts), (fm, fs) = spread(ttft), spread(floor["ttft"])
            print(f"TTFT median ours {tm * 1000:.2f} ms vs floor {fm * 1000:.2f} ms "
                  f"(d = {(tm - fm) * 1000:+.2f} ms); p90-p10 {ts * 1000:.2f} vs {fs * 1000:.2f} ms "
                  f"({ts / fs:.2f}x)")
            if itl:
                (im, isp), (gm, gs) = spread(itl), spread(floor["itl"])
                print(f"ITL median ours {im * 1000:.2f} ms vs floor {gm * 1000:.2f} ms "
                      f"(d = {(im - gm) * 1000:+.2f} ms); p90-p10 {isp * 1000:.2f} vs "
                      f"{gs * 1000:.2f} ms")
            else:
                print("ITL: records carry no per-gap samples (metrics.itl_s)")
        finally:
            server.terminate()


if __name__ == "__main__":
    main()
