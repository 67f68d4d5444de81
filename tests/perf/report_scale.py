"""report.html at scale: write time, file size and render time for N records (a script, not a test).

Makes N synthetic records (default 100,000: 4 models x 5 suites, chat prompts
of ~250 characters, responses of ~150, score details, a few errors) and
prints, each the median of ``--repeat`` timed runs with baseline and measured
runs alternating:

1. baseline -- ``json.dump`` of the same records (the standard json module);
2. the run directory's writers as the controller drives them, fed record by
   record: records.jsonl (``RunDir.append``), records.csv (``RecordsCsv``),
   summary.json/csv (``SummaryBuilder`` + ``write_summary``), report.html
   (``HtmlReport``), each timed apart and in total, with the ratio to (1)
   (issue 6's target: JSON + CSV + HTML <= 3x);
3. ``llmbench report`` rebuilding report.html from records.jsonl;
4. report.html's size, and in headless Chromium (when installed): the
   in-page time to the rendered overview (``performance.now()`` when the
   aggregates are drawn), the wall time of ``chromium --dump-dom`` for that page
   against an empty page, and the wall time to unpack all items and filter them.

    .venv/bin/python tests/perf/report_scale.py                # 100,000 records
    .venv/bin/python tests/perf/report_scale.py -n 10000 --repeat 1
    .venv/bin/python tests/perf/report_scale.py --screenshot report-screenshot.png
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pytest_llmbench.report.files import RecordsCsv, write_summary  # noqa: E402
from pytest_llmbench.report.html import HtmlReport, write_report  # noqa: E402
from pytest_llmbench.results.record import Record  # noqa: E402
from pytest_llmbench.results.run_dir import RunDir  # noqa: E402
from pytest_llmbench.results.summary import SummaryBuilder  # noqa: E402

MODELS = ("openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "sim:default", "vllm:llama-3.1-8b")
SUITES = ("gsm8k", "mmlu", "arc", "hellaswag", "truthfulqa")
PRICE = {"openai:gpt-4o-mini": 1.5e-5, "anthropic:claude-haiku-4-5": 4e-5, "sim:default": 2e-6}
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage")


def make_records(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    words = "the of and a to in is you that it he was for on are as with his they at be".split()
    records = []
    for i in range(n):
        model, suite = MODELS[i % len(MODELS)], SUITES[(i // len(MODELS)) % len(SUITES)]
        case = f"q{i // (len(MODELS) * len(SUITES)):05d}"
        question = " ".join(rng.choice(words) for _ in range(40))
        answer = str(rng.randint(0, 999))
        roll = rng.random()
        outcome = "error" if roll < 0.02 else "passed" if roll < 0.75 else "failed"
        latency = rng.lognormvariate(-0.5, 0.5)
        got = answer if outcome == "passed" else str(rng.randint(0, 999))
        record = Record(
            run_id="perf", nodeid=f"bench/{suite}.yaml::{suite}[{model}/{case}]", suite=suite,
            case_id=case, model=model, outcome=outcome, provider=model.split(":")[0],
            prompt=[{"role": "system", "content": "Answer with the number only."},
                    {"role": "user", "content": f"Question: {question}?"}],
            expected=answer, started_at=1.7e9 + i, finished_at=1.7e9 + i + latency,
            duration_s=latency, worker=f"gw{i % 4}", params={"temperature": 0})
        if outcome == "error":
            record.error = f"{model} - RateLimitError: rate limit reached (after 4 attempts)"
            record.error_kind, record.attempts = "rate_limit", 4
        else:
            record.calls = record.attempts = 1
            record.response = f"Let me think. {' '.join(rng.choice(words) for _ in range(20))}. " \
                              f"The answer is {got}."
            record.score = 1.0 if outcome == "passed" else 0.0
            record.score_details = {"extracted": got, "extraction_failed": False}
            record.input_tokens, record.output_tokens = 60, rng.randint(20, 60)
            record.latency_s, record.ttft_s = latency, latency * 0.2
            record.output_tps = record.output_tokens / (latency * 0.8)
            record.cost_usd = PRICE.get(model)
            record.finish_reason = "stop"
        records.append(record.to_dict())
    return records


def baseline(records: list[dict[str, Any]], out: Path) -> dict[str, float]:
    start = time.perf_counter()
    with (out / "records.json").open("w", encoding="utf-8") as handle:
        json.dump(records, handle)
    middle = time.perf_counter()
    (out / "records2.json").write_text(json.dumps(records), encoding="utf-8")
    return {"json.dump": middle - start, "json.dumps": time.perf_counter() - middle}


def writers(records: list[dict[str, Any]], out: Path) -> dict[str, float]:
    """The controller's path: every writer fed per record, then the finish."""
    run_dir = RunDir(out, "run")
    run_dir.start({"models": [{"name": m} for m in MODELS]})
    csv = RecordsCsv(run_dir.path)
    summary, report = SummaryBuilder(), HtmlReport()
    parts = dict.fromkeys(("records.jsonl", "records.csv", "summary", "report.html"), 0.0)
    clock = time.perf_counter
    for record in records:
        t0 = clock()
        run_dir.append(record)
        t1 = clock()
        csv.append(record)
        t2 = clock()
        summary.add(record)
        t3 = clock()
        report.add(record)
        t4 = clock()
        parts["records.jsonl"] += t1 - t0
        parts["records.csv"] += t2 - t1
        parts["summary"] += t3 - t2
        parts["report.html"] += t4 - t3
    t0 = clock()
    run_dir.close()
    csv.close()
    t1 = clock()
    rows = summary.rows()
    write_summary(run_dir.path, rows, {"run_id": "run"})
    t2 = clock()
    report.write(run_dir.path, summary=summary, rows=rows,
                 info={**run_dir.info, "status": "completed"})
    t3 = clock()
    parts["records.jsonl"] += (t1 - t0) / 2
    parts["records.csv"] += (t1 - t0) / 2
    parts["summary"] += t2 - t1
    parts["report.html"] += t3 - t2
    parts["total"] = sum(parts.values())
    return parts


