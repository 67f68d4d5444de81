"""A suite that could not run is reported with its reason everywhere (issue 17, point 6)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import write_suite


def test_unavailable_suite_in_terminal_run_json_summary_and_html(
        pytester: pytest.Pytester) -> None:
    write_suite(pytester.path)
    (pytester.path / "external.yaml").write_text(
        "name: external\ndataset: {python: 'no_such_pkg_llmbench.data:rows'}\n"
        "prompt: '{q}'\n")
    result = pytester.runpytest("arith.yaml", "external.yaml", "-k", "q001 or unavailable",
                                "--llmbench-models", "inproc:oracle")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*llmbench summary*", "arith *inproc:oracle*",
                                 "skipped suite external (external.yaml): dataset unavailable:*"
                                 "no_such_pkg_llmbench*"])
    run = pytester.path / ".llmbench" / "runs" / "latest"
    info = json.loads((run / "run.json").read_text())
    assert info["suites"] == ["arith"]
    assert [s["suite"] for s in info["skipped_suites"]] == ["external"]
    assert "no_such_pkg_llmbench" in info["skipped_suites"][0]["reason"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["skipped_suites"] == info["skipped_suites"]
    html = (run / "report.html").read_text()
    assert "Skipped suites (1)" in html and "no_such_pkg_llmbench" in html


def test_only_skipped_suites_still_say_why(pytester: pytest.Pytester) -> None:
    (pytester.path / "external.yaml").write_text(
        "name: external\ndataset: {python: 'no_such_pkg_llmbench.data:rows'}\n"
        "prompt: '{q}'\n")
    result = pytester.runpytest("external.yaml", "--llmbench-models", "inproc:oracle")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["skipped suite external (external.yaml): *"])
