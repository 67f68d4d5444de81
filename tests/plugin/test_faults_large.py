"""A 20 MB response: scored whole, stored clipped (response and score details)."""

from __future__ import annotations

import pytest

from tests.conftest import read_records, write_suite

HUGE = """
    from pytest_llmbench import Completion, register_provider

    class Flood:
        def __init__(self, spec, context):
            pass
        async def complete(self, request):
            text = "Z" * 20_000_000  # 20 MB, never the expected answer
            return Completion(text=text, input_tokens=5, output_tokens=5_000_000,
                              ttft_s=0.01, latency_s=0.5)
        async def aclose(self):
            pass

    register_provider("flood", Flood)
"""


def test_a_20mb_response_is_stored_clipped(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, extra="scorer: contains\n")
    pytester.makeconftest(HUGE)
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "flood:m", "-k",
                                "q001 or q002", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)  # scored on the whole text: wrong, not an error
    records = read_records(pytester)
    assert len(records) == 2
    for record in records:
        assert len(record["response"]) == 20_001 and record["response"].endswith("…")
        assert all(len(v) <= 20_001 for v in record["score_details"].values()
                   if isinstance(v, str))
    size = (pytester.path / ".llmbench/runs/latest/records.jsonl").stat().st_size
    assert size < 200_000  # not 40 MB
