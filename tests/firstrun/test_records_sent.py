"""Records carry the params really sent; run.json has ISO 8601 times (issue 17, point 8)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.conftest import read_records, write_suite


def test_records_carry_merged_params_and_run_json_iso_times(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, extra="params: {temperature: 0, max_tokens: 16, seed: 1}\n"
                "variants:\n  hot: {params: {temperature: 0.7}}\n  plain: {}\n")
    pytester.makefile(".yaml", llmbench="models:\n  inproc:oracle: {params: {max_tokens: 64}}\n"
                      "  inproc:error: {params: {max_tokens: 8}}\n")
    result = pytester.runpytest("arith.yaml", "-k", "q001", "--llmbench-models",
                                "inproc:oracle,inproc:error", "--llmbench-max-retries", "0")
    result.assert_outcomes(passed=2, errors=2)
    sent = {(r["model"], r["variant"]): r["params"] for r in read_records(pytester)}
    assert sent[("inproc:oracle", "hot")] == {"temperature": 0.7, "max_tokens": 64, "seed": 1}
    assert sent[("inproc:oracle", "plain")] == {"temperature": 0, "max_tokens": 64, "seed": 1}
    assert sent[("inproc:error", "hot")] == {"temperature": 0.7, "max_tokens": 8, "seed": 1}
    info = json.loads((pytester.path / ".llmbench/runs/latest/run.json").read_text())
    started = datetime.fromisoformat(info["started_at_iso"])
    finished = datetime.fromisoformat(info["finished_at_iso"])
    assert started.utcoffset() is not None and started <= finished
    assert abs(started.timestamp() - info["started_at"]) < 0.001
