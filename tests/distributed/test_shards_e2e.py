"""Shards end to end: real pytest runs cut with --llmbench-shard, merged by `llmbench merge`
into one run equal to the unsharded run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROWS, write_suite

MODELS = "inproc:oracle,inproc:echo"
RUNS = Path(".llmbench/runs")


def _records(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]


def _verdicts(run: Path) -> dict[str, tuple[str, Any]]:
    return {r["nodeid"]: (r["outcome"], r["score"]) for r in _records(run)}


def _merge(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", "merge", *args],
                          cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def two_suites(pytester: pytest.Pytester) -> Path:
    write_suite(pytester.path)
    write_suite(pytester.path, name="more", rows=[
        {"id": f"m{i}", "question": "x" * (i * 40), "answer": "1"} for i in range(12)])
    return pytester.path


def test_shards_cover_every_item_once_and_merge_into_the_unsharded_run(
        pytester: pytest.Pytester, two_suites: Path) -> None:
    whole = pytester.runpytest_subprocess("arith.yaml", "more.yaml", "--llmbench-models", MODELS,
                                          "--llmbench-run-id", "whole", "-p", "no:cacheprovider")
    counts = whole.parseoutcomes()
    parts = []
    for index in range(3):
        result = pytester.runpytest_subprocess(
            "arith.yaml", "more.yaml", "--llmbench-models", MODELS, "--llmbench-run-id", "nightly",
            "--llmbench-shard", f"{index}/3", "-p", "no:cacheprovider",
            *(["-n", "2"] if index == 1 else []))
        result.stdout.fnmatch_lines([f"llmbench shard {index}/3 (from --llmbench-shard): * items"]
                                    if index != 1 else ["*"])
        parts.append(pytester.path / RUNS / f"nightly.shard-{index}-of-3")
    cases = [{(r["suite"], r["case_id"]) for r in _records(p)} for p in parts]
    assert all(cases) and not (cases[0] & cases[1] or cases[0] & cases[2] or cases[1] & cases[2])
    for part in parts:  # every model of a case runs in the same shard
        records = _records(part)
        assert {r["model"] for r in records} == {"inproc:oracle", "inproc:echo"}
        info = json.loads((part / "run.json").read_text())
        assert info["run_id"] == "nightly" and info["shard"]["count"] == 3
    merged = _merge(pytester.path, "nightly")
    assert merged.returncode == 0, merged.stderr
    out = pytester.path / RUNS / "nightly"
    assert _verdicts(out) == _verdicts(pytester.path / RUNS / "whole")
    assert len(_records(out)) == sum(counts.values()) == 2 * (len(ROWS) + 12)
    info = json.loads((out / "run.json").read_text())
    assert info["merge_problems"] == [] and info["shards"] == {"count": 3, "present": [0, 1, 2]}
    whole_rows = {(r["suite"], r["model"]): r["accuracy"] for r in
                  json.loads((pytester.path / RUNS / "whole/summary.json").read_text())["rows"]}
    merged_rows = {(r["suite"], r["model"]): r["accuracy"] for r in
                   json.loads((out / "summary.json").read_text())["rows"]}
    assert merged_rows == whole_rows
    assert (out / "report.html").exists()


def test_a_missing_shard_is_reported_and_the_merge_fails(pytester: pytest.Pytester,
                                                        two_suites: Path) -> None:
    for index in (0, 2):
        pytester.runpytest_subprocess("arith.yaml", "more.yaml", "--llmbench-models", MODELS,
                                      "--llmbench-shard", f"{index}/3", "-p", "no:cacheprovider",
                                      "--llmbench-run-id", "r1")
    merged = _merge(pytester.path, "r1")
    assert merged.returncode == 1
    assert "missing shard(s) 1 of 3" in merged.stderr
    info = json.loads((pytester.path / RUNS / "r1/run.json").read_text())
    assert info["status"] == "partial"


def test_conflicting_duplicates_are_reported(pytester: pytest.Pytester, two_suites: Path) -> None:
    for index in (0, 1):
        pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "inproc:oracle",
                                      "--llmbench-shard", f"{index}/2", "-p", "no:cacheprovider",
                                      "--llmbench-run-id", "r2")
    run0 = pytester.path / RUNS / "r2.shard-0-of-2"
    other = _records(pytester.path / RUNS / "r2.shard-1-of-2")[0]
    forged = {**other, "outcome": "failed", "score": 0.0}
    with (run0 / "records.jsonl").open("a") as handle:
        handle.write(json.dumps(forged) + "\n")
    merged = _merge(pytester.path, "r2")
    assert merged.returncode == 1
    assert f"{other['nodeid']}: recorded differently" in merged.stderr
    assert len(_records(pytester.path / RUNS / "r2")) == len(ROWS)


def test_shard_options_are_usage_errors_when_malformed(pytester: pytest.Pytester,
                                                      two_suites: Path) -> None:
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "inproc:oracle",
                                           "--llmbench-shard", "3/3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --llmbench-shard '3/3': expected INDEX/COUNT*"])
