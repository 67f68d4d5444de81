"""Do our serving figures match what a minimal raw client sees? (a script, not a test)

Starts the simulator with a ``perf`` model (TTFT 100 ms, ITL 10 ms, 128 output
tokens) and, at each concurrency level, runs two closed-loop clients in turn
against it in the same run (alternating which goes first): pytest-llmbench's load generator
(``serving.load.LoadRunner`` through the ``sim:`` provider) and a minimal raw
async httpx client written here (one SSE stream per request, ``perf_counter``
stamps, TTFT at the first content chunk, ITL = pooled gaps between content
chunks). Both first send one warm-up wave that is left out. Printed per
level: TTFT and ITL medians of both and their differences (target: within
2 ms), request throughput ratio ours / raw (target >= 0.95), each client's
CPU time per request, and our harness flag. Misses are flagged, never
asserted; exit status is 0. Run it on an otherwise idle machine.

    .venv/bin/python tests/perf/serving_fidelity.py              # c = 1, 16, 64
    .venv/bin/python tests/perf/serving_fidelity.py --levels 1,16,64,256 --repeat 3

guidellm is not compared here: its install pulls torch and transformers (about
6 GB, see shared/reference/perf_anchors.md) and it needs a locally trained
tokenizer; its published figures on this server type are in that file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.serving.load import LoadRunner, point_seed, prompts_for
from pytest_llmbench.serving.metrics import summarize
from pytest_llmbench.serving.scenario import Point, load_serving_suite
from pytest_llmbench.sim import start_sim_process

TTFT_MS, ITL_MS, TOKENS = 100, 10, 128
SIM = {"models": {"perf": {"policy": "lorem", "ttft_ms": TTFT_MS, "itl_ms": ITL_MS,
                           "output_tokens": TOKENS}}}
SUITE = f"""kind: serving
name: fidelity
prompts: {{input_tokens: 128}}
max_tokens: {TOKENS}
scenarios: [{{concurrency: 1, requests: 1}}]
harness: {{max_cpu: 0.8, max_loop_lag_ms: 20}}
"""


@dataclass
class Figures:
    ttft_p50: float
    itl_p50: float
    req_s: float
    cpu_ms_per_req: float
    note: str = ""


def same_prompts(suite_path: Path, level: int, count: int) -> list[list[dict[str, str]]]:
    """The prompts our generator sends at this level, so both clients send the same."""
    suite = load_serving_suite(suite_path)
    point = Point(id=f"c{level}", concurrency=level, requests=count)
    return prompts_for(suite, count, random.Random(point_seed(suite, "sim:perf", point)))


def middle(runs: list[Figures]) -> Figures:
    """Per-figure medians over repeated runs."""
    notes = "; ".join(sorted({r.note for r in runs if r.note}))
    return Figures(*(statistics.median(getattr(r, f) for r in runs)
                     for f in ("ttft_p50", "itl_p50", "req_s", "cpu_ms_per_req")), notes)


def requests_for(level: int) -> int:
    return max(10, level * 4)


async def raw_client(url: str, level: int, count: int, warmup: int,
                     prompts: list[list[dict[str, str]]]) -> Figures:
    """The reference: a bare closed loop of ``level`` streams sending ``prompts``."""
    body = {"model": "perf", "max_tokens": TOKENS, "stream": True,
            "stream_options": {"include_usage": True}}
    ttfts: list[float] = []
    gaps: list[float] = []
    async with httpx.AsyncClient(timeout=None, limits=httpx.Limits(
            max_connections=None, max_keepalive_connections=1024)) as client:

        async def one(index: int, keep: bool) -> None:
            payload = {**body, "messages": prompts[index]}
            start = time.perf_counter()
            last = None
            async with client.stream("POST", url, json=payload) as resp:
                async for line in resp.aiter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    choices = chunk.get("choices") or []
                    if not choices or not choices[0].get("delta", {}).get("content"):
                        continue
                    now = time.perf_counter()
                    if keep:
                        if last is None:
                            ttfts.append(now - start)
                        else:
                            gaps.append(now - last)
                    last = now

        async def loop(todo: list[int], keep: bool) -> None:
            it = iter(todo)

            async def user() -> None:
                for index in it:
                    await one(index, keep)

            await asyncio.gather(*(user() for _ in range(level)))

        await loop(list(range(warmup)), keep=False)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await loop(list(range(warmup, warmup + count)), keep=True)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Figures(statistics.median(ttfts) * 1000, statistics.median(gaps) * 1000,
                   len(ttfts) / wall, cpu / count * 1000)


def ours(base_url: str, suite_path: Path, level: int, count: int, warmup: int) -> Figures:
    suite = load_serving_suite(suite_path)
    point = Point(id=f"c{level}", concurrency=level, requests=count, warmup=warmup)
    result = LoadRunner(ModelSpec("sim", "perf"), {"sim_url": base_url}).run(suite, point)
    s = summarize(result.window)
    harness = result.harness
    return Figures(s["ttft_ms"]["p50"], s["itl_ms"]["p50"], s["request_throughput"],
                   harness["cpu_s"] / max(1, s["completed"]) * 1000,
                   f"unreliable: {harness['unreliable']}" if harness["unreliable"] else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,16,64")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per client and level (medians of their figures are shown)")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    sim = start_sim_process(port=0, config=SIM)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            suite_path = Path(tmp) / "fidelity.yaml"
            suite_path.write_text(SUITE)
            print(f"simulator TTFT {TTFT_MS} ms, ITL {ITL_MS} ms, {TOKENS} tokens; "
                  f"closed loop, warm-up wave excluded")
            print(f"{'c':>4} {'n':>5} | {'TTFT p50 ours/raw ms':>22} {'d':>6} | "
                  f"{'ITL p50 ours/raw ms':>20} {'d':>6} | {'req/s ours/raw':>16} {'ratio':>6} | "
                  f"{'CPU ms/req ours/raw':>20}  verdict")
            for level in levels:
                count = requests_for(level)
                warmup = level
                raws, mines = [], []
                for rep in range(args.repeat):  # alternate which client goes first
                    for who in (("raw", "ours") if rep % 2 == 0 else ("ours", "raw")):
                        if who == "raw":
                            raws.append(asyncio.run(raw_client(
                                sim.base_url + "/v1/chat/completions", level, count, warmup,
                                same_prompts(suite_path, level, count + warmup))))
                        else:
                            mines.append(ours(sim.base_url, suite_path, level, count, warmup))
                raw, mine = middle(raws), middle(mines)
                d_ttft, d_itl = mine.ttft_p50 - raw.ttft_p50, mine.itl_p50 - raw.itl_p50
                ratio = mine.req_s / raw.req_s
                misses = [name for name, ok in (("TTFT", abs(d_ttft) <= 2),
                                                ("ITL", abs(d_itl) <= 2),
                                                ("throughput", ratio >= 0.95)) if not ok]
                verdict = "ok" if not misses else "MISS " + ",".join(misses)
                print(f"{level:>4} {count:>5} | {mine.ttft_p50:>10.2f}/{raw.ttft_p50:<10.2f}"
                      f" {d_ttft:>+6.2f} | {mine.itl_p50:>9.2f}/{raw.itl_p50:<9.2f}"
                      f" {d_itl:>+6.2f} | {mine.req_s:>7.2f}/{raw.req_s:<7.2f}  {ratio:>6.3f}"
                      f" | {mine.cpu_ms_per_req:>9.2f}/{raw.cpu_ms_per_req:<9.2f}  {verdict}"
                      f" {mine.note}")
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
