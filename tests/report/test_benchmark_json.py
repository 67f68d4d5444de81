"""--llmbench-benchmark-json: github-action-benchmark's customBiggerIsBetter and
customSmallerIsBetter files, measured figures only (issue 17, point 13)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_llmbench.report.benchmark_json import benchmark_entries

PRICED = "sim:us.anthropic.claude-opus-4-5-20251101-v1:0"


def _check_shape(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        assert set(entry) <= {"name", "unit", "value", "range", "extra"}
        assert isinstance(entry["name"], str) and isinstance(entry["unit"], str)
        assert isinstance(entry["value"], int | float) and not isinstance(entry["value"], bool)
        assert isinstance(entry.get("range", ""), str) and isinstance(entry.get("extra", ""), str)


def test_run_writes_both_files(pytester: pytest.Pytester, suite_dir: Any) -> None:
    (pytester.path / "llmbench.yaml").write_text(
        f"models:\n  {PRICED}:\n    served_name: default\n"
        "    price: {input_per_mtok: 5, output_per_mtok: 25}\n")
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models", f"{PRICED},sim:fast", "--llmbench-score-only",
        "--llmbench-benchmark-json", "bench", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=20)
    result.stdout.fnmatch_lines(["github-action-benchmark JSON: *benchmark-bigger-is-better"
                                 ".json and benchmark-smaller-is-better.json"])
    bigger = json.loads((pytester.path / "bench/benchmark-bigger-is-better.json").read_text())
    smaller = json.loads((pytester.path / "bench/benchmark-smaller-is-better.json").read_text())
    _check_shape(bigger)
    _check_shape(smaller)
    names = {e["name"]: e for e in bigger + smaller}
    accuracy = names[f"arith / {PRICED} - accuracy"]
    assert accuracy["unit"] == "%" and 0 <= accuracy["value"] <= 100
    assert accuracy["range"].startswith("95% CI ") and "n=10" in accuracy["extra"]
    assert names["arith / sim:fast - output tok/s"]["value"] > 0
    for model in (PRICED, "sim:fast"):
        for figure in ("latency p50", "latency p95", "TTFT p50"):
            assert names[f"arith / {model} - {figure}"]["unit"] == "s"
    assert names[f"arith / {PRICED} - cost"]["value"] > 0
    assert "arith / sim:fast - cost" not in names  # unpriced: left out, never 0


def test_unmeasured_figures_are_left_out() -> None:
    cached = {"suite": "s", "model": "m", "n": 4, "accuracy": 0.5, "accuracy_ci_low": 0.1,
              "accuracy_ci_high": 0.9, "latency_p50": None, "latency_p95": None,
              "ttft_p50": None, "output_tps": None, "cost_usd": None, "cached": 4,
              "pass_at_5": 0.75}
    failed = {"suite": "s", "model": "broken", "variant": "terse", "n": 4, "accuracy": None,
              "cost_usd": 0.0000004}
    bigger, smaller = benchmark_entries([cached, failed], "run1")
    assert [e["name"] for e in bigger] == ["s / m - accuracy", "s / m - pass@5"]
    assert [e["name"] for e in smaller] == ["s / broken / terse - cost"]
    assert smaller[0]["value"] == pytest.approx(4e-7)  # a tiny cost is not rounded to 0
