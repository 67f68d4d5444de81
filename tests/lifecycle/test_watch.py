"""``llmbench watch``: cycles as fresh pytest processes, a failing cycle, signals, drain."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_llmbench.cli.watch import parse_interval
from tests.conftest import write_suite

LINE = r"\d\d:\d\d:\d\d \[(INFO|ERROR|WARNING)\] "


def _watch(cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "LLMBENCH_"))}
    return subprocess.Popen([sys.executable, "-m", "pytest_llmbench.cli", "watch", *args],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)


def _wait_for(process: subprocess.Popen[str], text: str, lines: list[str],
              timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return
    raise AssertionError(f"{text!r} not seen in {''.join(lines)}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_suite(tmp_path)
    (tmp_path / "conftest.py").write_text(
        "import os, time\nimport pytest\n"
        "def pytest_collection_modifyitems(items):\n"
        "    if not os.path.exists('cycle1'):\n"
        "        open('cycle1', 'w').close()\n"
        "        raise RuntimeError('first cycle breaks')\n"
        "@pytest.fixture(autouse=True)\n"
        "def slow():\n"
        "    time.sleep(float(os.environ.get('SLOW', '0')))\n")
    return tmp_path


ARGS = ("--", "arith.yaml", "--llmbench-models", "inproc:oracle,inproc:error",
        "--llmbench-max-retries", "0", "-p", "no:cacheprovider")


def test_count_two_survives_a_failing_cycle(project: Path) -> None:
    process = _watch(project, "--interval", "0.2s", "--count", "2", *ARGS)
    out, _ = process.communicate(timeout=120)
    lines = out.splitlines()
    assert process.returncode == 1
    failed = [line for line in lines if "cycle 1 failed: pytest exited 3 (INTERNAL_ERROR) "
              "with no records" in line]
    assert len(failed) == 1, out
    log = project / failed[0].rsplit("see ", 1)[1].rstrip(")")
    assert "first cycle breaks" in log.read_text()
    ok = [line for line in lines if re.match(
        LINE + r"✅ Success inproc:oracle \(tps=[\d.]+, out=1, accuracy=1.00\)$", line)]
    error = [line for line in lines if re.match(
        LINE + r"Benchmark failed for inproc:error - 10/10 errors; InternalServerError: .*$",
        line)]
    assert len(ok) == 1 and len(error) == 1, out
    running = [line for line in lines if re.match(LINE + r"Running benchmark: inproc:", line)]
    assert len(running) == 4, out  # two models, two cycles
    assert len([line for line in lines if "Run id: " in line]) == 2, out
    assert "watch stopped after 2 cycles, 2 failed" in lines[-1]
    runs = sorted(p for p in (project / ".llmbench" / "runs").iterdir() if p.name != "latest")
    assert len(runs) == 2 and all((run / "pytest.log").exists() for run in runs)
    assert (runs[1] / "summary.json").exists()


def test_sigterm_stops_after_the_current_cycle(project: Path) -> None:
    (project / "cycle1").touch()
    process = _watch(project, "--interval", "1h", "--", "arith.yaml",
                     "--llmbench-models", "inproc:oracle", "-p", "no:cacheprovider")
    lines: list[str] = []
    _wait_for(process, "Success inproc:oracle", lines)
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=30)
    text = "".join(lines) + out
    assert process.returncode == 0
    assert "SIGTERM: stopping after the current cycle" in text
    assert "watch stopped after 1 cycles, 0 failed" in text


def test_sigterm_mid_cycle_lets_the_cycle_finish(project: Path) -> None:
    (project / "cycle1").touch()
    env_args = ("--", "arith.yaml", "--llmbench-models", "inproc:oracle", "-p",
                "no:cacheprovider")
    os.environ["SLOW"] = "0.2"
    try:
        process = _watch(project, "--interval", "1h", *env_args)
    finally:
        del os.environ["SLOW"]
    time.sleep(1.5)  # pytest is starting or running its 10 slow items
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    assert "SIGTERM: stopping after the current cycle" in out
    assert "✅ Success inproc:oracle (tps=" in out  # the cycle ran to its end
    assert "watch stopped after 1 cycles, 0 failed" in out
    assert process.returncode == 0


def test_pause_file_holds_cycles_and_sigusr1_drains(project: Path) -> None:
    (project / "cycle1").touch()
    pause = project / "pause"
    pause.touch()
    process = _watch(project, "--interval", "0.1s", "--pause-file", str(pause), "--", "arith.yaml",
                     "--llmbench-models", "inproc:oracle", "-p", "no:cacheprovider")
    lines: list[str] = []
    _wait_for(process, "paused:", lines)
    time.sleep(1)
    assert not (project / ".llmbench").exists()  # nothing ran while paused
    pause.unlink()
    _wait_for(process, "Success inproc:oracle", lines)
    process.send_signal(signal.SIGUSR1)
    out, _ = process.communicate(timeout=60)
    assert "SIGUSR1: draining" in "".join(lines) + out
    assert process.returncode == 0


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("45s", 45), ("1.5h", 5400),
                                                ("30", 1800), ("90s", 90), ("250ms", 0.25)])
def test_intervals(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


def test_bad_interval_is_a_clear_error(tmp_path: Path) -> None:
    process = _watch(tmp_path, "--interval", "soon", "--", "x")
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 2 and "invalid interval 'soon'" in out


def test_all_wrong_is_not_success_and_bare_provider_ids(tmp_path: Path) -> None:
    write_suite(tmp_path)
    env_args = ("--interval", "1", "--count", "1", "--", "arith.yaml", "--llmbench-provider",
                "inproc", "--llmbench-models", "wrong,oracle", "-p", "no:cacheprovider")
    process = _watch(tmp_path, *env_args)
    out, _ = process.communicate(timeout=120)
    assert "Running benchmark: inproc:wrong" in out and "Running benchmark: inproc:oracle" in out
    assert re.search(LINE + r"Benchmark failed for inproc:wrong - no answer right "
                     r"\(0/10, accuracy=0.00\)", out), out
    assert "✅ Success inproc:oracle (tps=" in out and "accuracy=1.00)" in out
    assert process.returncode == 1


def test_signals_landing_inside_a_wait_never_hang_the_watcher(tmp_path: Path) -> None:
    """SIGTERM during ``wake.wait`` once deadlocked ``threading.Event`` (CI saw a watcher
    ignore SIGTERM); ``SignalEvent.set`` only writes a byte. A timer fires every 0.1 ms
    while the main thread waits 100,000 times."""
    script = tmp_path / "race.py"
    script.write_text(
        "import signal\n"
        "from pytest_llmbench.server.signal_event import SignalEvent\n"
        "wake = SignalEvent()\n"
        "signal.signal(signal.SIGALRM, lambda *a: wake.set())\n"
        "signal.setitimer(signal.ITIMER_REAL, 0.0001, 0.0001)\n"
        "for _ in range(100000):\n"
        "    wake.wait(0)\n"
        "signal.setitimer(signal.ITIMER_REAL, 0)\n"
        "print('woken' if wake.wait(0) else 'not set')\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "woken"), done.stderr[-2000:]
