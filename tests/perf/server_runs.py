"""The run service's overhead (a script, not a test): a run started with ``POST /api/runs``
on ``llmbench server --worker`` (SQLite, in-process worker) against the same pytest command
run by hand, in the same process tree and on the same suite.

Reports (medians of --repeat runs):
- queue latency: POST /api/runs -> the first item's model call (the first record's
  ``started_at``), in seconds;
- wall: POST -> the run marked done, against the hand-run pytest command's wall time
  (ratio = service / by hand).

    .venv/bin/python tests/perf/server_runs.py              # 60 items, 3 repeats
    .venv/bin/python tests/perf/server_runs.py --rows 200 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.conftest import write_suite  # noqa: E402
from tests.server.conftest import start_server  # noqa: E402


def first_call(records: Path) -> float:
    rows = [json.loads(line) for line in records.read_text().splitlines() if line.strip()]
    return min(r["started_at"] for r in rows if r.get("started_at"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmbench-runs-perf-") as tmp_name:
        tmp = Path(tmp_name)
        suites = tmp / "suites"
        suites.mkdir()
        write_suite(suites, rows=[{"id": f"q{i:04d}", "question": f"{i} + {i}", "answer": str(2 * i)}
                                  for i in range(args.rows)])
        workdir = tmp / "work"
        srv = start_server(f"sqlite:///{tmp / 'server.db'}", tmp,
                           ["--suites-dir", str(suites), "--worker", "--workdir", str(workdir)])
        try:
            latency, service, by_hand = [], [], []
            for i in range(args.repeat):
                # by hand: the command a worker runs, without the queue, the lease or live ingest
                hand = tmp / f"hand{i}"
                hand.mkdir()
                t0 = time.time()
                subprocess.run([sys.executable, "-m", "pytest", str(suites / "arith.yaml"),
                                "--llmbench-models", "sim:default", "--llmbench-seed", "42",
                                "-p", "no:cacheprovider", "--rootdir", str(hand),
                                "--llmbench-progress", "off", "--llmbench-run-id", f"hand{i}"],
                               cwd=hand, capture_output=True, check=False)
                by_hand.append(time.time() - t0)
                t0 = time.time()
                response = httpx.post(srv.url + "/api/runs", json={
                    "models": ["sim:default"], "suites": ["arith"]}, headers=srv.auth("run"), timeout=60)
                response.raise_for_status()
                run_id = response.json()["run_id"]
                while True:
                    row = httpx.get(f"{srv.url}/api/runs/{run_id}/job", timeout=60).json()
                    if row["status"] in ("done", "failed", "cancelled"):
                        break
                    time.sleep(0.05)
                assert row["status"] == "done", row
                service.append(row["finished_at"] - t0)
                latency.append(first_call(workdir / ".llmbench" / "runs" / run_id / "records.jsonl") - t0)
        finally:
            srv.stop()
    med = statistics.median
    print(f"items per run: {args.rows} (sim:default), repeats: {args.repeat}, cpus: {os.cpu_count()}")
    print(f"POST /api/runs -> first model call: median {med(latency):.2f} s "
          f"(runs: {', '.join(f'{x:.2f}' for x in latency)})")
    print(f"run wall: service {med(service):.2f} s, by hand {med(by_hand):.2f} s, "
          f"ratio {med(service) / med(by_hand):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
