"""Serving speedups of one point (a plain function): direction per figure, and a figure
missing or zero on either side gives no ratio (never 0 or infinity)."""

from __future__ import annotations

from pytest_llmbench.results.serving_speedup import serving_figures, serving_speedups


def test_direction_and_absent_figures() -> None:
    base = serving_figures({"request_throughput": 10.0, "output_throughput": 80.0,
                            "ttft_ms": {"p50": 100.0}, "itl_ms": {"p50": 4.0},
                            "e2e_ms": {"p50": 400.0}})
    cand = serving_figures({"request_throughput": 20.0, "output_throughput": 0,
                            "goodput": 5.0, "ttft_ms": {"p50": 25.0}, "itl_ms": {"p50": 8.0},
                            "e2e_ms": {}})
    ratios = serving_speedups(base, cand)
    assert ratios["request_throughput"] == 2.0  # more throughput: above 1
    assert ratios["ttft_p50"] == 4.0 and ratios["itl_p50"] == 0.5  # shorter time: above 1
    assert ratios["output_throughput"] is None  # zero on one side
    assert ratios["goodput"] is None and ratios["e2e_p50"] is None and ratios["tpot_p50"] is None
