"""The OpenAI-compatible hosts, by name, in one table.

Each entry says where the host's OpenAI wire API lives and which env var holds
its key, so ``groq:llama-3.3-70b-versatile`` works with no code and no config
beyond the key. ``{placeholders}`` in a base URL are filled from the model's
settings or an env var (Databricks workspace, RunPod endpoint id).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from pytest_llmbench.errors import ConfigError


@dataclass(frozen=True)
class Host:
    """How to reach one OpenAI-compatible host."""

    base_url: str | None
    """None: the SDK default (api.openai.com) or the ``base_url`` setting is required."""
    key_env: str | None
    """The API key env var; None for servers that need no key (local ones)."""
    retired: str | None = None
    include_usage: bool = True
    """Whether to send ``stream_options.include_usage`` (usage is read from any chunk anyway)."""
    local: bool = False
    placeholders: tuple[tuple[str, str], ...] = ()
    """(setting, env var) pairs that fill ``{setting}`` in base_url."""


HOSTS: dict[str, Host] = {
    "openai": Host(None, "OPENAI_API_KEY"),
    "together": Host("https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "groq": Host("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "fireworks": Host("https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
    "deepinfra": Host("https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY"),
    "openrouter": Host("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "cerebras": Host("https://api.cerebras.ai/v1", "CEREBRAS_API_KEY"),
    "databricks": Host("{databricks_host}/serving-endpoints", "DATABRICKS_TOKEN",
                       placeholders=(("databricks_host", "DATABRICKS_HOST"),)),
    "runpod": Host("https://api.runpod.ai/v2/{endpoint_id}/openai/v1", "RUNPOD_API_KEY",
                   placeholders=(("endpoint_id", "RUNPOD_ENDPOINT_ID"),)),
    "anyscale": Host("https://api.endpoints.anyscale.com/v1", "ANYSCALE_API_KEY",
                     retired="Anyscale Endpoints' shared API closed on 2024-08-01 "
                             "(now only on the hosted Anyscale Platform)"),
    "lambda": Host("https://api.lambda.ai/v1", "LAMBDA_API_KEY",
                   retired="the Lambda Inference API was shut down on 2025-09-25"),
    "mistral": Host("https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "ollama": Host("http://localhost:11434/v1", None, local=True),
    "vllm": Host("http://localhost:8000/v1", None, local=True),
    "sglang": Host("http://localhost:30000/v1", None, local=True),
    "llamacpp": Host("http://localhost:8080/v1", None, local=True),
    "lmstudio": Host("http://localhost:1234/v1", None, local=True),
    "openai-compatible": Host(None, None, local=True),
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def base_url_for(name: str, settings: dict[str, Any]) -> str | None:
    """The base URL of host ``name``: the ``base_url`` setting wins, else the table's."""
    host = HOSTS[name]
    if settings.get("base_url"):
        return str(settings["base_url"]).rstrip("/")
    if host.base_url is None:
        if name == "openai":
            return os.environ.get("OPENAI_BASE_URL") or None
        raise ConfigError(f"{name}: set base_url in llmbench.yaml (e.g. http://localhost:8000/v1)")
    url = host.base_url
    for setting, env in host.placeholders:
        value = settings.get(setting) or os.environ.get(env)
        if not value:
            raise ConfigError(f"{name}: set {env} (or {setting} / base_url in llmbench.yaml)")
        url = url.replace("{" + setting + "}", str(value).rstrip("/"))
    if setting_left := _PLACEHOLDER.search(url):
        raise ConfigError(f"{name}: base URL needs {setting_left.group(1)}")
    if name == "databricks" and not url.startswith("http"):
        url = "https://" + url
    return url
