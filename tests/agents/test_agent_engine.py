"""Agent turns go through the run's call engine (real SDKs against the simulator, the
subprocess sandbox): rate limits, budget, cache and record/replay apply to them as to
ordinary items, and agent records carry agent figures instead of one call's latency."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.agents.runner import run_attempt, sandbox_spec
from pytest_llmbench.agents.solutions import post_solutions
from pytest_llmbench.agents.suite import load_task
from pytest_llmbench.agents.task import Task
from pytest_llmbench.agents.wire import make_tool_model
from pytest_llmbench.calls import layers
from pytest_llmbench.calls.engine import Engine
from pytest_llmbench.calls.ratelimit import RateLimits
from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.sim import SimServer
from tests.conftest import read_records

from .conftest import SOLVE, model_spec, write_task

BUDGET = 0.0006  # USD: a few turns at $1 per million tokens
ENDLESS = "".join(f"- tool: run_command\n  args: {{command: 'echo round {i}'}}\n"
                  for i in range(12))


def _task(root: Path, name: str, solution: str, front: str = "") -> Task:
    task = load_task(write_task(root / name, solution=solution, front=front,
                                instruction=f"[{name}] Make `answer()` in answer.py return 42."))
    assert isinstance(task, Task), task
    return task


def _run(task: Task, engine: Engine, spec: Any) -> Any:
    model = make_tool_model(spec, {}, RetryPolicy(max_retries=0), 30, engine=engine,
                            metadata={"suite": "agents", "case_id": task.id})
    return run_attempt(task, sandbox_spec(task, "subprocess", lambda t: ""), model, 20)


def test_rate_limit_of_the_model_paces_agent_calls(tmp_path: Path) -> None:
    with SimServer() as sim:
        task = _task(tmp_path, "paced", SOLVE)
        post_solutions(sim.base_url, [task])
        spec = model_spec("sim:default", base_url=sim.base_url, rate_limit={"rpm": 60})
        engine = Engine(limits=RateLimits(folder=tmp_path / "limits"))
        try:
            attempt = _run(task, engine, spec)
        finally:
            engine.close()
        arrivals = sorted(r["at"] for r in sim.metrics["recent"] if r["model"] == "default")
    assert attempt.solved and attempt.loop.turns == 3
    assert len(arrivals) == 3
    # 60 rpm: one start per second (unpaced, a turn follows the last in a few hundredths).
    # The first turn's arrival is late by the SDK's import and client set-up (up to a
    # second), which shortens the first gap; the last one shows the pace.
    gaps = [round(b - a, 3) for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert gaps[-1] >= 0.9, gaps


def test_budget_stops_the_agent_mid_task(tmp_path: Path) -> None:
    with SimServer() as sim:
        task = _task(tmp_path, "costly", ENDLESS, front="limits: {turns: 30}\n")
        post_solutions(sim.base_url, [task])
        spec = model_spec("sim:default", base_url=sim.base_url,
                          price={"input_per_mtok": 1.0, "output_per_mtok": 1.0})
        budget_dir = tmp_path / "budget"
        budget_dir.mkdir()
        engine = Engine(context={layers.BUDGET: BUDGET, layers.BUDGET_DIR: str(budget_dir)})
        try:
            attempt = _run(task, engine, spec)
        finally:
            engine.close()
        served = sum(1 for r in sim.metrics["recent"] if r["model"] == "default")
    loop = attempt.loop
    assert loop.stop_reason == "budget" and not attempt.solved
    assert 2 <= loop.turns < 12 and served == loop.turns  # stopped before a call was sent
    spent = sum(t.completion.cost_usd for t in loop.model_turns)
    # each turn costs a little more than the last (the conversation grows); the budget books
    # the mean so far, so the last call may pass it by a fraction of one call
    assert 0 < spent <= BUDGET * 1.3, spent
    assert "BudgetExhausted" in type(attempt.error).__name__


def _suite(root: Path, sim_url: str) -> Task:
    task = _task(root / "tasks", "good", SOLVE)
    (root / "agents.yaml").write_text("name: agents\ntasks: [tasks/*]\nsandbox: subprocess\n")
    (root / "llmbench.yaml").write_text(f"models:\n  sim:default:\n    base_url: {sim_url}\n")
    return task


def _transcript(run_dir: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    pointer = record["metrics"]["transcript"]
    lines = [json.loads(x) for x in (run_dir / pointer["file"]).read_text().splitlines()]
    messages = next(x for x in lines if x["nodeid"] == pointer["nodeid"])["attempts"][0][
        "messages"]
    # the subprocess sandbox's folder differs per run (the key aliases it): compare without it
    return json.loads(re.sub(r"/[^\"\s]*/workspace", "<workdir>", json.dumps(messages)))


def _summary(run_dir: Path) -> dict[str, Any]:
    rows = json.loads((run_dir / "summary.json").read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    return next(r for r in rows if r["suite"] == "agents")


def test_record_then_replay_offline_and_agent_figures(pytester: pytest.Pytester) -> None:
    args = ("agents.yaml", "-p", "no:cacheprovider", "--llmbench-models", "sim:default")
    run_dir = pytester.path / ".llmbench" / "runs" / "latest"
    with SimServer() as sim:
        task = _suite(pytester.path, sim.base_url)
        post_solutions(sim.base_url, [task])
        recorded = pytester.runpytest_subprocess(*args, "--llmbench-record", "rec")
        recorded.assert_outcomes(passed=1)
    before = read_records(pytester)[0]
    transcript = _transcript(run_dir, before)
    assert len(list((pytester.path / "rec").rglob("*.json"))) == 3  # one entry per turn

    # the agent record: no single-call figures, its own figures measured
    for key in ("latency_s", "ttft_s", "output_tps"):
        assert before[key] is None, key
    metrics = before["metrics"]
    assert metrics["live_calls"] == 3 and len(metrics["call_ttft_s"]) == 3
    assert metrics["generation_s"] > 0 and metrics["model_output_tps"] > 0
    assert metrics["call_ttft_p50_s"] is not None and metrics["tool_time_s"] > 0
    row = _summary(run_dir)
    for key in ("latency_p50", "latency_p95", "ttft_p50", "output_tps", "decode_tps_p50"):
        assert row[key] is None, key
    assert row["agent_tasks"] == 1 and row["agent_output_tps"] > 0
    assert row["agent_call_ttft_p50_s"] is not None and row["agent_model_time_s"] > 0
    assert row["agent_wall_p50_s"] > 0
    html = (run_dir / "report.html").read_text()
    assert "Agent time" in html and "output tok/s (generation)" in html

    # the simulator is gone: every turn is answered from the recording
    replayed = pytester.runpytest_subprocess(*args, "--llmbench-replay", "rec")
    replayed.assert_outcomes(passed=1)
    replayed.stdout.fnmatch_lines(["*llmbench cache: 3 of 3 calls answered from *rec*"])
    after = read_records(pytester)[0]
    assert _transcript(run_dir, after) == transcript
    assert after["outcome"] == before["outcome"] == "passed"
    assert after["metrics"]["check"]["exit_code"] == 0
    assert after["metrics"]["tool_calls"] == before["metrics"]["tool_calls"]
    assert after["cached_calls"] == after["calls"] == 3
    assert after["input_tokens"] == before["input_tokens"]
    assert after["metrics"]["live_calls"] == 0 and after["metrics"]["generation_s"] is None
    table_row = next(line for line in replayed.stdout.lines if line.startswith("agents "))
    assert "cached" not in table_row  # an agent row has no per-call latency to be cached
    row = _summary(run_dir)
    assert row["cached"] == 1 and row["agent_output_tps"] is None  # nothing timed this run
    assert row["latency_p50"] is None and row["output_tps"] is None


def test_cached_agent_record_is_marked_cached(pytester: pytest.Pytester) -> None:
    args = ("agents.yaml", "-p", "no:cacheprovider", "--llmbench-models", "sim:default",
            "--llmbench-cache", "readwrite")
    with SimServer() as sim:
        task = _suite(pytester.path, sim.base_url)
        post_solutions(sim.base_url, [task])
        pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)
        first = read_records(pytester)[0]
        served = sim.metrics["requests_total"]
        again = pytester.runpytest_subprocess(*args)
        again.assert_outcomes(passed=1)
        assert sim.metrics["requests_total"] == served  # no call reached the simulator
    again.stdout.fnmatch_lines(["*llmbench cache: 3 of 3 calls answered from *"])
    record = read_records(pytester)[0]
    assert first["cached_calls"] == 0 and record["cached_calls"] == record["calls"] == 3
    assert record["metrics"]["stop_reason"] == "finish" and record["outcome"] == "passed"


def test_budget_skips_the_item_with_stop_reason_budget(pytester: pytest.Pytester) -> None:
    with SimServer() as sim:
        task = _task(pytester.path / "tasks", "costly", ENDLESS, front="limits: {turns: 30}\n")
        post_solutions(sim.base_url, [task])
        (pytester.path / "agents.yaml").write_text(
            "name: agents\ntasks: [tasks/*]\nsandbox: subprocess\n")
        (pytester.path / "llmbench.yaml").write_text(
            f"models:\n  sim:default:\n    base_url: {sim.base_url}\n"
            "    price: {input_per_mtok: 1.0, output_per_mtok: 1.0}\n")
        result = pytester.runpytest_subprocess("agents.yaml", "-p", "no:cacheprovider",
                                               "--llmbench-models", "sim:default",
                                               "--llmbench-budget", str(BUDGET))
    result.assert_outcomes(skipped=1)
    record = read_records(pytester)[0]
    assert record["outcome"] == "skipped" and "budget" in record["error"].lower()
    metrics = record["metrics"]
    assert metrics["stop_reason"] == "budget" and 2 <= metrics["turns"] < 12
    assert record["calls"] == metrics["turns"] and 0 < record["cost_usd"] <= BUDGET * 1.3


def test_a_recorded_turn_with_malformed_tool_calls_is_refused() -> None:
    from pytest_llmbench.calls.store import completion_problem

    good = {"completion": {"text": "", "tool_calls": [
        {"id": "c1", "name": "finish", "arguments": "{}"}]}}
    assert completion_problem(good) is None
    for bad in ([{"id": "c1", "name": "finish"}], [{"id": 1, "name": "x", "arguments": ""}],
                "finish", [["c1", "finish", "{}"]]):
        problem = completion_problem({"completion": {"text": "", "tool_calls": bad}})
        assert problem is not None and "tool_calls" in problem, bad


def test_a_provider_without_tool_calling_is_refused_with_one_line() -> None:
    from pytest_llmbench.config import ModelSpec
    from pytest_llmbench.errors import ConfigError
    from pytest_llmbench.providers.base import ChatRequest, Completion, register_provider

    class Plain:
        async def complete(self, request: ChatRequest) -> Completion:
            return Completion(text="hi", latency_s=0.1, ttft_s=0.05)

        async def aclose(self) -> None:
            return None

    register_provider("plain-no-tools", lambda spec, context: Plain())
    engine = Engine()
    try:
        spec = ModelSpec.parse("plain-no-tools:m")
        assert engine.call(ChatRequest(model=spec, messages=[{"role": "user", "content": "x"}])
                           ).text == "hi"
        with pytest.raises(ConfigError, match="plain-no-tools:m: its provider does not do "
                                              "native tool calling"):
            engine.call(ChatRequest(model=spec, messages=[{"role": "user", "content": "x"}],
                                    tools=[{"name": "finish", "description": "",
                                            "parameters": {"type": "object"}}]))
    finally:
        engine.close()


@pytest.mark.parametrize("name,settings", [
    ("openai-compatible:default", {"base_url": "{url}/v1"}),
    ("anthropic:default", {"base_url": "{url}", "api_key": "sk-ant-test"}),
    ("bedrock:default", {"endpoint_url": "{url}", "region": "us-east-1",
                         "aws_access_key_id": "AKIATEST", "aws_secret_access_key": "secret"}),
])
def test_each_sdk_provider_solves_through_the_engine(tmp_path: Path, name: str,
                                                     settings: dict[str, str]) -> None:
    """The providers ordinary items use (not only ``sim:``) answer tool requests."""
    with SimServer() as sim:
        task = _task(tmp_path, f"provider-{name.split(':')[0]}", SOLVE)
        post_solutions(sim.base_url, [task])
        spec = model_spec(name, **{k: v.format(url=sim.base_url) for k, v in settings.items()})
        engine = Engine()
        try:
            attempt = _run(task, engine, spec)
        finally:
            engine.close()
    assert attempt.error is None and attempt.solved, attempt.check
    assert attempt.loop.turns == 3
    for turn in attempt.loop.model_turns:
        assert turn.completion.ttft_s is not None and not turn.completion.tokens_estimated
