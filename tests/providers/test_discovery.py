"""Model discovery against the simulator's /v1/models."""

from __future__ import annotations

import pytest

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.providers.discovery import expand
from pytest_llmbench.sim import SimServer


def test_wildcard_expands_to_listed_models(sim: SimServer) -> None:
    settings = {"base_url": sim.base_url + "/v1"}
    specs = expand([ModelSpec("vllm", "*", params={"max_tokens": 8}, settings=settings),
                    ModelSpec("openai", "gpt-4o")])
    names = [s.name for s in specs]
    assert {"vllm:default", "vllm:fast", "vllm:slow", "vllm:flaky"} <= set(names)
    assert names[-1] == "openai:gpt-4o"
    assert all(s.params == {"max_tokens": 8} for s in specs[:-1])


def test_unreachable_server_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot list models"):
        expand([ModelSpec("vllm", "*", settings={"base_url": "http://127.0.0.1:9/v1"})])
