"""Every executed item is counted: a worker killed mid-item is an error record in the
summary, report and run.json; SIGTERM winds a run down as Ctrl-C does."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_llmbench.plugin.crash import split_nodeid
from tests.conftest import read_records, read_summary, write_suite

ROWS = [{"id": f"r{i:03d}", "question": str(i), "answer": str(i)} for i in range(16)]


def _run_json(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / ".llmbench/runs/latest/run.json").read_text())


def test_killed_worker_item_is_an_error_record(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=ROWS)
    pytester.makeconftest("""
        import os, signal
        import pytest
        @pytest.fixture(autouse=True)
        def die(request):
            if request.node.name == "arith[inproc:echo/r007]" and not os.path.exists("died"):
                open("died", "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models",
                                           "inproc:oracle,inproc:echo", "-n", "2",
                                           "--junitxml", "junit.xml", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*worker 'gw*' crashed while running*r007*"])
    records = read_records(pytester)
    assert len(records) == 2 * len(ROWS)  # every executed item, the crashed one included
    crash = [r for r in records if r["error_kind"] == "crash"]
    assert len(crash) == 1
    assert (crash[0]["suite"], crash[0]["model"], crash[0]["case_id"], crash[0]["outcome"]) == (
        "arith", "inproc:echo", "r007", "error")
    assert crash[0]["error"].startswith("inproc:echo - WorkerCrashed: worker 'gw")
    rows = {row["model"]: row for row in read_summary(pytester)}
    assert (rows["inproc:echo"]["n"], rows["inproc:echo"]["errors"]) == (len(ROWS), 1)
    assert len(rows) == 2  # the crash joined its suite's row, no row of its own
    run = _run_json(pytester)
    assert run["status"] == "crashed"
    assert run["crashed"] == [crash[0]["nodeid"]]
    with open(pytester.path / ".llmbench/runs/latest/records.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 2 * len(ROWS)


def test_split_nodeid_prefers_the_longest_model_name() -> None:
    names = ["together:meta/llama", "together:meta"]
    assert split_nodeid("s.yaml::gsm8k[together:meta/llama/q1]", names) == (
        "s.yaml::gsm8k", "together:meta/llama", "q1")
    assert split_nodeid("s.yaml::gsm8k[together:meta/v2/q1]", names) == (
        "s.yaml::gsm8k", "together:meta", "q1")
    assert split_nodeid("t.py::test_x", names) == ("t.py::test_x", "", "test_x")


def _sim_processes(parent: int) -> list[int]:
    """Live simulator processes started for the pytest process ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"pytest_llmbench.sim" in b" ".join(argv) and str(parent).encode() in argv:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("workers", ["0", "2"])
def test_sigterm_is_handled_like_ctrl_c(pytester: pytest.Pytester, tmp_path: Path,
                                        workers: str) -> None:
    """SIGTERM mid-run, to the process and then its process group: exit status 2, every
    finished record in records.jsonl and in records.csv, a summary, run.json
    ``interrupted``, no simulator process or temp folder."""
    write_suite(pytester.path, rows=[{"id": f"q{i:03d}", "question": f"{i} + {i}",
                                      "answer": str(2 * i)} for i in range(40)])
    ready = pytester.path / "ready"
    pytester.makeconftest(f"""
        import time
        import pytest
        SEEN = []
        @pytest.fixture(autouse=True)
        def stall(request):
            SEEN.append(1)
            if len(SEEN) == 6:
                open({str(ready)!r}, "a").close()
                time.sleep(60)
    """)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "arith.yaml", "--llmbench-models", "sim:default",
         "-n", workers, "-p", "no:cacheprovider", "-q"],
        cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        written = pytester.path / ".llmbench/runs/latest/records.jsonl"
        # a record the controller has not taken from xdist's queue yet is lost on
        # interrupt, as with Ctrl-C: signal once records are being written
        while not (ready.exists() and written.exists() and written.stat().st_size):
            assert proc.poll() is None and time.monotonic() < deadline, "the run never stalled"
            time.sleep(0.05)
        sims = _sim_processes(proc.pid)
        assert sims, "the embedded simulator should be running"
        # as GNU timeout and Slurm do: the process, then its whole group (xdist workers too)
        proc.send_signal(signal.SIGTERM)
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out.decode()[-2000:]
    run = _run_json(pytester)
    assert run["status"] == "interrupted"
    records = read_records(pytester)
    assert 1 <= len(records) < 40
    with open(pytester.path / ".llmbench/runs/latest/records.csv", newline="") as fh:
        assert sorted(r["nodeid"] for r in csv.DictReader(fh)) == sorted(
            r["nodeid"] for r in records)
    summary = read_summary(pytester)
    assert sum(row["n"] for row in summary) == len(records)
    assert not _sim_processes(proc.pid)
    assert [p.name for p in tmp.iterdir() if p.name.startswith("llmbench")] == []
