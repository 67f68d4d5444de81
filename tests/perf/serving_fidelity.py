"""Do our serving figures match what a minimal raw client sees? (a script, not a test)

On two servers, the project's simulator and guidellm's mock server, each set
to TTFT 100 ms, ITL 10 ms and 128 output tokens, and at each concurrency
level, it runs in turn in the same run (rotating which goes first): our load
generator (``serving.load.LoadRunner``: the ``sim:`` provider on the simulator,
``vllm:`` on the mock server, as a user would, read with plain httpx or, with
``--client sdk``, through the OpenAI SDK), a
minimal raw async httpx client written here (one SSE stream per request,
``perf_counter`` stamps, TTFT at the first content chunk, ITL = pooled gaps
between content chunks) and, with ``--guidellm VENV``, guidellm 0.8.1 itself.
Ours and the raw client first send one warm-up wave that is left out;
guidellm sends the same prompts, as many in all, with no warm-up phase. Printed per
server and level: TTFT and ITL medians of each (guidellm's ITL is the median of
per-request means, its own definition), our difference to the raw client
(target: within 2 ms, and no farther than guidellm's, 0.5 ms counting as a
tie), request throughput ratio ours / raw (target >= 0.95) and CPU ms per
request of each. Misses are flagged, never asserted; exit status is 0.
``--processes N`` runs ours (the suite's ``processes: N``) and the raw client
split the same way (N processes, each with its share of the streams and
prompts, started together, figures from the pooled samples) at levels from
``--split-from`` (256) up, where one process of either is client-bound here.
``--mock-provider sim`` reads the mock server with the ``sim:`` provider instead
of ``vllm:``; ``--servers`` picks the servers.

guidellm is no dependency (torch, about 6 GB): install it in a venv of its own
(``python3 -m venv /work/guidellm-venv && /work/guidellm-venv/bin/pip install
guidellm==0.8.1``). Without ``--guidellm`` the mock server is used only when
``--mock-url`` names a running one; otherwise that server is skipped.

    .venv/bin/python tests/perf/serving_fidelity.py                  # c = 1, 16, 64, 256
    .venv/bin/python tests/perf/serving_fidelity.py --guidellm /work/guidellm-venv --repeat 3
    .venv/bin/python tests/perf/serving_fidelity.py --levels 16 --mock-url http://127.0.0.1:8765
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from guidellm_side import MOCK_MODEL, Guidellm

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.serving.load import point_seed, prompts_for
from pytest_llmbench.serving.metrics import summarize
from pytest_llmbench.serving.scenario import Point, load_serving_suite
from pytest_llmbench.serving.split import runner_for
from pytest_llmbench.sim import start_sim_process

TTFT_MS, ITL_MS, TOKENS, PROMPT_TOKENS = 100, 10, 128, 128
NOISE_MS = 0.5  # a difference to the raw client this small counts as a tie with guidellm
SIM = {"models": {"perf": {"policy": "lorem", "ttft_ms": TTFT_MS, "itl_ms": ITL_MS,
                           "output_tokens": TOKENS}}}
SUITE = f"""kind: serving
name: fidelity
prompts: {{input_tokens: {PROMPT_TOKENS}}}
max_tokens: {TOKENS}
scenarios: [{{concurrency: 1, requests: 1}}]
harness: {{max_cpu: 0.8, max_loop_lag_ms: 20}}
"""  # + the suite's client: key (--client)


@dataclass
class Figures:
    ttft_p50: float
    itl_p50: float
    req_s: float
    cpu_ms_per_req: float
    note: str = ""


@dataclass
class Server:
    """One server under test: where it listens and the model spec our runner uses."""

    name: str
    base_url: str
    model: str
    spec: ModelSpec
    context: dict[str, Any]


def same_prompts(suite_path: Path, server: Server, level: int, count: int
                 ) -> list[list[dict[str, str]]]:
    """The prompts our generator sends at this level, so both clients send the same."""
    suite = load_serving_suite(suite_path)
    point = Point(id=f"c{level}", concurrency=level, requests=count)
    return prompts_for(suite, count, random.Random(point_seed(suite, server.spec.name, point)))


def middle(runs: list[Figures]) -> Figures | None:
    """Per-figure medians over repeated runs."""
    if not runs:
        return None
    flagged = [r.note for r in runs if r.note]
    notes = f"ours unreliable in {len(flagged)}/{len(runs)} runs ({flagged[0]})" if flagged else ""
    return Figures(*(statistics.median(getattr(r, f) for r in runs)
                     for f in ("ttft_p50", "itl_p50", "req_s", "cpu_ms_per_req")), notes)


def requests_for(level: int) -> int:
    return max(10, level * 4)


@dataclass
class RawPart:
    """What one raw-client process measured: its latencies, CPU and window (unix times)."""

    ttfts: list[float]
    gaps: list[float]
    cpu_s: float
    began: float
    ended: float


def share(total: int, index: int, count: int) -> int:
    return total // count + (index < total % count)


async def raw_client(url: str, model: str, level: int, count: int, warmup: int,
                     prompts: list[list[dict[str, str]]], part: tuple[int, int] = (0, 1),
                     barrier: Any = None) -> RawPart:
    """The reference: a bare closed loop of ``level`` streams sending ``prompts``; as part
    (i, n) of a split, its share of the streams and every n-th prompt, started with the
    other parts at ``barrier``."""
    body = {"model": model, "max_tokens": TOKENS, "stream": True,
            "stream_options": {"include_usage": True}}
    index, parts = part
    level = share(level, index, parts)
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

        await loop(list(range(warmup))[index::parts], keep=False)
        if barrier is not None:
            await asyncio.to_thread(barrier.wait)
        cpu0, began = time.process_time(), time.time()
        await loop(list(range(warmup, warmup + count))[index::parts], keep=True)
        ended, cpu = time.time(), time.process_time() - cpu0
    return RawPart(ttfts, gaps, cpu, began, ended)


def raw_part(queue: Any, barrier: Any, *args: Any) -> None:
    """A split raw client's process (spawned): its part, sent back on ``queue``."""
    queue.put(asyncio.run(raw_client(*args, barrier=barrier)))


