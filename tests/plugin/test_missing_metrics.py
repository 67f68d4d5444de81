"""A completion without a required timing is an error naming it; missing token counts are
estimated and marked."""

from __future__ import annotations

import pytest

from pytest_llmbench.calls.engine import missing_metrics
from pytest_llmbench.providers.base import Completion
from tests.conftest import read_records


def test_missing_metrics_named() -> None:
    assert missing_metrics(Completion(text="x", input_tokens=1, output_tokens=1, ttft_s=0.1,
                                      latency_s=0.2)) == []
    assert missing_metrics(Completion(text="", input_tokens=1, output_tokens=0,
                                      latency_s=0.2)) == []  # nothing generated: no TTFT
    assert missing_metrics(Completion(text="x")) == ["latency_s", "ttft_s"]


def test_provider_that_measures_nothing_gives_an_error_per_item(pytester: pytest.Pytester,
                                                                 suite_dir) -> None:
    pytester.makeconftest("""
        from pytest_llmbench import Completion, register_provider

        class Careless:
            def __init__(self, spec, context):
                pass
            async def complete(self, request):
                return Completion(text="2")
            async def aclose(self):
                pass

        register_provider("careless", Careless)
    """)
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "careless:m", "-k", "q001")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*careless:m - MissingMetric: the completion lacks latency_s, "
                                 "ttft_s*"])
    record = read_records(pytester)[0]
    assert record["error_kind"] == "missing_metric" and record["attempts"] == 1


def test_token_counts_a_provider_lacks_are_estimated_and_marked(pytester: pytest.Pytester,
                                                                suite_dir) -> None:
    pytester.makeconftest("""
        from pytest_llmbench import Completion, register_provider

        class NoUsage:
            def __init__(self, spec, context):
                pass
            async def complete(self, request):
                return Completion(text=str(request.metadata["expected"]), ttft_s=0.01,
                                  latency_s=0.02)
            async def aclose(self):
                pass

        register_provider("nousage", NoUsage)
    """)
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "nousage:m", "-k", "q001")
    result.assert_outcomes(passed=1)
    record = read_records(pytester)[0]
    assert record["tokens_estimated"] is True
    assert record["input_tokens"] == 5 and record["output_tokens"] == 1  # "What is 1 + 1?"
