"""``llmbench merge``: two real runs measured side by side against one simulator, pooled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmbench.cli import main
from pytest_llmbench.serving.metrics import percentile
from tests.conftest import write_suite

SUITE = """\
kind: serving
name: chat_load
max_tokens: 8
ignore_eos: true
requests: 10
slo: ["ttft_p99 <= 5s"]
harness: {max_loop_lag_ms: 1000, max_cpu: 4}
scenarios:
  - concurrency: [2, 4]
"""


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in (path / "records.jsonl").read_text().splitlines()]


def _two_hosts(pytester: pytest.Pytester) -> Path:
    """Two pytest processes loading one server at the same time, each its own run."""
    pytester.makefile(".yaml", load=SUITE)
    write_suite(pytester.path, rows=[{"id": "q1", "question": "1 + 1", "answer": "2"}])
    procs = [subprocess.Popen([sys.executable, "-m", "pytest", "load.yaml", "arith.yaml",
                               "--llmbench-models", "sim:perf", "--llmbench-run-id", name,
                               "-p", "no:cacheprovider", "-q"],
                              cwd=pytester.path, env=os.environ.copy(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for name in ("host-a", "host-b")]
    for proc in procs:
        out, _ = proc.communicate(timeout=180)
        assert "llmbench serving" in out, out
    return pytester.path / ".llmbench" / "runs"


def test_merge_pools_points_from_raw_samples(pytester: pytest.Pytester, sim_env: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    runs = _two_hosts(pytester)
    out = pytester.path / "merged"
    assert main(["merge", "host-a", str(runs / "host-b"), "--output", str(runs),
                 "-o", str(out)]) == 0
    assert f"merged run written: {out}" in capsys.readouterr().out

    merged = _records(out)
    serving = {r["case_id"]: r for r in merged if r["metrics"].get("kind") == "serving"}
    assert set(serving) == {"c2", "c4"}
    others = [r for r in merged if r["metrics"].get("kind") != "serving"]
    assert len(others) == 2 and {r["suite"] for r in others} == {"arith"}  # concatenated
    assert all(r["run_id"] == "merged" for r in merged)

    c4 = serving["c4"]
    sources = {}
    for name in ("host-a", "host-b"):
        rec = next(r for r in _records(runs / name) if r["case_id"] == "c4")
        sources[name] = json.loads((runs / name / rec["metrics"]["samples_file"]).read_text())
    pooled = [s for data in sources.values() for s in data["samples"]]
    stats = c4["metrics"]["serving"]
    assert stats["completed"] == 20 and c4["outcome"] == "passed"
    # percentiles recomputed from every request of both hosts, never averaged
    ttfts = sorted(s["ttft"] * 1000 for s in pooled)
    assert stats["ttft_ms"]["p50"] == pytest.approx(percentile(ttfts, 50))
    assert stats["ttft_ms"]["p99"] == pytest.approx(percentile(ttfts, 99))
    # throughput over the union of the two windows on the wall clock
    start = min(d["started_at"] for d in sources.values())
    end = max(d["started_at"] + d["duration_s"] for d in sources.values())
    assert stats["duration_s"] == pytest.approx(end - start)
    assert stats["request_throughput"] == pytest.approx(20 / (end - start))
    assert [m["host"] for m in c4["metrics"]["merged_from"]] == [os.uname().nodename] * 2
    assert len(c4["metrics"]["harness"]["hosts"]) == 2

    samples = json.loads((out / c4["metrics"]["samples_file"]).read_text())
    assert len(samples["samples"]) == 20 and samples["started_at"] == pytest.approx(start)
    info = json.loads((out / "run.json").read_text())
    assert [m["run_id"] for m in info["merged_from"]] == ["host-a", "host-b"]
    rows = json.loads((out / "summary.json").read_text())["rows"]
    assert {(r["suite"], r["n"]) for r in rows} == {("chat_load", 2), ("arith", 2)}
    serving_row = next(r for r in rows if r["suite"] == "chat_load")
    assert serving_row["passed"] + serving_row["failed"] == 2  # SLO met or missed
    assert serving_row["accuracy"] is None and serving_row["accuracy_ci_low"] is None
    bench = json.loads((out / "benchmarks.json").read_text())["benchmarks"]
    ttft = next(b for b in bench if b["name"] == "chat_load[sim:perf/c4]::ttft")
    assert ttft["stats"]["rounds"] == 20
    assert (out / "report.html").is_file() and (out / "records.csv").is_file()


def test_merge_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    assert main(["merge", str(tmp_path / "a"), str(tmp_path / "a"), "-o",
                 str(tmp_path / "m")]) == 2
    assert "given twice" in capsys.readouterr().err
    (tmp_path / "b").mkdir()
    assert main(["merge", str(tmp_path / "a"), str(tmp_path / "b"), "-o",
                 str(tmp_path / "m")]) == 2
    assert "not a run directory (run.json is missing)" in capsys.readouterr().err
