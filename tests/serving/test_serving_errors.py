"""A serving point that cannot measure anything still leaves an error record with a one-line
reason: an unknown model, an unreachable server, a target that never comes up."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import read_records
from tests.targets.conftest import PYTHON, write_config

SUITE = """\
kind: serving
name: chat_load
max_tokens: 8
requests: 4
harness: {max_loop_lag_ms: 1000}
scenarios:
  - concurrency: [1, 2]
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_an_error_record(pytester: pytest.Pytester,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMBENCH_SIM_URL", f"http://127.0.0.1:{_free_port()}")  # nobody listens
    pytester.makefile(".yaml", load=SUITE)
    result = pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "sim:fast",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*ServingError: sim:fast: all 4 requests failed; first: *"])
    recs = read_records(pytester)
    assert {r["case_id"] for r in recs} == {"c1", "c2"}
    for record in recs:
        assert record["outcome"] == "error" and record["error_kind"] == "provider"
        assert "all 4 requests failed" in record["error"] and "\n" not in record["error"]


def test_target_that_never_comes_up_leaves_error_records_quoting_its_log(
        pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", load=SUITE)
    booting = [PYTHON, "-c", "import time; print('loading weights 0%', flush=True); "
               "time.sleep(60)"]
    write_config(pytester.path, {"stuck": {"command": booting, "port": "auto",
                                           "startup_timeout": 1.5}})
    result = pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "sim:fast@stuck",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*did not become healthy within 1.5s*"])
    recs = read_records(pytester)
    assert len(recs) == 2
    for record in recs:  # failed in setup: no load was sent, the reason is kept
        assert record["outcome"] == "error" and record["error_kind"] == "target"
        assert "did not become healthy" in record["error"]
        assert "loading weights 0%" in record["error"]
        assert "serving" not in record["metrics"]
    summary = (pytester.path / ".llmbench" / "runs" / "latest" / "summary.json").read_text()
    assert '"errors": 2' in summary
