"""--llmbench-concurrency keeps calls in flight while pytest runs one test at a time."""

from __future__ import annotations

import pytest

from tests.conftest import read_records, write_suite

PROVIDER = """
import asyncio, json, os
from pytest_llmbench import Completion, register_provider

class Counting:
    in_flight = 0
    peak = 0
    calls = 0
    def __init__(self, spec, context):
        self.spec = spec
    async def complete(self, request):
        cls = type(self)
        cls.in_flight += 1
        cls.calls += 1
        cls.peak = max(cls.peak, cls.in_flight)
        await asyncio.sleep(0.05)
        cls.in_flight -= 1
        with open(f"peak-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}", "w") as f:
            f.write(str(cls.peak))
        with open(f"calls-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}", "w") as f:
            f.write(str(cls.calls))
        return Completion(text=str(request.metadata["expected"]), output_tokens=1,
                          latency_s=0.05, ttft_s=0.05)
    async def aclose(self):
        pass

register_provider("counting", Counting)
"""
ROWS = [{"id": f"r{i:03d}", "question": str(i), "answer": str(i)} for i in range(64)]


@pytest.mark.parametrize(("workers", "concurrency"), [("0", "8"), ("2", "4")])
def test_calls_overlap_up_to_the_limit(pytester: pytest.Pytester, workers: str,
                                       concurrency: str) -> None:
    write_suite(pytester.path, rows=ROWS)
    pytester.makeconftest(PROVIDER)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "counting:m",
                                           "--llmbench-concurrency", concurrency, "-n", workers)
    result.assert_outcomes(passed=64)
    peaks = [int(p.read_text()) for p in pytester.path.glob("peak-*")]
    assert max(peaks) == int(concurrency)  # reached and never exceeded, per process
    calls = sum(int(p.read_text()) for p in pytester.path.glob("calls-*"))
    assert calls == 64  # each item called once: workers prefetch only their own shards
    assert len(read_records(pytester)) == 64


def test_timeout_is_an_error_naming_the_option(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path, rows=ROWS[:2])
    pytester.makefile(".yaml", llmbench="models:\n  inproc:oracle:\n    delay: 2\n")
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle",
                                "--llmbench-timeout", "0.1")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*inproc:oracle - CallTimeout: no answer within 0.1s "
                                 "(--llmbench-timeout)*"])
    assert read_records(pytester)[0]["error_kind"] == "timeout"
