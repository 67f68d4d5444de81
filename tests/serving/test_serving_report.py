"""report.html of a serving run: the per-point table and both charts, drawn in Chromium."""

from __future__ import annotations

import json
import random
import re

import pytest

from pytest_llmbench.report.serving_view import MAX_SHOWN, latency_series
from pytest_llmbench.serving.metrics import RequestSample
from tests.report.conftest import Chromium, console_errors

SUITE = """\
kind: serving
name: chat_load
max_tokens: 8
ignore_eos: true
requests: 12
slo: ["ttft_p99 <= 5s"]
harness: {max_loop_lag_ms: 1000, max_cpu: 0.0}
scenarios:
  - concurrency: [1, 4]
  - rate: [50]
"""


def test_report_draws_serving_table_and_charts(pytester: pytest.Pytester, sim_env: str,
                                               chromium: Chromium) -> None:
    pytester.makefile(".yaml", load=SUITE)
    result = pytester.runpytest_subprocess("load.yaml", "--llmbench-models", "sim:perf",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, warnings=3)
    report = pytester.path / ".llmbench" / "runs" / "latest" / "report.html"
    html = report.read_text()
    data = json.loads(re.search(r'<script type="application/json" id="llmbench-data">(.*?)'
                                r"</script>", html, re.S).group(1))  # type: ignore[union-attr]
    points = {p["point"]: p for p in data["serving"]}
    assert set(points) == {"c1", "c4", "r50"}
    assert points["c4"]["series"]["total"] == 12 and len(points["c4"]["series"]["t"]) == 12
    assert points["r50"]["axis"] == "rate" and points["c4"]["x"] == 4

    page = chromium.load(report)
    assert console_errors(page) == []
    assert page.attr("data-serving-points") == "3"
    assert page.count(r'<tr data-point="c\d+"') == 2 and page.count(r'<tr data-point="r50"') == 1
    assert page.count(r'class="bad unreliable">UNRELIABLE: client CPU') == 3  # max_cpu: 0
    for chart in ("serving-load-request_throughput", "serving-load-output_throughput",
                  "serving-load-ttft_p50", "serving-load-ttft_p99", "serving-time"):
        assert f'data-chart="{chart}"' in page.dom
    # the concurrency scenario is drawn first: one line through c1 and c4
    assert page.count(r'<g data-series="sim:perf"><polyline') == 4
    assert page.count(r"<circle[^>]*><title>TTFT ") == 12  # c1's requests over time
    # nothing was scored: no empty rankings or accuracy charts above the serving section
    assert page.count(r'<div id="quality-views" hidden') == 1
    assert data["quality"] is False


def test_latency_series_is_bounded_and_keeps_the_spikes() -> None:
    rng = random.Random(1)
    samples = [RequestSample(sent=i * 0.001, ttft=0.05 + rng.random() * 0.01,
                             e2e=0.2 + rng.random() * 0.02, output_tokens=8)
               for i in range(100_000)]
    samples[61_234].e2e = 9.0  # one slow request
    samples += [RequestSample(sent=i * 0.4, ok=False, error="boom") for i in range(250)]
    series = latency_series(samples)
    assert series["total"] == 100_000 and series["shown"] <= MAX_SHOWN
    assert len(series["t"]) == len(series["ttft"]) == len(series["e2e"]) == series["shown"]
    assert 9000.0 in series["e2e"]  # the spike survives thinning
    assert series["t"] == sorted(series["t"]) and series["t"][-1] > 99.0
    assert len(series["failed"]) == 200
    small = latency_series(samples[:50])
    assert small["shown"] == small["total"] == 50