def raw_figures(url: str, model: str, level: int, count: int, warmup: int,
                prompts: list[list[dict[str, str]]], processes: int) -> Figures:
    """The raw client in one process, or split over ``processes`` started together;
    its figures from the pooled latencies over the union window."""
    if processes == 1:
        parts = [asyncio.run(raw_client(url, model, level, count, warmup, prompts))]
    else:
        ctx = multiprocessing.get_context("spawn")
        queue, barrier = ctx.Queue(), ctx.Barrier(processes)
        procs = [ctx.Process(target=raw_part, args=(queue, barrier, url, model, level, count,
                                                    warmup, prompts, (i, processes)))
                 for i in range(processes)]
        for proc in procs:
            proc.start()
        parts = [queue.get(timeout=600) for _ in procs]
        for proc in procs:
            proc.join()
    ttfts = [t for p in parts for t in p.ttfts]
    gaps = [g for p in parts for g in p.gaps]
    wall = max(p.ended for p in parts) - min(p.began for p in parts)
    return Figures(statistics.median(ttfts) * 1000, statistics.median(gaps) * 1000,
                   len(ttfts) / wall, sum(p.cpu_s for p in parts) / count * 1000)


def ours(server: Server, suite_path: Path, level: int, count: int, warmup: int,
         processes: int) -> Figures:
    suite = load_serving_suite(suite_path)
    point = Point(id=f"c{level}", concurrency=level, requests=count, warmup=warmup)
    result = runner_for(server.spec, server.context, 120.0, suite, point, processes).run(
        suite, point)
    s = summarize(result.window)
    harness = result.harness
    return Figures(s["ttft_ms"]["p50"], s["itl_ms"]["p50"], s["request_throughput"],
                   harness["cpu_s"] / max(1, s["completed"]) * 1000,
                   harness["unreliable"] or "")


def guidellm_figures(gl: Guidellm, server: Server, level: int,
                     prompts: list[list[dict[str, str]]]) -> Figures:
    run = gl.run(server.base_url, server.model, level, [m[-1]["content"] for m in prompts],
                 TOKENS)
    return Figures(run.ttft_p50, run.itl_p50, run.req_s,
                   run.cpu_s / max(1, run.requests) * 1000)


def start_servers(args: argparse.Namespace, gl: Guidellm | None,
                  stack: contextlib.ExitStack) -> list[Server | str]:
    """The simulator, and guidellm's mock server (started, or at ``--mock-url``), or a
    one-line reason why it is skipped."""
    out: list[Server | str] = []
    if "sim" in args.servers:
        sim = start_sim_process(port=0, config=SIM)
        stack.callback(sim.stop)
        out.append(Server("sim", sim.base_url, "perf", ModelSpec("sim", "perf"),
                          {"sim_url": sim.base_url}))
    if "mock" not in args.servers:
        return out
    url = args.mock_url
    if url is None and gl is not None:
        try:
            mock = gl.start_mock(TTFT_MS, ITL_MS, TOKENS)
        except RuntimeError as exc:
            out.append(f"guidellm-mock: skipped, it did not start: {exc}")
            return out
        stack.callback(mock.stop)
        url = mock.base_url
    if url is None:
        out.append("guidellm-mock: skipped (give --guidellm VENV to start it, "
                   "or --mock-url URL of a running one)")
        return out
    url = url.rstrip("/")
    base = url + ("/v1" if args.mock_provider == "vllm" else "")
    spec = ModelSpec(args.mock_provider, MOCK_MODEL, settings={"base_url": base})
    out.append(Server("guidellm-mock", url, MOCK_MODEL, spec, {}))
    return out


