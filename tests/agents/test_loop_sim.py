"""The agent loop through each provider's real SDK against the simulator's scripted
agents, in the subprocess sandbox (Docker is covered in test_docker_sandbox.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmbench.agents.runner import run_attempt, sandbox_spec
from pytest_llmbench.agents.solutions import post_solutions
from pytest_llmbench.agents.suite import load_task
from pytest_llmbench.agents.task import Task
from pytest_llmbench.agents.wire import make_tool_model
from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.errors import ProviderError

from .conftest import SOLVE, model_spec, write_task


def _attempt(task: Task, sim_url: str, name: str = "sim:default", **settings: object):
    model = make_tool_model(model_spec(name, **settings), {"sim_url": sim_url},
                            RetryPolicy(max_retries=0), 30)
    try:
        return run_attempt(task, sandbox_spec(task, "subprocess", lambda t: ""), model, 20)
    finally:
        model.close()


def _task(tmp_path: Path, sim_url: str, name: str, solution: str | None = SOLVE,
          **kwargs: object) -> Task:
    instruction = kwargs.pop("instruction", f"[{name}] Make `answer()` in answer.py return 42.")
    task = load_task(write_task(tmp_path / name, solution=solution,
                                instruction=instruction, **kwargs))  # type: ignore[arg-type]
    assert isinstance(task, Task), task
    post_solutions(sim_url, [task])
    return task


@pytest.mark.parametrize("wire", ["openai", "anthropic", "bedrock"])
def test_solved_over_each_wire(tmp_path: Path, sim_url: str, wire: str) -> None:
    task = _task(tmp_path, sim_url, f"solve-{wire}")
    attempt = _attempt(task, sim_url, wire=wire)
    assert attempt.error is None and attempt.solved, attempt.check
    loop = attempt.loop
    assert loop is not None and loop.stop_reason == "finish" and loop.turns == 3
    assert dict(loop.tool_calls) == {"read_file": 1, "edit_file": 1, "finish": 1}
    for turn in loop.model_turns:  # measured per call, from the server's usage
        completion = turn.completion
        assert completion.input_tokens and completion.output_tokens
        assert not completion.tokens_estimated
        assert completion.ttft_s is not None and completion.latency_s is not None
    assert attempt.diff is not None and attempt.diff.to_dict() == {
        "files_changed": 1, "lines_added": 1, "lines_removed": 1}
    assert "-    return 41" in attempt.diff.diff and "+    return 42" in attempt.diff.diff
    assert loop.messages[1]["content"] == task.instruction
    assert loop.messages[-1]["role"] == "tool" and loop.messages[-1]["name"] == "finish"


def test_flailer_runs_out_of_turns(tmp_path: Path, sim_url: str) -> None:
    task = _task(tmp_path, sim_url, "flail", front="limits: {turns: 4}\n")
    attempt = _attempt(task, sim_url, "sim:flailer")
    assert attempt.loop is not None and attempt.loop.stop_reason == "turns"
    assert attempt.loop.turns == 4 and attempt.loop.tool_calls["run_command"] == 4
    assert not attempt.solved and attempt.check is not None and attempt.check.exit_code != 0


def test_token_limit(tmp_path: Path, sim_url: str) -> None:
    task = _task(tmp_path, sim_url, "tokens", front="limits: {tokens: 10}\n")
    attempt = _attempt(task, sim_url)
    assert attempt.loop is not None and attempt.loop.stop_reason == "tokens"
    assert attempt.loop.turns == 1 and not attempt.solved


def test_malformed_arguments_are_answered_and_counted(tmp_path: Path, sim_url: str) -> None:
    solution = ('- tool: edit_file\n  raw_arguments: "{\\"path\\": \\"answer.py\\", "\n'
                '- tool: read_file\n  args: {}\n- tool: delete_everything\n  args: {}\n' + SOLVE)
    task = _task(tmp_path, sim_url, "malformed", solution=solution)
    attempt = _attempt(task, sim_url, wire="anthropic")
    loop = attempt.loop
    assert loop is not None and loop.malformed_calls == 3 and attempt.solved
    errors = [m["content"] for m in loop.messages if m["role"] == "tool" and m["error"]]
    assert errors[0].startswith("error: edit_file: arguments are not valid JSON")
    assert errors[1] == "error: read_file: missing argument 'path'"
    assert errors[2].startswith("error: unknown tool 'delete_everything'")


def test_provider_error_ends_the_loop(tmp_path: Path, sim_url: str) -> None:
    task = _task(tmp_path, sim_url, "fault")
    attempt = _attempt(task, sim_url, headers={"x-llmbench-fault": "auth"})
    assert isinstance(attempt.error, ProviderError) and attempt.error.kind == "auth"
    assert attempt.loop is not None and attempt.loop.stop_reason == "error"
    assert attempt.check is None  # an error is not judged


def test_check_that_never_ends(tmp_path: Path, sim_url: str) -> None:
    task = _task(tmp_path, sim_url, "hang", check="sleep 600",
                 front="check_timeout_s: 1\n")
    attempt = _attempt(task, sim_url)
    assert attempt.check is not None and attempt.check.timed_out and not attempt.solved
    assert attempt.check.reason == "the check did not end within 1s"


def test_edited_tests_do_not_decide(tmp_path: Path, sim_url: str) -> None:
    """Fail closed: the agent rewrites the tests to pass and leaves a process behind;
    the check runs the task's own tests in a fresh sandbox."""
    cheat = ('- tool: write_file\n  args: {path: tests/test_answer.py, content: "def test_ok():'
             '\\n    pass\\n"}\n- tool: run_command\n  args: {command: "(sleep 30; echo'
             ' \'def answer(): return 42\' > answer.py) > /dev/null 2>&1 &"}\n')
    task = _task(tmp_path, sim_url, "cheat", solution=cheat)
    attempt = _attempt(task, sim_url)
    assert attempt.loop is not None and attempt.loop.stop_reason == "finish"
    assert not attempt.solved and attempt.check is not None
    assert "FAILED (failures=1)" in attempt.check.output


def test_no_script_finishes_without_solving(tmp_path: Path, sim_url: str) -> None:
    task = _task(tmp_path, sim_url, "unscripted", solution=None,
                 instruction="A task the simulator has no script for.")
    attempt = _attempt(task, sim_url)
    assert attempt.loop is not None and attempt.loop.turns == 1
    assert attempt.loop.stop_reason == "finish" and not attempt.solved
