"""Fixtures for the simulator tests: one in-process server for the whole session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmbench.sim import SimServer

SIM_YAML = """
seed: 7
auth:
  bad_keys: [bad-key]
  bad_key_prefixes: [invalid]
models:
  quick:
    policy: lorem
    ttft_ms: 5
    itl_ms: 1
    output_tokens: 12
  timed:
    policy: lorem
    ttft_ms: 80
    itl_ms: 8
    output_tokens: 10
  faulty:
    policy: lorem
    output_tokens: 20
    itl_ms: 1
    stall_s: 3
    retry_after_s: 2
    fault_after: 5
  locked:
    base: quick
    api_key: sesame
  narrow:
    policy: lorem
    ttft_ms: 100
    output_tokens: 1
    max_concurrency: 2
  keyed:
    correct_fraction: 0.6
"""

ANSWERS = [{"case_id": f"q{i:03d}", "answer": str(i * 7)} for i in range(100)] + [
    {"match": "capital of France", "answer": "Paris"},
    {"case_id": "mc1", "answer": "B"},
]


@pytest.fixture(scope="session")
def sim_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sim")
    config = root / "sim.yaml"
    config.write_text(SIM_YAML)
    answers = root / "answers.json"
    answers.write_text(json.dumps(ANSWERS))
    return {"config": config, "answers": answers}


@pytest.fixture(scope="session")
def sim(sim_files: dict[str, Path]) -> Iterator[SimServer]:
    """The simulator on a free port for the whole session."""
    server = SimServer(config_path=sim_files["config"], answer_key=sim_files["answers"])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_url(sim: SimServer) -> str:
    return sim.base_url


@pytest.fixture(autouse=True)
def _no_aws_bearer(monkeypatch: pytest.MonkeyPatch) -> None:
    # a Bedrock API key in the environment makes boto3 refuse an http endpoint
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)

