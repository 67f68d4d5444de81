"""Docker targets on a real engine: the simulator in a container built locally (no registry),
a full run, two targets compared, one never healthy, one dying mid-run, an interrupted run,
leftovers of a killed run; none leaves a container behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from pytest_llmbench.targets.docker import LABEL, LABEL_OWNER, LABEL_RUN
from tests.conftest import read_records, read_summary, write_suite
from tests.targets.conftest import (
    PYTHON,
    containers_of,
    crashing_command,
    docker_target,
    run_dir,
    run_info,
    sim_command,
    write_config,
)

ROWS = [{"id": f"q{i:03d}", "question": f"{i} + {i}", "answer": str(2 * i)} for i in range(1, 11)]


def test_full_run_against_a_container_with_two_workers(pytester: pytest.Pytester,
                                                      docker_image: str) -> None:
    write_suite(pytester.path, rows=ROWS)
    write_config(pytester.path, {"engine": docker_target(docker_image, sim_command(),
                                                         commit="c0ffee")})
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "sim:default@engine",
                                           "-n", "2", "--llmbench-run-id", "docker-full",
                                           "--llmbench-dist", "off", "-W", "error")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    records = read_records(pytester)
    assert len(records) == 10 and all(r["outcome"] == "passed" for r in records)
    assert {r["worker"] for r in records} == {"gw0", "gw1"}
    target = run_info(pytester)["targets"][0]
    assert target["kind"] == "docker" and target["image"] == docker_image
    assert target["commit"] == "c0ffee" and target["container"]
    log = (run_dir(pytester) / "targets" / "engine.log").read_text()
    assert log.count("listening on") == 1  # started once for both workers
    assert containers_of("docker-full") == []


def test_two_containers_compared(pytester: pytest.Pytester, docker_image: str) -> None:
    write_suite(pytester.path, rows=ROWS)
    write_config(pytester.path, {
        "baseline": docker_target(docker_image, sim_command("default:ttft_ms=120,itl_ms=2")),
        "agent": docker_target(docker_image, sim_command("default:ttft_ms=15,itl_ms=1")),
    })
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models", "sim:default@baseline,sim:default@agent",
        "--llmbench-run-id", "docker-two")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    rows = {r["target"]: r for r in read_summary(pytester)}
    assert rows["agent"]["speedup"] > 1.5 and rows["baseline"]["speedup"] == 1.0
    assert containers_of("docker-two") == []


def test_template_over_commits(pytester: pytest.Pytester, docker_image: str) -> None:
    """One image per commit: ``{commit}`` in the template, commits from the command line."""
    write_suite(pytester.path, rows=ROWS[:2])
    for commit in ("aaa111", "bbb222"):
        subprocess.run(["docker", "tag", docker_image, f"llmbench-target-test:{commit}"],
                       check=True)
    engine = docker_target("llmbench-target-test:{commit}",
                           sim_command() + ["--model", "build-{commit}"])
    write_config(pytester.path, {"engine": engine})
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models", "sim:default@engine",
        "--llmbench-commits", "baseline=aaa111,agent=bbb222", "--llmbench-run-id", "docker-tpl")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    targets = {t["name"]: t for t in run_info(pytester)["targets"]}
    assert targets["agent"]["image"] == "llmbench-target-test:bbb222"
    assert targets["baseline"]["commit"] == "aaa111"
    assert {r["commit"] for r in read_summary(pytester)} == {"aaa111", "bbb222"}
    assert containers_of("docker-tpl") == []


def test_container_never_healthy_fails_fast_with_its_log(pytester: pytest.Pytester,
                                                         docker_image: str) -> None:
    write_suite(pytester.path, rows=ROWS[:3])
    booting = [PYTHON, "-c", "import time; print('compiling CUDA graphs', flush=True); "
               "time.sleep(120)"]
    write_config(pytester.path, {"stuck": docker_target(docker_image, booting,
                                                        startup_timeout=2)})
    started = time.monotonic()
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "sim:default@stuck",
                                           "--llmbench-run-id", "docker-stuck")
    assert time.monotonic() - started < 40
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*target stuck did not become healthy within 2s*",
                                 "*compiling CUDA graphs*", "*3 errors*"])
    assert containers_of("docker-stuck") == []


def test_container_dying_mid_run(pytester: pytest.Pytester, docker_image: str) -> None:
    rows = [{"id": f"r{i:03d}", "question": str(i), "answer": str(i)} for i in range(40)]
    write_suite(pytester.path, rows=rows)
    write_config(pytester.path, {"flaky": docker_target(docker_image, crashing_command(3))})
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "sim:default@flaky",
                                           "--llmbench-concurrency", "1",
                                           "--llmbench-max-retries", "0",
                                           "--llmbench-run-id", "docker-dies")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    records = read_records(pytester)
    errors = [r for r in records if r["outcome"] == "error"]
    assert errors and any(r["outcome"] == "passed" for r in records)
    assert "exited with code 7" in errors[-1]["error"]
    assert "engine crashed (simulated)" in errors[-1]["error"]
    assert containers_of("docker-dies") == []


def test_ctrl_c_removes_the_container(pytester: pytest.Pytester, docker_image: str) -> None:
    rows = [{"id": f"r{i:03d}", "question": str(i), "answer": str(i)} for i in range(200)]
    write_suite(pytester.path, rows=rows)
    write_config(pytester.path, {"slow": docker_target(docker_image,
                                                       sim_command("default:ttft_ms=200"))})
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "arith.yaml", "-p", "no:cacheprovider",
                             "--llmbench-models", "sim:default@slow", "--llmbench-concurrency", "1",
                             "--llmbench-run-id", "docker-ctrl-c", "-n", "2"],
                            cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    records = pytester.path / ".llmbench" / "runs" / "docker-ctrl-c" / "records.jsonl"
    deadline = time.monotonic() + 90
    while not (records.exists() and records.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert containers_of("docker-ctrl-c"), "the target should be running mid-run"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=90)
    assert b"KeyboardInterrupt" in out or b"Interrupted" in out, out[-2000:]
    info = json.loads((records.parent / "run.json").read_text())
    assert info["status"] == "interrupted"
    assert containers_of("docker-ctrl-c") == []


def test_leftovers_of_a_killed_run_are_removed(pytester: pytest.Pytester,
                                               docker_image: str) -> None:
    import socket

    import docker

    client = docker.from_env()
    dead_pid = 2 ** 22 + 11  # above pid_max: no such process
    client.containers.create(docker_image, ["/bin/false"], name="llmbench-leftover-test",
                             labels={LABEL: "old", LABEL_RUN: "leftover",
                                     LABEL_OWNER: f"{socket.gethostname()}:{dead_pid}"})
    client.close()
    assert containers_of("leftover") == ["llmbench-leftover-test"]
    done = subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", "targets", "cleanup"],
                          capture_output=True, text=True, check=True)
    assert "llmbench-leftover-test" in done.stdout
    assert containers_of("leftover") == []


def test_killed_worker_leaves_the_target_to_the_run(pytester: pytest.Pytester,
                                                    docker_image: str) -> None:
    """A worker killed mid-run does not take the target down; the run still removes it."""
    write_config(pytester.path, {"engine": docker_target(docker_image, sim_command())})
    pytester.makepyfile(test_it="""
        import os

        def test_before(llm):
            assert llm.complete("hi", max_tokens=4).text

        def test_killed(llm_model):
            if not os.path.exists("died"):
                open("died", "w").close()
                os.kill(os.getpid(), 9)

        def test_after(llm):
            assert llm.complete("hi", max_tokens=4).text
    """)
    result = pytester.runpytest_subprocess("--llmbench-models", "sim:default@engine", "-n", "2",
                                           "--llmbench-run-id", "docker-killed-worker")
    result.stdout.fnmatch_lines(["*worker 'gw*' crashed while running*test_killed*"])
    outcomes = {r["case_id"]: r["outcome"] for r in read_records(pytester)}
    assert outcomes["test_before"] == outcomes["test_after"] == "passed"
    assert containers_of("docker-killed-worker") == []
