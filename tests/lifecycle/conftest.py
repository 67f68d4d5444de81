"""Fixtures for the lifecycle tests: a simulator, priced and unpriced models pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmbench.sim import SimServer
from tests.conftest import write_suite

ROWS = [{"id": f"q{i:03d}", "question": f"word{i}", "answer": f"word{i}"} for i in range(20)]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer() as server:
        yield server


def sim_requests(server: SimServer) -> int:
    """Requests the simulator served (read in process: an HTTP client first imported inside
    a pytester test would be unloaded at its end, confusing later tests' exception types)."""
    return int(server.metrics["requests_total"])


def reset_metrics(server: SimServer) -> None:
    server.state.metrics.reset()


def models_config(directory: Path, base_url: str, price: str = "") -> None:
    """``openai:echo`` on the simulator (a real OpenAI SDK client), priced when asked."""
    entry = f"    price: {price}\n" if price else ""
    (directory / "llmbench.yaml").write_text(
        f"models:\n  openai:echo:\n    base_url: {base_url}/v1\n    api_key: sk-test-secret\n"
        f"{entry}")


@pytest.fixture
def echo_suite(pytester: pytest.Pytester, sim: SimServer) -> Path:
    """A 20-item echo suite and a models config for ``openai:echo`` on the simulator."""
    write_suite(pytester.path, name="echo", rows=ROWS).write_text(
        "name: echo\ndataset: echo.jsonl\nprompt: '{question}'\nexpected: answer\n")
    models_config(pytester.path, sim.base_url)
    reset_metrics(sim)
    return pytester.path
