"""Task suites run by pytest: one item per (task x model), records, transcripts, faults."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import read_records

from .conftest import SOLVE, docker_or_skip, write_task


def _suite(root: Path, sandbox: str) -> None:
    write_task(root / "tasks" / "good", solution=SOLVE,
               instruction="[e2e-good] Make `answer()` in answer.py return 42.")
    write_task(root / "tasks" / "no_check", check="",
               instruction="[e2e-nocheck] Make `answer()` return 42.")
    write_task(root / "tasks" / "hangs", check="sleep 600", front="check_timeout_s: 1\n",
               solution=SOLVE, instruction="[e2e-hang] Make `answer()` in answer.py return 42.")
    write_task(root / "tasks" / "endless", front="limits: {turns: 3}\n",
               instruction="[e2e-endless] Make `answer()` in answer.py return 42.",
               solution="".join(f"- tool: run_command\n  args: {{command: 'echo round {i}'}}\n"
                                for i in range(10)))
    (root / "agents.yaml").write_text(f"name: agents\ntasks: [tasks/*]\nsandbox: {sandbox}\n")


def _check_records(records: list[dict]) -> dict[str, dict]:
    by_case = {r["case_id"]: r for r in records}
    good = by_case["good"]
    assert good["outcome"] == "passed" and good["score"] == 1.0
    metrics = good["metrics"]
    assert metrics["kind"] == "agent" and metrics["solved"] is True
    assert metrics["stop_reason"] == "finish" and metrics["turns"] == 3
    assert metrics["tool_calls"] == {"read_file": 1, "edit_file": 1, "finish": 1}
    assert metrics["files_changed"] == 1 and metrics["lines_added"] == 1
    assert metrics["model_time_s"] > 0 and metrics["tool_time_s"] > 0
    assert good["calls"] == 3 and good["input_tokens"] and good["output_tokens"]
    assert metrics["check"]["exit_code"] == 0 and "+    return 42" in metrics["diff"]
    bad = by_case["no_check"]
    assert bad["outcome"] == "error" and "no check (set `check:`" in bad["error"]
    hang = by_case["hangs"]
    assert hang["outcome"] == "failed"
    assert "the check did not end within 1s" in hang["metrics"]["reason"]
    endless = by_case["endless"]
    assert endless["outcome"] == "failed" and endless["metrics"]["stop_reason"] == "turns"
    assert endless["metrics"]["turns"] == 3
    return by_case


def test_suite_subprocess_sandbox_xdist(pytester: pytest.Pytester) -> None:
    _suite(pytester.path, "subprocess")
    result = pytester.runpytest_subprocess("agents.yaml", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2, errors=1)
    result.stdout.fnmatch_lines(["*TaskError: *no_check/task.md: no check (set `check:`*",
                                 "*not solved: the check did not end within 1s*"])
    by_case = _check_records(read_records(pytester))
    pointer = by_case["good"]["metrics"]["transcript"]
    run_dir = pytester.path / ".llmbench" / "runs" / "latest"
    lines = [json.loads(x) for x in (run_dir / pointer["file"]).read_text().splitlines()]
    entry = next(x for x in lines if x["nodeid"] == pointer["nodeid"])
    roles = [m["role"] for m in entry["attempts"][0]["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant",
                     "tool"]
    assert pointer["file"].startswith("agents/transcripts-gw")


def test_suite_docker_sandbox(pytester: pytest.Pytester, request: pytest.FixtureRequest) -> None:
    docker_or_skip(request.config)
    _suite(pytester.path, "docker")
    result = pytester.runpytest_subprocess("agents.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2, errors=1)
    by_case = _check_records(read_records(pytester))
    for record in by_case.values():
        container = (record["metrics"].get("sandbox") or {}).get("container")
        if container:
            assert subprocess.run(["docker", "ps", "-aq", "--filter", f"name={container}"],
                                  capture_output=True, text=True).stdout.strip() == ""


def test_samples_give_pass_at_k_and_summary(pytester: pytest.Pytester) -> None:
    write_task(pytester.path / "tasks" / "good", solution=SOLVE,
               instruction="[e2e-samples] Make `answer()` in answer.py return 42.")
    (pytester.path / "agents.yaml").write_text("name: agents\ntasks: [tasks/*]\n"
                                               "sandbox: subprocess\nlimits: {turns: 4}\n")
    result = pytester.runpytest_subprocess("agents.yaml", "--llmbench-samples", "2",
                                           "--llmbench-models", "sim:default,sim:flailer",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    by_model = {r["model"]: r for r in read_records(pytester)}
    good = by_model["sim:default"]["metrics"]
    assert good["pass_at"] == {"pass@1": 1.0, "pass@2": 1.0} and len(good["attempts"]) == 2
    assert by_model["sim:default"]["calls"] == 6  # 3 turns x 2 attempts
    assert by_model["sim:flailer"]["metrics"]["pass_at"] == {"pass@1": 0.0, "pass@2": 0.0}
    run_dir = pytester.path / ".llmbench" / "runs" / "latest"
    summary = json.loads((run_dir / "agents_summary.json").read_text())
    rows = {r["model"]: r for r in summary["rows"]}
    assert rows["sim:default"]["solve_rate"] == 1.0 and rows["sim:flailer"]["solve_rate"] == 0
    assert rows["sim:default"]["median_calls_solved"] == 6
    assert rows["sim:flailer"]["median_turns_solved"] is None  # nothing solved: absent
    order = {r["ranking"]: [o["model"] for o in r["order"]] for r in summary["rankings"]["agents"]}
    assert order["solve rate"] == ["sim:default", "sim:flailer"]
    assert order["cheapest"] == []  # the simulator is unpriced: no cost figure, no ranking
    html = (run_dir / "report.html").read_text()
    assert "Agent transcripts" in html and "+    return 42" in html


AGENT_SCRIPT = """set -e
test "$OPENAI_API_KEY" = llmbench-proxy
curl -sf "$OPENAI_BASE_URL/chat/completions" -H "authorization: Bearer $OPENAI_API_KEY" \\
  -H 'content-type: application/json' \\
  -d '{"model": "'"$LLMBENCH_MODEL"'", "stream": true, "stream_options": {"include_usage": true},
       "messages": [{"role": "user", "content": "hello from an external agent"}]}' > reply.sse
grep -q '"usage"' reply.sse && rm reply.sse
sed -i 's/return 41/return 42/' answer.py
"""


def test_external_agent_through_the_recording_proxy(pytester: pytest.Pytester) -> None:
    write_task(pytester.path / "tasks" / "ext", instruction="[e2e-external] Fix answer().")
    script = "".join(f"      {line}\n" for line in AGENT_SCRIPT.splitlines())
    (pytester.path / "agents.yaml").write_text(
        "name: agents\ntasks: [tasks/*]\nsandbox: subprocess\n"
        f"agent:\n  proxy: openai\n  command: |\n{script}")
    result = pytester.runpytest_subprocess("agents.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    record = read_records(pytester)[0]
    metrics = record["metrics"]
    assert metrics["stop_reason"] == "exited" and metrics["turns"] is None
    assert metrics["model_calls"] == 1 and record["calls"] == 1
    assert record["input_tokens"] and record["output_tokens"]  # measured at the proxy
    assert record["ttft_s"] is None and record["latency_s"] is None  # many calls: no one call's
    assert metrics["call_ttft_p50_s"] is not None and metrics["generation_s"] > 0
    assert metrics["files_changed"] == 1  # the agent's reply file and instruction are gone
