"""Terminal tables fit the terminal (100 columns in a log); the files keep every name and
figure whole (issue 17, point 11)."""

from __future__ import annotations

import csv
import json
from typing import Any

import pytest

from pytest_llmbench.report.terminal import ABBREVIATED_NOTE, summary_table
from pytest_llmbench.report.text_table import abbreviate, fit_table

OPUS = "bedrock:us.anthropic.claude-opus-4-5-20251101-v1:0"
HAIKU = "bedrock:us.anthropic.claude-haiku-4-5-20251001-v1:0"


def _row(model: str, variant: str, seed: int) -> dict[str, Any]:
    return {"suite": "instruction_following_strict", "model": model, "variant": variant,
            "n": 100 + seed, "passed": 90, "failed": 8, "errors": 2 + seed, "accuracy": 0.9,
            "accuracy_ci_low": 0.82, "accuracy_ci_high": 0.95, "latency_p50": 1.25 + seed,
            "latency_p95": 3.5, "ttft_p50": 0.412, "output_tps": 87.3, "cost_usd": 0.123456,
            "pass_at_1": 0.5, "pass_at_5": 0.75, "pass_at_10": 0.875 + seed / 1000,
            "batch_items": 12}


def test_summary_table_fits_and_keeps_every_figure() -> None:
    rows = [_row(model, variant, i) for i, (model, variant) in enumerate(
        [(OPUS, "few_shot_from_the_train_split"), (HAIKU, "few_shot_from_the_train_split"),
         (OPUS, "terse"), (HAIKU, "terse")])]
    for width in (100, 80, 120):
        lines = summary_table(rows, width)
        assert all(len(line) <= width for line in lines), "\n".join(lines)
        text = "\n".join(lines)
        for row in rows:  # every figure is on screen, in some block
            for figure in (f"{row['latency_p50']:.3f}", f"{row['pass_at_10']:.3f}",
                           str(row["errors"]), str(row["n"])):
                assert figure in text
        assert "0.123456" in text and "pass@10" in text and "90.0% [82.0%, 95.0%]" in text
        assert lines[-1] == ABBREVIATED_NOTE
        # the two models stay distinct, each block leads with suite / model / variant
        models = {line.split("  ")[1] for line in lines[2:6]}
        assert len(models) == 2
        headers = [line for line in lines if line.startswith("suite ")]
        assert len(headers) >= 2 and all(" model " in h and " variant " in h for h in headers)
    # at 100 columns the models keep what tells them apart (their shared prefix goes first)
    text = "\n".join(summary_table(rows, 100))
    assert "...opus-4-5-20251101-v1:0" in text and "...haiku-4-5-20251001-v1:0" in text


def test_a_narrow_table_is_left_alone() -> None:
    rows = [_row("sim:default", "terse", 0)]
    rows[0] = {k: v for k, v in rows[0].items() if not k.startswith(("pass_at", "batch"))}
    rows[0]["suite"] = "arith"
    lines = summary_table(rows, 200)
    assert len(lines) == 3 and "sim:default" in lines[2] and ABBREVIATED_NOTE not in lines


def test_abbreviate_keeps_head_and_tail() -> None:
    assert abbreviate(OPUS, 24) == "bedrock:...20251101-v1:0"
    assert len(abbreviate(OPUS, 24)) == 24 and abbreviate("short", 24) == "short"
    table = fit_table([["name", "x"], [OPUS, "1"], [OPUS.replace("v1", "v2"), "2"]], 1, 30)
    assert len({line.split("  ")[0] for line in table.lines[2:]}) == 2  # still distinct


def test_run_summary_fits_100_columns_and_files_keep_names(pytester: pytest.Pytester,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           suite_dir: Any) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    opus, haiku = (name.replace("bedrock:", "sim:") for name in (OPUS, HAIKU))
    (pytester.path / "llmbench.yaml").write_text(
        f"models:\n  {opus}:\n    served_name: default\n"
        f"    price: {{input_per_mtok: 5, output_per_mtok: 25}}\n"
        f"  {haiku}:\n    served_name: fast\n")
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", f"{opus},{haiku}",
                                           "--llmbench-score-only", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=20)
    out = result.stdout.lines
    start = next(i for i, line in enumerate(out) if "llmbench summary" in line)
    end = next(i for i, line in enumerate(out) if line.startswith("run directory:"))
    table = out[start + 1:end]
    assert all(len(line) <= 100 for line in table), "\n".join(table)
    assert any("[" in line and "%" in line for line in table)  # the accuracy column shows
    assert opus in "\n".join(table)  # wrapped rather than cut: the name fits
    assert sum(line.startswith("suite ") for line in table) == 2
    run = pytester.path / ".llmbench/runs/latest"
    rows = json.loads((run / "summary.json").read_text())["rows"]
    assert {row["model"] for row in rows} == {opus, haiku}
    with (run / "summary.csv").open(encoding="utf-8") as handle:
        assert {row["model"] for row in csv.DictReader(handle)} == {opus, haiku}
    assert any(len(line) > 100 for line in (run / "summary.csv").read_text().splitlines())
