"""Model discovery: ``vllm:*`` or ``<host>:*`` -> the models the server lists.

OpenAI-compatible servers list models at ``GET {base_url}/models``; Ollama also
has its native ``GET /api/tags``, tried when ``/v1/models`` fails. Not yet wired
into model selection (config.select_models); call :func:`expand` there.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.providers import common
from pytest_llmbench.providers.hosts import HOSTS, base_url_for

WILDCARD = "*"


async def list_models(spec: ModelSpec, timeout: float = 10.0) -> list[str]:
    """The model ids the host of ``spec`` serves, sorted."""
    if spec.provider not in HOSTS:
        raise ConfigError(f"{spec.name}: discovery needs an OpenAI-compatible host")
    host = HOSTS[spec.provider]
    base = base_url_for(spec.provider, spec.settings) or "https://api.openai.com/v1"
    key = common.api_key(spec, host.key_env, required=not host.local)
    headers = {"authorization": f"Bearer {key}", **(common.headers(spec) or {})}
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
        try:
            response = await client.get(f"{base}/models")
            response.raise_for_status()
            return sorted(str(m["id"]) for m in response.json().get("data", []))
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            if spec.provider != "ollama":
                raise ConfigError(f"{spec.name}: cannot list models at {base}/models: {exc}") from None
        native = base.removesuffix("/v1")
        try:
            response = await client.get(f"{native}/api/tags")
            response.raise_for_status()
            return sorted(str(m["name"]) for m in response.json().get("models", []))
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise ConfigError(f"{spec.name}: cannot list models at {native}/api/tags: {exc}") from None


def expand(specs: list[ModelSpec]) -> list[ModelSpec]:
    """Replace each ``provider:*`` spec by one spec per listed model (same settings and params)."""
    out: list[ModelSpec] = []
    for spec in specs:
        if spec.model != WILDCARD:
            out.append(spec)
            continue
        names = asyncio.run(list_models(spec))
        if not names:
            raise ConfigError(f"{spec.name}: the server lists no models")
        out.extend(replace(spec, model=name, label=None) for name in names)
    return out
