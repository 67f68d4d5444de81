"""A real serving run (load against the simulator) posted to the server: its points reach
the run's JSON and page with report.html's serving figures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.conftest import Server
from tests.serving.conftest import running_sim

SUITE = """\
kind: serving
name: chat_load
max_tokens: 8
ignore_eos: true
requests: 16
harness: {max_loop_lag_ms: 1000, max_cpu: 4}
scenarios:
  - concurrency: [2, 4]
"""


@pytest.fixture(scope="module")
def perf_sim() -> Iterator[object]:
    yield from running_sim(20)


def test_serving_points_are_shown(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                  perf_sim: object, server: Server) -> None:
    pytester.makefile(".yaml", load=SUITE)
    monkeypatch.setenv("LLMBENCH_SIM_URL", perf_sim.base_url)  # type: ignore[attr-defined]
    monkeypatch.setenv("INGEST_API_KEY", server.key("ingest"))
    result = pytester.runpytest_subprocess(
        "load.yaml", "--llmbench-models", "sim:perf", "--llmbench-run-id", "serving-run",
        "-p", "no:cacheprovider", "--llmbench-ingest-url", server.url + "/api/ingest")
    result.assert_outcomes(passed=2)
    points = server.get("/api/runs/serving-run").json()["serving"]
    assert [(p["axis"], p["x"], p["requests"]) for p in points] == [("concurrency", 2, 16),
                                                                    ("concurrency", 4, 16)]
    assert all(p["ttft_p50"] is not None and p["output_throughput"] > 0 for p in points)
    page = server.get("/runs/serving-run").text
    assert '<table id="serving">' in page and "concurrency 4" in page
