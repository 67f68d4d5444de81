"""xdist: identical records with -n 2, a killed worker, -p no:xdist and -W error."""

from __future__ import annotations

import pytest

from tests.conftest import read_records, read_summary, write_suite

ROWS = [{"id": f"r{i:03d}", "question": str(i), "answer": str(i)} for i in range(60)]
STABLE = ("nodeid", "suite", "case_id", "model", "outcome", "score", "prompt", "response",
          "expected", "input_tokens", "output_tokens", "error")
SUMMARY = ("suite", "model", "n", "passed", "failed", "errors", "accuracy", "accuracy_ci_low",
           "input_tokens", "output_tokens")


def _stable(records: list[dict]) -> list[tuple]:
    return sorted(tuple(str(r[k]) for k in STABLE) for r in records)


@pytest.fixture
def two_models(pytester: pytest.Pytester) -> tuple[str, ...]:
    write_suite(pytester.path, rows=ROWS)
    pytester.makefile(".yaml", llmbench="models:\n  inproc:oracle:\n    accuracy: 0.7\n")
    return ("arith.yaml", "--llmbench-models", "inproc:oracle,inproc:echo",
            "--llmbench-concurrency", "4", "-p", "no:cacheprovider")


def test_n2_gives_the_same_records_and_summary_as_n0(pytester: pytest.Pytester,
                                                    two_models) -> None:
    serial = pytester.runpytest_subprocess(*two_models, "-n", "0")
    serial_records, serial_summary = read_records(pytester), read_summary(pytester)
    parallel = pytester.runpytest_subprocess(*two_models, "-n", "2")
    parallel_records, parallel_summary = read_records(pytester), read_summary(pytester)
    assert serial.parseoutcomes() == parallel.parseoutcomes()
    assert len(parallel_records) == 120
    assert _stable(serial_records) == _stable(parallel_records)
    assert {r["worker"] for r in parallel_records} == {"gw0", "gw1"}
    assert len({r["run_id"] for r in parallel_records}) == 1
    for a, b in zip(serial_summary, parallel_summary, strict=True):
        assert {k: a[k] for k in SUMMARY} == {k: b[k] for k in SUMMARY}
    parallel.stdout.fnmatch_lines(["*llmbench summary*"])


def test_killed_worker_loses_only_its_item(pytester: pytest.Pytester, two_models) -> None:
    pytester.makeconftest("""
        import os, signal
        import pytest
        @pytest.fixture(autouse=True)
        def die(request):
            if request.node.name == "arith[inproc:echo/r030]" and not os.path.exists("died"):
                open("died", "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = pytester.runpytest_subprocess(*two_models, "-n", "2")
    result.stdout.fnmatch_lines(["*worker 'gw*' crashed while running*r030*"])
    records = read_records(pytester)
    ids = [(r["model"], r["case_id"]) for r in records]
    assert len(ids) == len(set(ids))
    every = {(m, f"r{i:03d}") for m in ("inproc:oracle", "inproc:echo") for i in range(60)}
    assert set(ids) == every  # the shard scheduler re-queues the rest of the dead shard
    crashed = [r for r in records if (r["model"], r["case_id"]) == ("inproc:echo", "r030")]
    assert crashed[0]["error_kind"] == "crash"  # reported as the crash, not run again
    assert read_summary(pytester)


@pytest.mark.parametrize("flags", [("-p", "no:xdist"), ("-W", "error"), ("-n", "2", "-W", "error")])
def test_runs_without_xdist_and_with_warnings_as_errors(pytester: pytest.Pytester, two_models,
                                                        flags: tuple[str, ...]) -> None:
    result = pytester.runpytest_subprocess(*two_models, *flags)
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    assert len(read_records(pytester)) == 120
    result.stdout.fnmatch_lines(["*llmbench summary*"])


def test_broken_suite_under_xdist_does_not_stop_the_others(pytester: pytest.Pytester,
                                                           two_models) -> None:
    (pytester.path / "broken.yaml").write_text("name: broken\nprompt: x\ndataset: [oops\n")
    result = pytester.runpytest_subprocess(*two_models, "broken.yaml", "-n", "2")
    result.stdout.fnmatch_lines(["*broken.yaml:4: invalid YAML*"])
    assert len(read_records(pytester)) == 120
