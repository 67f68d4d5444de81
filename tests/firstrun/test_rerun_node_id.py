"""A failing item's id re-runs as printed, without --llmbench-models (issue 17, point 9)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import read_records


def test_printed_id_reruns_without_models_option(pytester: pytest.Pytester, suite_dir) -> None:
    first = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle,inproc:wrong")
    first.assert_outcomes(passed=10, failed=10)
    printed = next(line.split(" ")[1] for line in first.outlines
                   if line.startswith("FAILED ") and "q003" in line)
    assert printed == "arith.yaml::arith[inproc:wrong/q003]"
    again = pytester.runpytest(printed, "-v")
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["arith.yaml::arith[[]inproc:wrong/q003[]] FAILED*"])
    assert [(r["model"], r["case_id"]) for r in read_records(pytester)] == [
        ("inproc:wrong", "q003")]
    info = json.loads((pytester.path / ".llmbench/runs/latest/run.json").read_text())
    assert [m["name"] for m in info["models"]] == ["inproc:wrong"]


def test_variant_ids_and_several_ids(pytester: pytest.Pytester, suite_dir) -> None:
    (pytester.path / "arith.yaml").write_text(
        (pytester.path / "arith.yaml").read_text()
        + "variants:\n  terse: {system: 'Number only.'}\n  plain: {}\n")
    result = pytester.runpytest("arith.yaml::arith[inproc:oracle/terse/q001]",
                                "arith.yaml::arith[inproc:wrong/plain/q002]")
    result.assert_outcomes(passed=1, failed=1)
    info = json.loads((pytester.path / ".llmbench/runs/latest/run.json").read_text())
    assert [m["name"] for m in info["models"]] == ["inproc:oracle", "inproc:wrong"]
