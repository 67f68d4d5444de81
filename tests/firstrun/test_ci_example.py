"""examples/ci/llmbench.yml works as shipped: its live command records, its pull-request
command replays that recording, both pass their gates (issue 17, point 14).

The workflow's own command lines are run verbatim (``pytest`` as ``python -m pytest``);
the simulator stands in for the providers (``BENCHMARK_MODELS=sim:default``) and two
bundled suites stand in for ``bench_suites`` so the test takes seconds.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "ci" / "llmbench.yml"


def _steps() -> dict[str, dict[str, str]]:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["benchmark"]["steps"]
    return {step["name"]: step for step in steps if "name" in step}


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[0] == "pytest"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "LLMBENCH_", "OPENAI_", "ANTHROPIC_", "INGEST_"))}
    job_env = yaml.safe_load(WORKFLOW.read_text())["jobs"]["benchmark"]["env"]
    env.update({k: str(v) for k, v in job_env.items()}, BENCHMARK_MODELS="sim:default")
    return subprocess.run([sys.executable, "-m", "pytest", *argv[1:], "-p", "no:cacheprovider"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_workflow_live_then_pull_request_path(tmp_path: Path) -> None:
    suites = tmp_path / "bench_suites"
    suites.mkdir()
    for name in ("arithmetic.yaml", "multiple_choice.yaml"):
        shutil.copy(ROOT / "bench_suites" / name, suites)
    shutil.copytree(ROOT / "bench_suites" / "data", suites / "data")
    steps = _steps()
    pull_request = steps["Benchmark (replayed from the recording, no network)"]
    live = steps["Benchmark (live, budgeted, posted)"]
    assert "hashFiles('tests/recordings/**') != ''" in pull_request["if"]
    assert "LLMBENCH_CACHE" not in WORKFLOW.read_text()  # live figures are measured

    measured = _run(live["run"], tmp_path)
    assert measured.returncode == 0, measured.stdout[-3000:] + measured.stderr[-2000:]
    assert "all llmbench gates passed" in measured.stdout
    records = [json.loads(line) for line in
               (tmp_path / ".llmbench/runs/latest/records.jsonl").read_text().splitlines()]
    assert records and all(r["cached_calls"] == 0 and r["latency_s"] for r in records)
    assert any((tmp_path / "tests" / "recordings").iterdir())  # what gets committed
    junit = (tmp_path / ".llmbench/junit.xml").read_text()
    assert junit.count("llmbench figures:") == len(records)
    bigger = json.loads((tmp_path / ".llmbench/benchmark/benchmark-bigger-is-better.json")
                        .read_text())
    assert {e["name"] for e in bigger} >= {"arithmetic / sim:default - accuracy"}
    charts = [step["with"] for step in yaml.safe_load(WORKFLOW.read_text())["jobs"]["benchmark"]
              ["steps"] if "github-action-benchmark" in step.get("uses", "")]
    assert all((tmp_path / c["output-file-path"]).is_file() for c in charts) and len(charts) == 2

    replayed = _run(pull_request["run"], tmp_path)
    assert replayed.returncode == 0, replayed.stdout[-3000:] + replayed.stderr[-2000:]
    records = [json.loads(line) for line in
               (tmp_path / ".llmbench/runs/latest/records.jsonl").read_text().splitlines()]
    assert records and all(r["cached_calls"] == 1 for r in records)
