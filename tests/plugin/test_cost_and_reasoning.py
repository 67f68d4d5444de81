"""Cost and reasoning end to end: real SDKs against the simulator, records and summary.json."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pytest_llmbench.sim import SimServer
from tests.conftest import read_records, read_summary

ROWS = [{"id": f"r{i:02d}", "question": f"word{i}", "answer": f"word{i}"} for i in range(6)]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    models = ["thinkecho:base=thinker,policy=echo",
              "tagecho:base=thinker,policy=echo,reasoning_format=think_tags"]
    with SimServer(models=models) as server:
        yield server


@pytest.fixture
def echo_suite(pytester: pytest.Pytester) -> None:
    (pytester.path / "echo.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    pytester.makefile(".yaml", echo="name: echo\ndataset: echo.jsonl\nprompt: '{question}'\n"
                                    "expected: answer\n")


def test_config_price_reaches_records_and_summary_unknown_stays_unknown(
        pytester: pytest.Pytester, echo_suite: None, sim: SimServer) -> None:
    pytester.makefile(".yaml", llmbench=f"""
models:
  openai:echo:
    base_url: {sim.base_url}/v1
    api_key: sk-test
    price: {{input_per_mtok: 2.0, output_per_mtok: 8.0}}
  vllm:echo:
    base_url: {sim.base_url}/v1
""")
    result = pytester.runpytest_subprocess("echo.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=12)
    records = read_records(pytester)
    priced = [r for r in records if r["model"] == "openai:echo"]
    for r in priced:
        assert not r["tokens_estimated"]
        assert r["cost_usd"] == pytest.approx((r["input_tokens"] * 2 + r["output_tokens"] * 8) / 1e6)
    assert all(r["cost_usd"] is None for r in records if r["model"] == "vllm:echo")
    rows = {row["model"]: row for row in read_summary(pytester)}
    total = sum(r["cost_usd"] for r in priced)
    assert rows["openai:echo"]["cost_usd"] == pytest.approx(total)
    assert rows["openai:echo"]["cost_per_correct"] == pytest.approx(total / 6)
    assert rows["vllm:echo"]["cost_usd"] is None
    assert rows["vllm:echo"]["cost_per_correct"] is None
    result.stdout.fnmatch_lines(["*echo*vllm:echo*unknown*"])


def test_reasoning_is_kept_apart_and_counted(pytester: pytest.Pytester, echo_suite: None,
                                            sim: SimServer) -> None:
    """Both a ``reasoning_content`` stream and ``<think>`` tags in the content: the answer
    alone is scored, the thinking is recorded beside it."""
    pytester.makefile(".yaml", llmbench=f"""
models:
  vllm:thinkecho: {{base_url: "{sim.base_url}/v1"}}
  vllm:tagecho: {{base_url: "{sim.base_url}/v1"}}
""")
    result = pytester.runpytest_subprocess("echo.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=12)
    for record in read_records(pytester):
        assert record["response"] == f"word{int(record['case_id'][1:])}"
        assert record["reasoning"].startswith("Let me think about this step by step")
        assert "<think>" not in record["reasoning"] + record["response"]
        assert 0 < record["reasoning_ttft_s"] < record["ttft_s"]
        if record["model"] == "vllm:thinkecho":
            assert record["reasoning_tokens"] == 24 and not record["reasoning_tokens_estimated"]
        else:  # think tags: the server reports no split, so it is estimated
            assert record["reasoning_tokens_estimated"] and record["reasoning_tokens"] > 0
    assert all(row["reasoning_tokens"] > 0 for row in read_summary(pytester))
