"""Metric definitions on hand-made timings, exact merging and the harness monitor."""

from __future__ import annotations

import pytest

from pytest_llmbench.serving.metrics import RequestSample, Window, check_slos, merge, percentile, summarize
from pytest_llmbench.serving.scenario import parse_slo


def sample(sent: float, ttft: float, gaps: list[float], tokens: int, **kw: object
           ) -> RequestSample:
    return RequestSample(sent=sent, ttft=ttft, e2e=ttft + sum(gaps), itl=gaps,
                         input_tokens=10, output_tokens=tokens, **kw)  # type: ignore[arg-type]


def test_definitions() -> None:
    # one chunk of 3 tokens then one of 1: ITL has 2 gaps (per chunk), TPOT divides by 4-1
    a = sample(0.0, 0.100, [0.010, 0.030], tokens=4)
    b = sample(0.5, 0.200, [0.020], tokens=2, wait=0.25)
    bad = RequestSample(sent=0.7, ok=False, error="boom")
    s = summarize(Window([a, b, bad], duration_s=2.0))
    assert s["ttft_ms"]["mean"] == pytest.approx(150.0)
    assert s["ttft_ms"]["p50"] == pytest.approx(150.0)
    assert s["itl_ms"]["count"] == 3 and s["itl_ms"]["mean"] == pytest.approx(20.0)
    assert s["tpot_ms"]["mean"] == pytest.approx(((0.040 / 3) + 0.020) / 2 * 1000)
    assert s["e2e_ms"]["max"] == pytest.approx(220.0)
    assert s["wait_ms"]["max"] == pytest.approx(250.0)  # reported apart, not inside TTFT
    assert s["request_throughput"] == pytest.approx(1.0)
    assert s["output_throughput"] == pytest.approx(3.0)
    assert s["input_throughput"] == pytest.approx(10.0)
    assert s["error_rate"] == pytest.approx(1 / 3)


def test_goodput_counts_requests_within_per_request_limits() -> None:
    fast = sample(0, 0.050, [0.005], tokens=2)
    slow = sample(0, 0.300, [0.005], tokens=2)
    slos = [parse_slo("ttft_p99 <= 100ms")]
    s = summarize(Window([fast, slow], 1.0), slos)
    assert s["goodput"] == 1.0
    assert check_slos(s, slos) == ["SLO ttft_p99 <= 100ms not met: ttft_p99 = 297.5"]


def test_merge_pools_samples_not_percentiles() -> None:
    one = Window([sample(0, t / 1000, [], 1) for t in (10, 11, 12, 13)], 1.0)
    two = Window([sample(0, t / 1000, [], 1) for t in (100, 200)], 1.5)
    merged = summarize(merge([one, two]))
    pooled = sorted([10, 11, 12, 13, 100, 200])
    assert merged["ttft_ms"]["p50"] == pytest.approx(percentile(pooled, 50))
    averaged = (summarize(one)["ttft_ms"]["p50"] + summarize(two)["ttft_ms"]["p50"]) / 2
    assert merged["ttft_ms"]["p50"] != pytest.approx(averaged)
    assert merged["duration_s"] == 1.5 and merged["completed"] == 6


def test_goodput_follows_vllm_a_one_token_answer_meets_a_tpot_limit() -> None:
    # vLLM benchmark_serving: "if output_len <= 1, we regard tpot as 0 for goodput"
    one_token = RequestSample(sent=0, ttft=0.05, e2e=0.05, itl=[], input_tokens=10,
                              output_tokens=1)
    slow_decode = sample(0, 0.05, [0.2, 0.2], tokens=3)
    slos = [parse_slo("tpot_p99 <= 50ms")]
    s = summarize(Window([one_token, slow_decode], 1.0), slos)
    assert s["goodput"] == 1.0
    assert s["tpot_ms"]["count"] == 1  # the summary still has no TPOT for the 1-token answer
    only_one = summarize(Window([one_token], 1.0), slos)
    assert only_one["goodput"] == 1.0 and check_slos(only_one, slos) == []
    assert check_slos(summarize(Window([], 1.0), slos), slos) == [
        "SLO tpot_p99 <= 50ms not met: tpot_p99 = no data"]


def test_goodput_limits_are_inclusive_like_vllm() -> None:
    exact = sample(0, 0.1, [], tokens=1)
    assert summarize(Window([exact], 1.0), [parse_slo("ttft_p99 <= 100ms")])["goodput"] == 1.0
