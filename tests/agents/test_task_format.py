"""Task folders and task suite files: what loads, and the one-line reason when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmbench.agents.suite import load_task, load_task_suite
from pytest_llmbench.agents.task import BadTask, Limits, Task
from pytest_llmbench.errors import SuiteError

from .conftest import SOLVE, write_task


def test_markdown_task(tmp_path: Path) -> None:
    folder = write_task(tmp_path / "t1", solution=SOLVE,
                        front="limits: {turns: 7, cost_usd: 0.5}\ndifficulty: easy\n")
    task = load_task(folder)
    assert isinstance(task, Task)
    assert task.id == "t1" and task.instruction.startswith("Make `answer()`")
    assert task.limits == Limits(turns=7, tokens=None, cost_usd=0.5, time_s=600)
    assert task.check_files == (folder / "tests").resolve() and task.check_dest == "tests"
    assert task.metadata == {"difficulty": "easy"} and task.solution is not None


@pytest.mark.parametrize(("front", "body", "reason"), [
    ("check: 'true'\n", "", "no instruction (the markdown body is empty)"),
    ("", "Do it.", "no check (set `check:`"),
    ("check: [\n", "Do it.", "front matter is not YAML"),
    ("check: 'true'\nlimits: {turns: -1}\n", "Do it.", "limits.turns must be a positive number"),
    ("check: 'true'\nlimits: {steps: 3}\n", "Do it.", "unknown limit 'steps'"),
])
def test_bad_task_reason(tmp_path: Path, front: str, body: str, reason: str) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "task.md").write_text(f"---\n{front}---\n{body}\n")
    task = load_task(folder)
    assert isinstance(task, BadTask)
    assert reason in task.reason and str(folder / "task.md") in task.reason
    assert "\n" not in task.reason


def test_folder_without_task_md(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    task = load_task(tmp_path / "empty")
    assert isinstance(task, BadTask) and "no task.md" in task.reason


def test_suite_globs_and_bad_entries(tmp_path: Path) -> None:
    write_task(tmp_path / "tasks" / "a")
    write_task(tmp_path / "tasks" / "b")
    (tmp_path / "tasks" / "c").mkdir()
    suite_file = tmp_path / "s.yaml"
    suite_file.write_text("name: mine\ntasks: [tasks/*, missing_one]\nlimits: {turns: 3}\n"
                          "sandbox: subprocess\n")
    suite = load_task_suite(suite_file)
    assert suite.name == "mine" and suite.sandbox == "subprocess"
    ids = [t.id for t in suite.tasks]
    assert ids == ["a", "b", "c", "missing_one"]
    assert [type(t).__name__ for t in suite.tasks] == ["Task", "Task", "BadTask", "BadTask"]
    assert suite.tasks[0].limits.turns == 3  # type: ignore[union-attr]
    assert "no task folder matches 'missing_one'" in suite.tasks[3].reason  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "message"), [
    ("tasks: {a: 1}\n", "`tasks:` must be a list"),
    ("tasks: [x]\nsandbox: vm\n", "sandbox: 'vm' is not one of"),
    ("tasks: [x]\nagent: {}\n", "agent: must be {command"),
    ("tasks: [x]\nlimits: {turns: 0}\n", "limits.turns must be a positive number"),
])
def test_bad_suite(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SuiteError, match=message.replace("{", r"\{").replace("(", r"\(")) as info:
        load_task_suite(path)
    assert str(path) in str(info.value)


def test_bundled_suite_loads() -> None:
    suite = load_task_suite(Path(__file__).parents[2] / "bench_suites" / "agent_tasks.yaml")
    tasks = {t.id: t for t in suite.tasks}
    assert all(isinstance(t, Task) for t in tasks.values()), tasks
    assert {"fix_typo", "add_validation", "failing_test", "refactor", "shell_summary"} <= set(tasks)
    tbench = [t for t in tasks.values() if isinstance(t, Task) and t.format == "terminal-bench"]
    assert len(tbench) == 2
    for task in tbench:
        assert task.grading == "pytest_all_passed" and task.check_dest == "/tests"
        assert task.dockerfile is not None and task.workdir == "/app"
        assert task.limits.time_s is not None


def test_image_task_without_docker_is_skipped_not_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_llmbench.agents import runner
    from pytest_llmbench.scoring.sandbox import docker

    monkeypatch.setattr(docker, "docker_status", lambda: "no docker command on PATH")
    suite = load_task_suite(Path(__file__).parents[2] / "bench_suites" / "agent_tasks.yaml")
    tasks = {t.id: t for t in suite.tasks}
    with pytest.raises(runner.NeedsDocker, match="needs Docker for its image"):
        runner.sandbox_spec(tasks["tbench-hello-file"], "auto", runner.default_image)  # type: ignore[arg-type]
    spec = runner.sandbox_spec(tasks["fix_typo"], "auto", runner.default_image)  # type: ignore[arg-type]
    assert spec.backend == "subprocess"
