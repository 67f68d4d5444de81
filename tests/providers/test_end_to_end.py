"""A real pytest run benchmarking an OpenAI-compatible server (the simulator) by name."""

from __future__ import annotations

import json

import pytest

from pytest_llmbench.sim import SimServer
from tests.conftest import ROWS, read_records, write_suite


def test_openai_compatible_run_records_ttft_and_tokens(pytester: pytest.Pytester,
                                                       tmp_path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({f"What is {r['question']}?": r["answer"] for r in ROWS}))
    write_suite(pytester.path)
    with SimServer(answer_key=answers) as sim:
        pytester.makefile(".yaml", llmbench=f"""
models:
  openai-compatible:default:
    base_url: {sim.base_url}/v1
    max_retries: 0
""")
        result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models",
                                               "openai-compatible:default", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(ROWS))
    records = read_records(pytester)
    assert len(records) == len(ROWS)
    for record in records:
        assert record["model"] == "openai-compatible:default"
        assert record["ttft_s"] > 0
        assert record["output_tokens"] >= 1
        assert "api_key" not in json.dumps(record) or "***" in json.dumps(record)


def test_missing_key_is_one_line_before_the_run(pytester: pytest.Pytester,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    write_suite(pytester.path, rows=ROWS[:3])
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "groq:llama-3.3-70b")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: groq:llama-3.3-70b: set GROQ_API_KEY (or api_key in llmbench.yaml)"])
