"""Output tokens/s end to end: summary.json, the terminal and compare all use one
definition, total output tokens / total generation time, from the same records."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import read_records, read_summary


def test_summary_and_terminal_tok_s_are_the_ratio_of_sums(pytester: pytest.Pytester) -> None:
    rows = [{"id": f"a{i}", "question": f"{i}+{i}", "answer": str(2 * i)} for i in range(12)]
    (pytester.path / "add.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (pytester.path / "add.yaml").write_text(
        "name: add\ndataset: add.jsonl\nprompt: 'What is {question}?'\nexpected: answer\n"
        "scorer: exact\n")
    result = pytester.runpytest_subprocess("add.yaml", "--llmbench-models", "sim:default",
                                           "--llmbench-progress", "plain")
    result.assert_outcomes(passed=12)
    records = read_records(pytester)
    tokens = sum(r["output_tokens"] for r in records)
    seconds = sum(r["latency_s"] for r in records)
    (row,) = read_summary(pytester)
    assert row["output_tps"] == pytest.approx(tokens / seconds)
    # short answers have no per-request decode rate, so no median of them either
    assert all(r["output_tps"] is None for r in records if r["output_tokens"] < 4)
    shown = [float(m) for m in re.findall(r"\| ([\d.]+) tok/s \|", result.stdout.str())]
    assert shown and shown[-1] == pytest.approx(tokens / seconds, abs=0.051)
