"""sim: models start the simulator automatically; the README's main job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import read_records, read_summary, write_suite

ROOT = Path(__file__).resolve().parents[2]


def test_sim_models_work_with_nothing_running(pytester: pytest.Pytester) -> None:
    rows = [{"id": f"r{i:03d}", "question": str(i), "answer": str(i)} for i in range(40)]
    write_suite(pytester.path, rows=rows)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models",
                                           "sim:default,sim:fast", "-n", "2",
                                           "--llmbench-score-only")
    assert result.ret == pytest.ExitCode.OK
    rows_by_model = {r["model"]: r for r in read_summary(pytester)}
    assert rows_by_model["sim:default"]["accuracy"] == 1.0
    assert 0.5 < rows_by_model["sim:fast"]["accuracy"] < 0.9  # fast answers 70% right
    record = read_records(pytester)[0]
    assert record["ttft_s"] > 0 and record["output_tokens"] >= 1
    assert not record["tokens_estimated"]


def test_main_job_bundled_suites_against_the_default(tmp_path: Path) -> None:
    """The README's main command: the bundled suites against the embedded default."""
    out = tmp_path / "runs"
    proc = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "bench_suites"), "-q",
                           "-p", "no:cacheprovider", "--llmbench-output", str(out),
                           "--rootdir", str(ROOT)],  # agent tasks run containers: 600 s
                          capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "llmbench summary" in proc.stdout
    assert "agent_tasks" in proc.stdout  # the bundled agent tasks, solved by the simulator
    summary = json.loads((out / "latest" / "summary.json").read_text())
    assert {row["model"] for row in summary["rows"]} == {"sim:default"}
    assert len(summary["rows"]) >= 2


def test_custom_python_example_runs_against_the_simulator(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "examples" / "custom_benchmark"),
                           "-q", "-p", "no:cacheprovider", "--llmbench-models", "sim:default",
                           "--llmbench-output", str(tmp_path), "--rootdir", str(ROOT)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    records = [json.loads(line) for line in
               (tmp_path / "latest" / "records.jsonl").read_text().splitlines()]
    assert len(records) == 3
    assert all(r["metrics"]["provider"] == "sim" and r["metrics"]["words"] == 1 for r in records)


def test_llm_sim_fixture_serves_the_real_openai_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_client="""
        import openai

        def test_client(llm_sim):
            client = openai.OpenAI(base_url=llm_sim.base_url + "/v1", api_key="k", max_retries=0)
            reply = client.chat.completions.create(
                model="fast", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
            assert reply.usage.completion_tokens > 0
            with __import__("pytest").raises(openai.NotFoundError):
                client.chat.completions.create(
                    model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    """)
    result = pytester.runpytest_subprocess("test_client.py")
    result.assert_outcomes(passed=1)
