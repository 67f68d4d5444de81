"""The OpenAI-compatible hosts table."""

from __future__ import annotations

import pytest

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.providers.base import get_factory, known_providers
from pytest_llmbench.providers.hosts import HOSTS, base_url_for

NAMED = ["together", "groq", "fireworks", "deepinfra", "openrouter", "cerebras", "databricks",
         "runpod", "anyscale", "lambda", "mistral", "ollama", "vllm", "sglang", "llamacpp",
         "lmstudio", "openai-compatible"]


def test_every_host_is_a_known_provider() -> None:
    assert set(NAMED) <= set(HOSTS)
    assert set(HOSTS) | {"azure", "anthropic", "bedrock"} <= set(known_providers())


@pytest.mark.parametrize("name", NAMED)
def test_every_host_resolves_a_base_url(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "https://adb-1.azuredatabricks.net/")
    monkeypatch.setenv("RUNPOD_ENDPOINT_ID", "abc123")
    settings = {"base_url": "http://127.0.0.1:9/v1"} if name == "openai-compatible" else {}
    url = base_url_for(name, settings)
    assert url and url.startswith("http") and "{" not in url
    host = HOSTS[name]
    if host.local:
        assert host.key_env is None
    else:
        assert host.key_env and host.key_env.endswith(("_API_KEY", "_TOKEN"))


def test_placeholders() -> None:
    assert base_url_for("databricks", {"databricks_host": "adb-1.cloud.databricks.com"}) == \
        "https://adb-1.cloud.databricks.com/serving-endpoints"
    assert base_url_for("runpod", {"endpoint_id": "xyz"}) == "https://api.runpod.ai/v2/xyz/openai/v1"
    with pytest.raises(ConfigError, match="DATABRICKS_HOST"):
        base_url_for("databricks", {})
    with pytest.raises(ConfigError, match="base_url"):
        base_url_for("openai-compatible", {})


def test_retired_hosts_are_flagged() -> None:
    retired = {name for name, host in HOSTS.items() if host.retired}
    assert retired == {"anyscale", "lambda"}


def test_base_url_setting_wins() -> None:
    assert base_url_for("vllm", {"base_url": "http://gpu-box:8000/v1/"}) == "http://gpu-box:8000/v1"


def test_a_retired_host_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANYSCALE_API_KEY", "k")
    with pytest.warns(UserWarning, match="anyscale:m: Anyscale Endpoints"):
        get_factory("anyscale")(ModelSpec("anyscale", "m"), {})
