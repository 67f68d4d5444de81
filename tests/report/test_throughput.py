"""One definition of output tokens/s: a ratio of sums; per-request decode rates only with
several tokens, and then as a median (results/throughput.py)."""

from __future__ import annotations

import pytest

from pytest_llmbench.providers.base import Completion
from pytest_llmbench.results.summary import SummaryBuilder
from pytest_llmbench.results.throughput import MIN_DECODE_TOKENS, decode_rate, output_tps


def _record(tokens: int, latency: float, rate: float | None, **extra: object) -> dict:
    return {"suite": "s", "model": "m", "outcome": "passed", "calls": 1,
            "output_tokens": tokens, "latency_s": latency, "output_tps": rate, **extra}


@pytest.mark.parametrize("tokens", [1, 2, MIN_DECODE_TOKENS - 1])
def test_a_short_answer_has_no_decode_rate_and_no_other_formula(tokens: int) -> None:
    done = Completion(text="x", output_tokens=tokens, ttft_s=0.00001, latency_s=0.00006)
    assert done.output_tps is None
    assert decode_rate(tokens, 1.0, 0.5) is None


def test_a_long_answer_has_a_decode_rate() -> None:
    done = Completion(text="x" * 40, output_tokens=11, ttft_s=0.5, latency_s=1.5)
    assert done.output_tps == pytest.approx(10.0)
    assert Completion(text="x", output_tokens=11, latency_s=1.5).output_tps is None  # no TTFT


def test_summary_throughput_is_a_ratio_of_sums_not_a_mean_of_rates() -> None:
    builder = SummaryBuilder()
    # a 2-token answer in 50 us once counted as ~39,000 tok/s in a mean of per-request rates
    builder.add(_record(2, 0.00005, None))
    builder.add(_record(100, 2.0, 52.0))
    builder.add(_record(60, 1.0, 64.0))
    builder.add(_record(60, 0.0001, 64.0, cached_calls=1))  # from the cache: no generation
    (row,) = builder.rows()
    assert row["output_tps"] == pytest.approx(162 / 3.00005)
    assert row["decode_tps_p50"] == pytest.approx(58.0)
    assert output_tps([_record(2, 0.00005, None), _record(100, 2.0, 52.0)]) == pytest.approx(
        102 / 2.00005)


def test_nothing_measured_is_absent_not_zero() -> None:
    builder = SummaryBuilder()
    builder.add(_record(5, None, None))  # type: ignore[arg-type]
    (row,) = builder.rows()
    assert row["output_tps"] is None and row["decode_tps_p50"] is None


def test_model_rows_pool_tokens_and_time() -> None:
    builder = SummaryBuilder()
    builder.add(_record(100, 1.0, 99.0))
    builder.add({**_record(300, 1.0, 299.0), "suite": "t"})
    (row,) = builder.model_rows("all")
    assert row["output_tps"] == pytest.approx(200.0)
