"""The load generator against the simulator through every provider's wire format."""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.serving.load import LoadRunner, arrivals, point_seed
from pytest_llmbench.serving.metrics import summarize
from pytest_llmbench.serving.scenario import Point, load_serving_suite


@pytest.fixture
def suite(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "load.yaml"
    path.write_text("kind: serving\nmax_tokens: 12\nprompts: {input_tokens: 20}\n"
                    "scenarios:\n  - concurrency: 4\n    requests: 8\n    warmup: 1\n"
                    "  - rate: 100\n    requests: 10\n    max_concurrency: 1\n")
    return load_serving_suite(path)


def spec(provider: str, base: str) -> ModelSpec:
    settings = {"api_key": "sk-test", "base_url": base + "/v1"}
    if provider == "sim":
        settings = {"base_url": base}
    if provider == "anthropic":
        settings["base_url"] = base
    if provider == "bedrock":
        settings = {"endpoint_url": base, "region": "us-east-1"}
    return ModelSpec(provider, "perf", settings=settings)


@pytest.mark.parametrize("provider", ["sim", "openai", "vllm", "anthropic", "bedrock"])
def test_closed_loop_through_each_provider(provider: str, suite, perf_sim,  # type: ignore[no-untyped-def]
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    base = perf_sim.base_url
    result = LoadRunner(spec(provider, base), {"sim_url": base}).run(suite, suite.points[0])
    s = summarize(result.window)
    assert result.warmup == 1
    assert s["completed"] == 8 and s["errors"] == 0
    assert s["output_tokens"] == 8 * 12
    assert 19 <= s["ttft_ms"]["p50"] < 200
    assert s["itl_ms"]["count"] >= 8


def test_rate_point_with_slot_cap_reports_waits(suite, perf_sim) -> None:  # type: ignore[no-untyped-def]
    model = ModelSpec("sim", "perf")
    result = LoadRunner(model, {"sim_url": perf_sim.base_url}).run(suite, suite.points[1])
    s = summarize(result.window)
    assert s["completed"] == 10
    # 100 req/s into one slot with ~45 ms requests: later arrivals queue for the slot,
    # and that wait is reported apart, not inside TTFT
    assert s["wait_ms"]["max"] > 100
    assert s["ttft_ms"]["max"] < s["wait_ms"]["max"]


def test_poisson_arrivals_seeded_and_at_the_asked_rate() -> None:
    point = Point(id="r20", rate=20.0, arrival="poisson", requests=2000)
    first = list(arrivals(point, random.Random(7)))
    assert first == list(arrivals(point, random.Random(7)))
    gaps = [b - a for a, b in zip(first, first[1:], strict=False)]
    assert len(set(gaps)) == len(gaps)  # no repeating blocks of gaps
    assert 1 / statistics.fmean(gaps) == pytest.approx(20.0, rel=0.1)
    assert statistics.stdev(gaps) / statistics.fmean(gaps) == pytest.approx(1.0, rel=0.15)
    constant = list(arrivals(Point(id="r4", rate=4.0, arrival="constant", requests=3),
                             random.Random(0)))
    assert constant == [0.0, 0.25, 0.5]


def test_point_seed_is_the_same_in_every_process(suite) -> None:  # type: ignore[no-untyped-def]
    a = point_seed(suite, "sim:perf", suite.points[0])
    assert a == point_seed(suite, "sim:perf", suite.points[0])
    assert a != point_seed(suite, "sim:other", suite.points[0])
