"""A simulator with a ``perf`` model (fixed TTFT/ITL, talks until max_tokens) for serving tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_llmbench.sim import start_sim_process
from tests.report.conftest import chromium as chromium  # the report tests' fixture


def perf_config(ttft_ms: float) -> dict[str, object]:
    """A ``perf`` model with this TTFT, 2 ms ITL, talking until max_tokens."""
    return {"models": {"perf": {"policy": "lorem", "ttft_ms": ttft_ms, "itl_ms": 2,
                                "output_tokens": "max_tokens"}}}


def running_sim(ttft_ms: float) -> Iterator[object]:
    process = start_sim_process(port=0, config=perf_config(ttft_ms))
    yield process
    process.stop()


@pytest.fixture(scope="session")
def perf_sim() -> Iterator[object]:
    yield from running_sim(20)


@pytest.fixture
def sim_env(perf_sim: object, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs under pytester use this simulator for ``sim:`` models."""
    url = perf_sim.base_url  # type: ignore[attr-defined]
    monkeypatch.setenv("LLMBENCH_SIM_URL", url)
    return url
