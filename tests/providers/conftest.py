"""Fixtures for the provider tests: one simulator for the session and a clean environment."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.providers.base import ChatRequest, Completion, get_factory
from pytest_llmbench.sim import SimServer

_KEY_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
             "ANTHROPIC_BASE_URL", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT",
             "AZURE_OPENAI_AD_TOKEN", "OPENAI_API_VERSION", "AWS_BEARER_TOKEN_BEDROCK", "AWS_PROFILE",
             "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimServer]:
    answers = tmp_path_factory.mktemp("answers") / "answers.json"
    answers.write_text(json.dumps({"capital of France": "Paris"}))
    with SimServer(answer_key=answers) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real keys or proxies leak in; dummy AWS credentials for SigV4 against the simulator."""
    for name in _KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def spec_for(provider: str, model: str, sim: SimServer, **settings: Any) -> ModelSpec:
    """A spec pointing ``provider`` at the simulator, without retries."""
    base: dict[str, Any] = {"max_retries": 0, "api_key": "sk-test"}
    if provider == "bedrock":
        base = {"max_retries": 0, "endpoint_url": sim.base_url}
    elif provider == "anthropic":
        base["base_url"] = sim.base_url
    elif provider == "azure":
        base.update(azure_endpoint=sim.base_url, api_version="2024-10-21")
    else:
        base["base_url"] = sim.base_url + "/v1"
    return ModelSpec(provider, model, settings={**base, **settings})


def call(spec: ModelSpec, prompt: str = "What is the capital of France?",
         system: str | None = None, **params: Any) -> Completion:
    """Build the provider and make one call on a fresh loop, as the engine would."""
    messages = [{"role": "user", "content": prompt}]
    if system:
        messages.insert(0, {"role": "system", "content": system})

    async def go() -> Completion:
        provider = get_factory(spec.provider)(spec, {})
        try:
            return await provider.complete(ChatRequest(spec, messages, params=params))
        finally:
            await provider.aclose()

    return asyncio.run(go())