def measure(server: Server, suite_path: Path, level: int, repeat: int,
            gl: Guidellm | None, processes: int) -> dict[str, Figures | None]:
    """Every client ``repeat`` times at one level, rotating which goes first; ours and the
    raw client over ``processes`` processes each."""
    count, warmup = requests_for(level), level
    url = server.base_url + "/v1/chat/completions"
    prompts = same_prompts(suite_path, server, level, count + warmup)
    clients: dict[str, Callable[[], Figures]] = {
        "raw": lambda: raw_figures(url, server.model, level, count, warmup, prompts, processes),
        "ours": lambda: ours(server, suite_path, level, count, warmup, processes),
    }
    if gl is not None:
        clients["guidellm"] = lambda: guidellm_figures(gl, server, level, prompts)
    runs: dict[str, list[Figures]] = {name: [] for name in clients}
    names = list(clients)
    for rep in range(repeat):
        for name in names[rep % len(names):] + names[:rep % len(names)]:
            try:
                runs[name].append(clients[name]())
            except Exception as exc:  # noqa: BLE001 - one failed client is a line, not a crash
                print(f"  {server.name} c={level} {name}: failed: {type(exc).__name__}: {exc}")
    return {name: middle(r) for name, r in runs.items()}


def tie_or_closer(ours_off: float, theirs_off: float) -> bool:
    """Ours is at least as close to the raw client as guidellm, or within noise of it."""
    return abs(ours_off) <= max(NOISE_MS, abs(theirs_off))


def row(server: str, level: int, got: dict[str, Figures | None]) -> str:
    mine, raw, gl = got["ours"], got["raw"], got.get("guidellm")
    if mine is None or raw is None:
        return f"{server:<13} {level:>4} | no figures (a client failed)"

    def cell(attr: str, fmt: str) -> str:
        values = [getattr(f, attr) if f else None for f in (mine, raw, gl)]
        return "/".join("-" if v is None else format(v, fmt) for v in values)

    d_ttft, d_itl = mine.ttft_p50 - raw.ttft_p50, mine.itl_p50 - raw.itl_p50
    ratio = mine.req_s / raw.req_s
    checks = [("TTFT", abs(d_ttft) <= 2), ("ITL", abs(d_itl) <= 2), ("throughput", ratio >= 0.95)]
    if gl is not None:  # closer to raw than guidellm, or both within noise of it
        checks += [("TTFT vs guidellm", tie_or_closer(d_ttft, gl.ttft_p50 - raw.ttft_p50)),
                   ("ITL vs guidellm", tie_or_closer(d_itl, gl.itl_p50 - raw.itl_p50))]
    misses = [name for name, ok in checks if not ok]
    verdict = "ok" if not misses else "MISS " + ",".join(misses)
    return (f"{server:<13} {level:>4} | {cell('ttft_p50', '.1f'):>17} {d_ttft:>+6.2f} | "
            f"{cell('itl_p50', '.2f'):>17} {d_itl:>+6.2f} | {cell('req_s', '.2f'):>17} "
            f"{ratio:>6.3f} | {cell('cpu_ms_per_req', '.1f'):>16} | {verdict} {mine.note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,16,64,256")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per client and level (medians of their figures are shown)")
    parser.add_argument("--servers", default="sim,mock",
                        help="sim (the project's simulator), mock (guidellm's mock server)")
    parser.add_argument("--guidellm", type=Path, metavar="VENV",
                        help="a virtual environment with guidellm 0.8.1: start its mock server "
                             "and run guidellm itself next to ours")
    parser.add_argument("--mock-url", help="a running guidellm mock server (model mock-model)")
    parser.add_argument("--mock-provider", choices=("vllm", "sim"), default="vllm",
                        help="our provider on the mock server: vllm (as a user would) or sim")
    parser.add_argument("--client", choices=("raw", "sdk"), default="raw",
                        help="the serving suite's client: for vllm: plain httpx (raw, the "
                             "default) or the OpenAI SDK")
    parser.add_argument("--processes", type=int, default=1,
                        help="load processes of ours (processes: N) and of the raw client at "
                             "levels >= --split-from (a single process is client-bound at "
                             "c=256 here)")
    parser.add_argument("--split-from", type=int, default=256, metavar="C",
                        help="the lowest concurrency that --processes applies to")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        gl = Guidellm(args.guidellm, tmp) if args.guidellm else None
        suite_path = tmp / "fidelity.yaml"
        suite_path.write_text(SUITE + f"client: {args.client}\n")
        servers = start_servers(args, gl, stack)
        print(f"servers: TTFT {TTFT_MS} ms, ITL {ITL_MS} ms, {TOKENS} tokens; closed loop; "
              f"medians over {args.repeat} run(s); cells ours/raw/guidellm; ours and raw in "
              f"{args.processes} process(es) at c >= {args.split_from}")
        print(f"{'server':<13} {'c':>4} | {'TTFT p50 ms':>17} {'d':>6} | {'ITL p50 ms':>17} "
              f"{'d':>6} | {'req/s':>17} {'ratio':>6} | {'CPU ms/req':>16} | verdict")
        for server in servers:
            if isinstance(server, str):
                print(server)
                continue
            for level in levels:
                processes = args.processes if level >= args.split_from else 1
                got = measure(server, suite_path, level, args.repeat, gl, processes)
                print(row(server.name, level, got), flush=True)


if __name__ == "__main__":
    main()
