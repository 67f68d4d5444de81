"""The output folder and the file system: unusable folders, run ids, a disk that fills up
mid-run, and path options that must not move pytest's rootdir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_suite

ROWS = [{"id": f"r{i:03d}", "question": "x" * 300 + str(i), "answer": str(i)} for i in range(40)]
MODELS = ("--llmbench-models", "inproc:oracle", "-p", "no:cacheprovider", "-p", "no:xdist")


def _records(run: Path) -> list[dict[str, object]]:
    text = (run / "records.jsonl").read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), "records.jsonl must end on a complete line"
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("spelling", ["space", "equals"])
@pytest.mark.parametrize("target", ["afile/runs", "afile"])
def test_output_under_a_regular_file_is_a_usage_error_before_any_call(
        pytester: pytest.Pytester, spelling: str, target: str) -> None:
    write_suite(pytester.path)
    (pytester.path / "afile").write_text("not a folder")
    flags = ["--llmbench-output", target] if spelling == "space" else [f"--llmbench-output={target}"]
    result = pytester.runpytest_subprocess("arith.yaml", *MODELS, *flags)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --llmbench-output {target}: * is a file, not a folder"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through a 0o555 folder; "
                    "the read-only mount test below covers root")
def test_output_in_a_read_only_folder_is_a_usage_error(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path)
    locked = pytester.path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = pytester.runpytest_subprocess("arith.yaml", *MODELS, "--llmbench-output",
                                               "locked/runs")
    finally:
        locked.chmod(0o755)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --llmbench-output locked/runs: *locked is not writable"])


@pytest.fixture
def mount(pytester: pytest.Pytester) -> Iterator[Path]:
    """A folder of the test on its own small tmpfs (root only: CI runs as root)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    folder = pytester.path / "mnt"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(folder)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_output_on_a_read_only_mount_is_a_usage_error(pytester: pytest.Pytester,
                                                      mount: Path) -> None:
    write_suite(pytester.path)
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    result = pytester.runpytest_subprocess("arith.yaml", *MODELS, f"--llmbench-output={mount}/runs")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --llmbench-output {mount}/runs: {mount} is "
                                 "read-only file system"])


@pytest.mark.parametrize("run_id", ["..", ".", "latest", "../escape", "/tmp/abs", "a/b", ""])
def test_bad_run_ids_are_usage_errors(pytester: pytest.Pytester, run_id: str) -> None:
    write_suite(pytester.path)
    result = pytester.runpytest_subprocess("arith.yaml", *MODELS, f"--llmbench-run-id={run_id}")
    if run_id == "":  # empty means "not given": a fresh id
        assert result.ret == 0
        return
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --llmbench-run-id {run_id!r}: a run id is one folder "
                                 "name *(not a path, '.', '..' or 'latest')"])
    assert not (pytester.path / ".llmbench").exists()
    assert not (pytester.path / "escape").exists()


FAIL_AT = """
    import errno
    from pytest_llmbench.results import run_dir

    _real = run_dir._write
    _count = [0]

    def _write(handle, data):
        _count[0] += 1
        if _count[0] > {n}:  # a full disk: half the line goes out, then ENOSPC
            handle.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        _real(handle, data)

    run_dir._write = _write
"""


def _check_stopped(result: pytest.RunResult, run: Path) -> list[dict[str, object]]:
    assert result.ret == pytest.ExitCode.INTERRUPTED
    out = result.stdout.str()
    assert "No space left on device" in out and "--llmbench-resume" in out
    assert "INTERNALERROR" not in out and "Traceback" not in out
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "stopped"
    assert "No space left on device" in info["error"]
    return _records(run)


@pytest.mark.parametrize("dist", [(), ("-p", "xdist", "-n", "2")])
def test_disk_full_mid_run_stops_cleanly_and_resume_finishes(pytester: pytest.Pytester,
                                                            dist: tuple[str, ...]) -> None:
    """Fault injection at the one place records are written: the 6th write fails half-way
    (on the controller, which writes every record, with or without xdist workers)."""
    write_suite(pytester.path, rows=ROWS)
    pytester.makeconftest(FAIL_AT.replace("{n}", "5"))
    models = MODELS[:-2] if dist else MODELS
    result = pytester.runpytest_subprocess("arith.yaml", *models, *dist,
                                           "--llmbench-run-id", "full")
    run = pytester.path / ".llmbench/runs/full"
    kept = _check_stopped(result, run)
    assert len(kept) == 5  # every record written before the fault, whole
    result.stdout.fnmatch_lines(["*Interrupted: llmbench: cannot write the run directory: *"
                                 "records.jsonl: No space left on device*"])

    (pytester.path / "conftest.py").unlink()  # space is back
    resumed = pytester.runpytest_subprocess("arith.yaml", *MODELS, "--llmbench-resume", "full")
    assert resumed.ret == 0
    records = _records(run)
    assert Counter(r["nodeid"] for r in records).most_common(1)[0][1] == 1
    assert len(records) == 40
    assert json.loads((run / "run.json").read_text())["status"] == "completed"


def test_real_full_tmpfs_mid_run_then_resume_after_growing_it(pytester: pytest.Pytester,
                                                            mount: Path) -> None:
    write_suite(pytester.path, rows=ROWS)
    args = ("arith.yaml", *MODELS, f"--llmbench-output={mount}")
    result = pytester.runpytest_subprocess(*args, "--llmbench-run-id", "tiny")
    run = mount / "tiny"
    kept = _check_stopped(result, run)
    assert 0 < len(kept) < 40

    subprocess.run(["mount", "-o", "remount,size=4m", str(mount)], check=True)
    resumed = pytester.runpytest_subprocess(*args, "--llmbench-resume", "tiny")
    assert resumed.ret == 0, resumed.stdout.str()
    records = _records(run)
    assert len(records) == 40 and len({r["nodeid"] for r in records}) == 40
    assert {r["run_id"] for r in records} == {"tiny"}
    assert json.loads((run / "run.json").read_text())["status"] == "completed"


@pytest.mark.parametrize("option", ["--llmbench-output", "--llmbench-config",
                                    "--llmbench-cache-dir"])
@pytest.mark.parametrize("spelling", ["space", "equals"])
def test_path_options_do_not_move_the_rootdir(pytester: pytest.Pytester, option: str,
                                              spelling: str) -> None:
    """A project with only llmbench.yaml (no ini file): the option's value must not become
    pytest's rootdir, or the project's llmbench.yaml stops loading."""
    project = pytester.path / "proj"
    project.mkdir()
    write_suite(project)
    (project / "llmbench.yaml").write_text("models:\n  - inproc:oracle\n")
    (pytester.path / "x.yaml").write_text("models:\n  - inproc:oracle\n")
    (pytester.path / "out").mkdir()
    value = {"--llmbench-output": "../out", "--llmbench-config": "../x.yaml",
             "--llmbench-cache-dir": str(pytester.path / "cache")}[option]
    (pytester.path / "cache").mkdir()
    flags = [option, value] if spelling == "space" else [f"{option}={value}"]
    os.chdir(project)
    for _ in range(2):  # the second run is where the output folder already exists
        result = pytester.runpytest_subprocess("arith.yaml", "-p", "no:cacheprovider", *flags)
        assert result.ret == 0
        result.stdout.fnmatch_lines([f"rootdir: {project}", "*arith*inproc:oracle*"])
        assert "sim:default" not in result.stdout.str()
