"""Real runs of untrusted programs in both sandbox backends: each hazard is contained
and reported with a clear status."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_llmbench.scoring.sandbox import Limits, Sandbox, get_sandbox
from pytest_llmbench.scoring.sandbox.base import classify

FAST = Limits(timeout_s=3, memory_mb=256, processes=32)


def run(sandbox: Sandbox, source: str, limits: Limits = FAST):
    return sandbox.run(textwrap.dedent(source), limits)


def test_correct_program_passes_and_its_output_is_kept(sandbox: Sandbox) -> None:
    result = run(sandbox, """
        import os
        def add(a, b):
            return a + b
        assert add(2, 3) == 5
        with open("scratch.txt", "w") as f:   # its own directory is writable
            f.write("ok")
        print("cwd files:", sorted(os.listdir(".")))
    """)
    assert result.status == "passed" and result.exit_code == 0, result.stderr
    assert "scratch.txt" in result.stdout
    assert result.backend == sandbox.name


def test_wrong_program_fails_with_the_test_output(sandbox: Sandbox) -> None:
    result = run(sandbox, """
        def add(a, b):
            return a - b
        assert add(2, 3) == 5, f"add(2, 3) returned {add(2, 3)}"
    """)
    assert result.status == "failed" and result.exit_code == 1
    assert "AssertionError: add(2, 3) returned -1" in result.stderr


@pytest.mark.parametrize("source", ["while True:\n    pass\n",
                                    "import time\ntime.sleep(60)\n"], ids=["busy", "sleeping"])
def test_infinite_loop_times_out(sandbox: Sandbox, source: str) -> None:
    result = run(sandbox, source, Limits(timeout_s=1.5, memory_mb=256))
    assert result.status == "timeout"
    assert result.duration_s < 10


def test_memory_hog_is_stopped(sandbox: Sandbox) -> None:
    result = run(sandbox, """
        hog = []
        while True:
            hog.append(bytearray(50 * 1024 * 1024))
    """, Limits(timeout_s=10, memory_mb=200))
    assert result.status == "memory", (result.exit_code, result.stderr[-300:])


def test_network_access_fails(sandbox: Sandbox) -> None:
    result = run(sandbox, """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(("10.255.255.1", 80))
        print("connected")
    """)
    assert result.status == "failed"
    assert "connected" not in result.stdout
    assert "PermissionError: sandbox: network" in result.stderr or \
        "Network is unreachable" in result.stderr


def test_writing_outside_its_directory_fails(sandbox: Sandbox, tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    result = run(sandbox, f"""
        for path in ({str(target)!r}, "/escaped.txt", "/tmp/escaped.txt"):
            try:
                open(path, "w").write("x")
            except OSError as exc:
                print("refused", path, type(exc).__name__)
            else:
                print("WROTE", path)
    """)
    assert result.status == "passed", result.stderr
    assert "WROTE" not in result.stdout, result.stdout
    assert result.stdout.count("refused") == 3
    assert not target.exists()


def test_reading_a_file_outside_its_directory_fails(sandbox: Sandbox, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    secret.chmod(0o644)
    result = run(sandbox, f"print(open({str(secret)!r}).read())")
    assert result.status == "failed"
    assert "top secret" not in result.stdout
    assert "PermissionError: sandbox: reading" in result.stderr or \
        "FileNotFoundError" in result.stderr


def test_fork_bomb_is_contained(sandbox: Sandbox) -> None:
    result = run(sandbox, """
        import os
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    import time
                    time.sleep(30)
                    os._exit(0)
                children += 1
        except (OSError, PermissionError) as exc:
            print("stopped after", children, type(exc).__name__)
            raise
    """, Limits(timeout_s=5, memory_mb=256, processes=16))
    assert result.status in ("failed", "timeout")
    assert result.duration_s < 15


def test_output_flood_is_bounded(sandbox: Sandbox) -> None:
    result = run(sandbox, "while True:\n    print('x' * 1000)\n",
                 Limits(timeout_s=1, memory_mb=256, output_chars=2000))
    assert result.status == "timeout"
    assert len(result.stdout) < 3000


def test_subprocess_sandbox_reports_its_isolation() -> None:
    result = get_sandbox("subprocess").run("print('hi')", FAST)
    assert result.passed
    notes = result.to_details()["isolation"]
    assert {"user", "network", "filesystem", "python"} <= set(notes)


@pytest.mark.parametrize(("code", "stderr", "timed_out", "oom", "status"), [
    (0, "", False, False, "failed"),  # exit status 0 alone is no evidence
    (1, "AssertionError", False, False, "failed"),
    (1, "MemoryError\n", False, False, "memory"),
    (137, "", False, True, "memory"),
    (-9, "", True, False, "timeout"),
    (-24, "", False, False, "timeout"),
    (-11, "", False, False, "killed"),
])
def test_classify(code: int, stderr: str, timed_out: bool, oom: bool, status: str) -> None:
    assert classify(code, stderr, timed_out, oom) == status


def test_classify_passes_only_on_the_harness_report() -> None:
    assert classify(0, "", False, completed=True) == "passed"
    assert classify(0, "", True, completed=True) == "timeout"
