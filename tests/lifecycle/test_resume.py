"""--llmbench-resume after a run killed half-way, --llmbench-retry-errors, mismatches."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.conftest import read_records, read_summary, write_suite

ROWS = [{"id": f"r{i:03d}", "question": str(i), "answer": str(i)} for i in range(20)]
ARGS = ("arith.yaml", "--llmbench-models", "inproc:oracle,inproc:echo", "-p", "no:cacheprovider")
RAN = """
    import os, signal
    import pytest

    @pytest.fixture(autouse=True)
    def ran(request):
        if request.node.name == "arith[inproc:echo/r005]" and not os.path.exists("killed"):
            open("killed", "w").close()
            os.kill(os.getpid(), signal.SIGKILL)  # the whole pytest process, mid-run
        yield
        with open("ran.txt", "a") as handle:
            handle.write(request.node.nodeid + "\\n")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=ROWS)
    pytester.makeconftest(RAN)


def _runs(pytester: pytest.Pytester) -> list[str]:
    return (pytester.path / "ran.txt").read_text().splitlines()


@pytest.mark.parametrize("resume_flags", [(), ("-n", "2")])
def test_resume_after_sigkill_runs_only_the_rest_into_the_same_run(
        pytester: pytest.Pytester, suite: None, resume_flags: tuple[str, ...]) -> None:
    killed = pytester.runpytest_subprocess(*ARGS, "-p", "no:xdist")
    assert killed.ret == -9
    before = read_records(pytester)
    run_id = before[0]["run_id"]
    assert 0 < len(before) < 40

    result = pytester.runpytest_subprocess(*ARGS, "--llmbench-resume", "latest", *resume_flags)
    records = read_records(pytester)
    assert {r["run_id"] for r in records} == {run_id}
    counts = Counter(r["nodeid"] for r in records)
    assert len(counts) == 40 and set(counts.values()) == {1}  # every item once, none twice
    assert not [n for n, c in Counter(_runs(pytester)).items() if c > 1]  # no item ran twice
    assert len(_runs(pytester)) == 40
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 40 - len(before)
    rows = {r["model"]: r for r in read_summary(pytester)}
    assert rows["inproc:oracle"]["n"] == rows["inproc:echo"]["n"] == 20
    assert rows["inproc:oracle"]["passed"] == 20 and rows["inproc:echo"]["failed"] == 20
    csv_lines = (pytester.path / ".llmbench/runs" / run_id / "records.csv").read_text()
    assert len(csv_lines.strip().splitlines()) == 41
    assert (pytester.path / ".llmbench/runs" / run_id / "report.html").exists()
    info = json.loads((pytester.path / ".llmbench/runs" / run_id / "run.json").read_text())
    assert info["status"] == "completed" and info["resumed"]["records_kept"] == len(before)
    result.stdout.fnmatch_lines([f"*llmbench resume: {len(before)} records kept from*{run_id}*"])


def test_resume_of_a_finished_run_runs_nothing(pytester: pytest.Pytester, suite: None) -> None:
    pytester.path.joinpath("killed").touch()
    pytester.runpytest_subprocess(*ARGS)
    result = pytester.runpytest_subprocess(*ARGS, "--llmbench-resume", "latest")
    result.stdout.fnmatch_lines(["*40 deselected*"])
    assert len(read_records(pytester)) == 40
    assert read_summary(pytester)[0]["n"] == 20


def test_retry_errors_reruns_only_the_errored_items(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=ROWS)
    pytester.makeconftest("""
        import os
        import pytest

        @pytest.fixture(autouse=True)
        def flaky(request):
            if request.node.name.endswith(("r003]", "r007]")) and os.path.exists("flaky"):
                raise ConnectionError("upstream went away")
            with open("ran.txt", "a") as handle:
                handle.write(request.node.nodeid + "\\n")
    """)
    pytester.path.joinpath("flaky").touch()
    first = pytester.runpytest_subprocess(*ARGS)
    first.assert_outcomes(passed=18, failed=18, errors=4)
    run_id = read_records(pytester)[0]["run_id"]
    pytester.path.joinpath("flaky").unlink()
    (pytester.path / "ran.txt").unlink()

    result = pytester.runpytest_subprocess(*ARGS, "--llmbench-retry-errors", run_id, "-n", "2")
    result.assert_outcomes(passed=2, failed=2)
    assert len(_runs(pytester)) == 4
    records = read_records(pytester)
    assert len(records) == 40 and not [r for r in records if r["outcome"] == "error"]
    superseded = (pytester.path / ".llmbench/runs" / run_id / "records.superseded.jsonl")
    assert len(superseded.read_text().splitlines()) == 4
    assert {r["errors"] for r in read_summary(pytester)} == {0}


def test_resume_with_other_models_is_a_usage_error(pytester: pytest.Pytester,
                                                   suite: None) -> None:
    pytester.path.joinpath("killed").touch()
    pytester.runpytest_subprocess(*ARGS)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "inproc:oracle",
                                           "--llmbench-resume", "latest")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llmbench-resume: run * was made with models inproc:echo, "
                                 "inproc:oracle (now inproc:oracle)*"])
    missing = pytester.runpytest_subprocess(*ARGS, "--llmbench-resume", "nope")
    missing.stderr.fnmatch_lines(["*--llmbench-resume: no run 'nope' under *runs*"])
