"""The Docker sandbox for real: isolation, limits, faults, nothing left behind."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmbench.agents.image import ensure_agent_image
from pytest_llmbench.agents.runner import default_image, run_attempt, sandbox_spec
from pytest_llmbench.agents.sandbox import DockerSandbox, SandboxFault
from pytest_llmbench.agents.solutions import post_solutions
from pytest_llmbench.agents.suite import load_task
from pytest_llmbench.agents.task import Task
from pytest_llmbench.agents.wire import make_tool_model
from pytest_llmbench.calls.retry import RetryPolicy

from .conftest import docker_or_skip, model_spec, write_task


@pytest.fixture
def box(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[DockerSandbox]:
    docker_or_skip(request.config)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-harness-secret")
    sandbox = DockerSandbox(ensure_agent_image())
    try:
        yield sandbox
    finally:
        sandbox.close()


def _containers(name: str) -> str:
    return subprocess.run(["docker", "ps", "-a", "-q", "--filter", f"name={name}"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_isolation(box: DockerSandbox) -> None:
    done = box.exec("id -u; env; cat /proc/net/dev | wc -l; touch /usr/x 2>&1; echo $?", 20)
    lines = done.output.splitlines()
    assert lines[0] == "65534"
    assert "sk-harness-secret" not in done.output and "OPENAI_API_KEY" not in done.output
    assert "3" in lines  # /proc/net/dev: two header lines + lo only (network none)
    assert lines[-1] != "0"  # the image is not writable by the agent user
    assert box.notes["network"] == "none" and box.notes["pids"] > 0


def test_timeout_kills_inside_the_container(box: DockerSandbox) -> None:
    done = box.exec("sleep 60; echo never", 1)
    assert done.timed_out and "never" not in done.output
    procs = box.exec("ps -eo comm | grep -c sleep || true", 10).output.split()
    assert procs[0] == "1"  # only the container's own keep-alive sleep is left


def test_flood_is_capped(box: DockerSandbox) -> None:
    done = box.exec("yes flood | head -c 50000000", 30, output_chars=2000)
    assert len(done.output) < 3000 and "more bytes not kept" in done.output


def test_dead_container_is_one_clear_error(box: DockerSandbox) -> None:
    subprocess.run(["docker", "kill", box.container], capture_output=True, check=True)
    with pytest.raises(SandboxFault, match=f"the container {box.container} died"):
        box.exec("echo hi", 5)


def test_close_removes_everything(box: DockerSandbox) -> None:
    box.exec("sleep 300 > /dev/null 2>&1 &", 5)
    assert _containers(box.container)
    box.close()
    assert _containers(box.container) == ""


def test_attempt_in_docker(tmp_path: Path, sim_url: str, request: pytest.FixtureRequest) -> None:
    docker_or_skip(request.config)
    folder = write_task(tmp_path / "dockertask", instruction="[docker] Make answer() return 42.",
                        solution='- tool: write_file\n  args: {path: answer.py, content: '
                                 '"def answer():\\n    return 42\\n"}\n'
                                 '- tool: run_command\n  args: {command: "sleep 300 &"}\n')
    task = load_task(folder)
    assert isinstance(task, Task)
    post_solutions(sim_url, [task])
    spec = sandbox_spec(task, "docker", default_image)
    model = make_tool_model(model_spec("sim:default", wire="bedrock"), {"sim_url": sim_url},
                            RetryPolicy(), 30)
    attempt = run_attempt(task, spec, model)
    model.close()
    assert attempt.error is None and attempt.solved, attempt.check
    assert attempt.sandbox["backend"] == "docker" and attempt.start_s is not None
    assert _containers(attempt.sandbox["container"]) == ""  # its `sleep 300 &` went too


def test_container_dying_mid_attempt(tmp_path: Path, sim_url: str,
                                     request: pytest.FixtureRequest) -> None:
    """The agent takes its own container down: one clear error, nothing left behind."""
    docker_or_skip(request.config)
    folder = write_task(tmp_path / "dies", instruction="[docker-dies] Make answer() return 42.",
                        solution="- tool: run_command\n  args: {command: 'kill -TERM 1; sleep 5'}\n"
                                 "- tool: read_file\n  args: {path: answer.py}\n")
    task = load_task(folder)
    assert isinstance(task, Task)
    post_solutions(sim_url, [task])
    model = make_tool_model(model_spec("sim:default"), {"sim_url": sim_url}, RetryPolicy(), 30)
    attempt = run_attempt(task, sandbox_spec(task, "docker", default_image), model)
    model.close()
    assert isinstance(attempt.error, SandboxFault), attempt.loop and attempt.loop.messages
    assert "died" in str(attempt.error) and "\n" not in str(attempt.error)
    assert attempt.loop is not None and attempt.loop.stop_reason == "error"
    assert _containers(attempt.sandbox["container"]) == ""


PY_AGENT = """python3 - <<'PY'
import json, os, urllib.request
assert os.environ["OPENAI_API_KEY"] == "llmbench-proxy"
body = {"model": os.environ["LLMBENCH_MODEL"], "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "hi from the container"}]}
request = urllib.request.Request(os.environ["OPENAI_BASE_URL"] + "/chat/completions",
                                 data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json",
                                          "authorization": "Bearer " + os.environ["OPENAI_API_KEY"]})
assert b'"usage"' in urllib.request.urlopen(request, timeout=30).read()
PY
sed -i 's/return 41/return 42/' answer.py"""


def test_external_agent_in_docker_through_the_proxy(tmp_path: Path, sim_url: str,
                                                    request: pytest.FixtureRequest) -> None:
    docker_or_skip(request.config)
    from pytest_llmbench.agents.external import external_runner

    task = load_task(write_task(tmp_path / "extdocker"))
    assert isinstance(task, Task)
    spec = sandbox_spec(task, "docker", default_image)
    spec.network = True
    run = external_runner({"command": PY_AGENT, "proxy": "openai"}, model_spec("sim:default"),
                          {"sim_url": sim_url}, RetryPolicy(), 30)
    attempt = run_attempt(task, spec, None, external=run)
    assert attempt.error is None and attempt.solved, attempt.agent_output
    assert attempt.loop is not None and len(attempt.loop.model_turns) == 1
    completion = attempt.loop.model_turns[0].completion
    assert completion.input_tokens and completion.output_tokens
