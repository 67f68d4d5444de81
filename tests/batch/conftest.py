"""A simulator with batch endpoints for the batch tests, and a models config pointing the
real SDKs (openai, anthropic, boto3) at it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_llmbench.sim import SimServer
from pytest_llmbench.sim.config import load_config
from tests.conftest import ROWS

FAST = {"validate_s": 0.05, "process_s": 0.2, "finalize_s": 0.05}
BEDROCK_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
MODELS = {"openai": "openai:gpt-4o-mini", "anthropic": "anthropic:claude-haiku-4-5",
          "bedrock": f"bedrock:{BEDROCK_MODEL}"}


@pytest.fixture(scope="session")
def batch_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimServer]:
    answers = tmp_path_factory.mktemp("answers") / "answers.json"
    answers.write_text(json.dumps({f"What is {r['question']}?": r["answer"] for r in ROWS}))
    config = load_config(answer_keys=[answers])
    for name in ("gpt-4o-mini", "claude-haiku-4-5", BEDROCK_MODEL):
        config.models[name] = dataclasses.replace(config.models["oracle"], name=name)
    with SimServer(config=config) as server:
        yield server


@pytest.fixture
def sim(batch_sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> SimServer:
    """The shared simulator with fast, fault-free batches (a test changes what it needs)."""
    settings = batch_sim.state.batches.settings
    monkeypatch.setattr(batch_sim.state.batches, "settings", dataclasses.replace(settings))
    batch_sim.state.batches.settings.update(FAST)
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL",
                 "AWS_PROFILE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return batch_sim


def models_config(directory: Path, sim: SimServer, extra: str = "") -> Path:
    """llmbench.yaml for the three batch providers on the simulator."""
    url = sim.base_url
    path = directory / "llmbench.yaml"
    path.write_text(f"""
settings:
  batch_poll: 0.05
models:
  {MODELS['openai']}:
    base_url: {url}/v1
    api_key: sk-test
  {MODELS['anthropic']}:
    base_url: {url}
    api_key: sk-test
  "{MODELS['bedrock']}":
    endpoint_url: {url}
    s3_endpoint_url: {url}/s3
    batch_s3_uri: s3://bench/llmbench
    batch_role_arn: arn:aws:iam::123456789012:role/bedrock-batch
{extra}""")
    return path
