"""The results server at scale (a script, not a test): ingest throughput, run-page time
and memory, on SQLite and PostgreSQL, against a baseline measured in the same run.

1. baseline: the same N records appended to records.jsonl by ``RunDir.append`` (what the
   controller does for every record);
2. ingest: ``llmbench server`` in a subprocess; 8 ingester processes post their share of
   one run id with the plugin's own client (spool + ``send``, batches of 1,000); records/s
   stored and the ratio to (1); every record checked stored exactly once; the server's peak
   RSS (sampled every 50 ms) overall and when the first 10% were stored;
3. the run page of that N-item run: server time (request wall time on loopback) of the
   first page and of a filtered page (outcome + model), median and p95 of 20 after one
   cold request; and, in headless Chromium (selenium + chromium-driver), the page's load
   time (navigationStart -> loadEventEnd).

    .venv/bin/python tests/perf/server_scale.py                  # 100,000 records, both DBs
    .venv/bin/python tests/perf/server_scale.py -n 20000 --db sqlite
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pytest_llmbench.report.ingest import IngestTarget, send  # noqa: E402
from pytest_llmbench.report.ingest_spool import Spool, build_payload, split_batches  # noqa: E402
from pytest_llmbench.results.run_dir import RunDir  # noqa: E402
from pytest_llmbench.server.db import Database  # noqa: E402
from pytest_llmbench.server.keys import create_key  # noqa: E402
from pytest_llmbench.server.models import Scope  # noqa: E402
from tests.perf.report_scale import make_records  # noqa: E402
from tests.server.conftest import start_server  # noqa: E402
from tests.server.postgres import create_database, postgres_server  # noqa: E402

INGESTERS = 8
BATCH = 1000


def baseline(records: list[dict[str, Any]], folder: Path) -> float:
    run = RunDir(folder, "baseline")
    start = time.perf_counter()
    run.start({})
    for record in records:
        run.append(record)
    run.close()
    return time.perf_counter() - start


def _ingester(args: tuple[str, str, list[dict[str, Any]], Path, int]) -> tuple[int, int]:
    url, key, records, folder, index = args
    run_path = folder / f"shard-{index}"
    run_path.mkdir(parents=True)
    payload = build_payload({"run_id": "perf-run", "status": "completed", "started_at": 1.7e9},
                            [], records)
    spool = Spool(run_path)
    spool.create("perf-run", split_batches(payload, BATCH), url)
    result = send(spool, IngestTarget(url=url, key=key, timeout=600))
    return result.acked, result.total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure(db_url: str, records: list[dict[str, Any]], folder: Path, base_s: float,
            chromium: bool) -> None:
    db = Database(db_url)
    db.migrate()
    key = create_key(db, Scope.ingest)
    db.dispose()
    server = start_server(db_url, folder)
    proc = psutil.Process(server.proc.pid)
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                samples.append((time.perf_counter(), proc.memory_info().rss))
            except psutil.Error:
                return
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    rss_idle = proc.memory_info().rss
    shares = [records[i::INGESTERS] for i in range(INGESTERS)]
    url = server.url + "/api/ingest"
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(INGESTERS) as pool:
        results = pool.map(_ingester, [(url, key, share, folder / "spools", i)
                                        for i, share in enumerate(shares)])
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    cold = time.perf_counter()
    stored = server.items("perf-run")  # the run's JSON: computes and caches its summary
    cold_s = time.perf_counter() - cold
    n = len(records)
    assert all(a == t for a, t in results), results
    assert stored == n, f"{stored} stored, {n} posted"
    peak = max(r for _, r in samples)
    summary_peak = proc.memory_info().rss
    print(f"  ingest: {n} records by {INGESTERS} processes in {wall:.2f}s = {n / wall:,.0f} records/s; "
          f"records.jsonl appends {n / base_s:,.0f} records/s; ratio (jsonl/server) {wall / base_s:.1f}x; "
          f"each stored once: {stored == n}")
    print(f"  server RSS: idle {rss_idle / 2**20:.0f} MiB, peak "
          f"{peak / 2**20:.0f} MiB while ingesting, {summary_peak / 2**20:.0f} MiB after the "
          f"summary of the {n}-item run")
    client = httpx.Client(base_url=server.url, timeout=300)
    client.get("/runs/perf-run").raise_for_status()
    model = records[0]["model"]
    for label, path in (("first page", "/runs/perf-run"),
                        ("filtered page", f"/runs/perf-run?outcome=failed&model={model}&page=3"),
                        ("items API page", "/api/runs/perf-run/items?outcome=error&page=2")):
        times = []
        for _ in range(20):
            t = time.perf_counter()
            client.get(path).raise_for_status()
            times.append(time.perf_counter() - t)
        print(f"  {label} ({path}): median {statistics.median(times) * 1000:.1f} ms, "
              f"p95 {percentile(times, 95) * 1000:.1f} ms (the first request, computing the summary: "
              f"{cold_s * 1000:.0f} ms)")
    if chromium:
        render(server.url + "/runs/perf-run")
    server.stop()


def render(url: str) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = shutil.which("chromium") or ""
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        loads = []
        for _ in range(5):
            driver.get(url)
            loads.append(driver.execute_script(
                "const t = performance.timing; return t.loadEventEnd - t.navigationStart"))
        print(f"  Chromium load of the run page: median {statistics.median(loads):.0f} ms "
              f"(5 loads: {loads})")
    finally:
        driver.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    records = make_records(args.n)
    for record in records:
        record["run_id"] = "perf-run"
    chromium = bool(shutil.which("chromium") and shutil.which("chromedriver"))
    with tempfile.TemporaryDirectory(prefix="llmbench-server-perf-") as tmp:
        folder = Path(tmp)
        base_s = min(baseline(records, folder / f"b{i}") for i in range(3))
        print(f"baseline: {args.n} records appended to records.jsonl in {base_s:.2f}s "
              f"({args.n / base_s:,.0f} records/s)")
        if args.db in ("sqlite", "both"):
            print("SQLite:")
            (folder / "sqlite").mkdir()
            measure(f"sqlite:///{folder / 'sqlite' / 'server.db'}", records, folder / "sqlite",
                    base_s, chromium)
        if args.db in ("postgresql", "both"):
            print("PostgreSQL:")
            (folder / "pg").mkdir()
            with postgres_server() as pg:
                measure(create_database(pg, "perf"), records, folder / "pg", base_s, chromium)
    return 0


if __name__ == "__main__":
    sys.exit(main())