def rebuild(out: Path) -> dict[str, float]:
    start = time.perf_counter()
    write_report(out / "run")
    return {"llmbench report": time.perf_counter() - start}


def timed(repeat: int, steps: list[Callable[[], dict[str, float]]]) -> list[dict[str, float]]:
    """Median per figure over ``repeat`` rounds, steps alternating within each round."""
    rounds: list[list[dict[str, float]]] = [[] for _ in steps]
    for _ in range(repeat):
        for index, step in enumerate(steps):
            rounds[index].append(step())
    return [{k: statistics.median(r[k] for r in results) for k in results[0]} for results in rounds]


def chromium(binary: str, url: str, profile: Path, *extra: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=600, check=False)
    return time.perf_counter() - start, proc.stdout


def html_attr(dom: str, name: str, absent: str = "?") -> str:
    match = re.search(rf'<html[^>]*\s{name}="([^"]*)"', dom)
    return match.group(1) if match else absent


def render(report: Path, work: Path, screenshot: Path | None) -> None:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        print("chromium: not installed (apt-get install chromium); render times skipped")
        return
    empty = work / "empty.html"
    empty.write_text("<!doctype html><title>empty</title><p>empty</p>")
    profile = work / "profile"
    chromium(binary, empty.as_uri(), profile, "--dump-dom")  # warm the profile and page cache
    base_s, _ = chromium(binary, empty.as_uri(), profile, "--dump-dom")
    page_s, dom = chromium(binary, report.as_uri(), profile, "--dump-dom")
    print(f"chromium first render: {html_attr(dom, 'data-render-ms')} ms after navigation start "
          f"(in-page performance.now(); script errors: {html_attr(dom, 'data-errors', 'none')})")
    print(f"chromium --dump-dom wall: empty page {base_s:.2f} s, report {page_s:.2f} s (includes "
          "serialising the embedded item chunks to stdout)")
    shot = ("--window-size=1400,1000", f"--screenshot={work / 'shot.png'}")
    empty_shot, _ = chromium(binary, empty.as_uri(), profile, *shot)
    page_shot, _ = chromium(binary, report.as_uri(), profile, *shot)
    print(f"chromium --screenshot wall (load, draw, capture): empty page {empty_shot:.2f} s, "
          f"report {page_shot:.2f} s")
    items_s, dom = chromium(binary, report.as_uri() + "#items?filter=errors", profile,
                            "--virtual-time-budget=120000", "--dump-dom")
    print(f"chromium items view (unpack all, filter errors): {items_s:.2f} s wall, "
          f"{html_attr(dom, 'data-items-loaded')} items loaded, "
          f"{len(re.findall('<details class=.item', dom))} item rows in the DOM")
    if screenshot is not None:
        chromium(binary, report.as_uri(), profile, "--virtual-time-budget=10000",
                 "--window-size=1400,2200", "--hide-scrollbars", f"--screenshot={screenshot}")
        print(f"screenshot: {screenshot}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()
    records = make_records(args.records)
    with tempfile.TemporaryDirectory(prefix="llmbench-report-") as tmp:
        work = Path(tmp)

        def fresh(step: Callable[[list[dict[str, Any]], Path], dict[str, float]]) -> Any:
            def run() -> dict[str, float]:
                out = work / "out"
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                return step(records, out)
            return run

        base, parts = timed(args.repeat, [fresh(baseline), fresh(writers)])
        again = timed(1, [lambda: rebuild(work / "out")])[0]
        reference = base["json.dump"]
        print(f"{args.records:,} records, median of {args.repeat}")
        print(f"  baseline json.dump of the records to a file: {reference:.2f} s "
              f"(json.dumps to one string, then written: {base['json.dumps']:.2f} s)")
        for name, seconds in parts.items():
            print(f"  {name:<14} {seconds:6.2f} s  {seconds / reference:5.2f}x baseline")
        flag = "ok" if parts["total"] <= 3 * reference else "MISS"
        print(f"  target JSON + CSV + HTML <= 3x baseline: {parts['total'] / reference:.2f}x {flag} "
              f"({parts['total'] / base['json.dumps']:.2f}x json.dumps)")
        print(f"  llmbench report (rebuild from records.jsonl): {again['llmbench report']:.2f} s")
        report = work / "out" / "run" / "report.html"
        jsonl = work / "out" / "run" / "records.jsonl"
        print(f"report.html: {report.stat().st_size / 1e6:.1f} MB "
              f"(records.jsonl {jsonl.stat().st_size / 1e6:.1f} MB)")
        render(report, work, args.screenshot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
