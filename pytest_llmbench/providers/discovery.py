"""Model discovery: ``vllm:*``, ``ollama:*`` or ``<host>:*`` -> the models the server lists.

OpenAI-compatible servers list models at ``GET {base_url}/models``; for Ollama
the native ``GET /api/tags`` is asked first (every Ollama version has it,
older ones have no ``/v1``), then ``/v1/models``. Under xdist only the
controller asks (:func:`discover`); workers expand the same wildcards from the
lists it hands them (:func:`expand` with ``listed``), so every process
collects the same items.
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
        raise ConfigError(f"{spec.name}: discovery needs an OpenAI-compatible host "
                          f"({', '.join(sorted(HOSTS))})")
    host = HOSTS[spec.provider]
    base = base_url_for(spec.provider, spec.settings) or "https://api.openai.com/v1"
    key = common.api_key(spec, host.key_env, required=not host.local)
    headers = {"authorization": f"Bearer {key}", **(common.headers(spec) or {})}
    urls = [(f"{base}/models", "data", "id")]
    if spec.provider == "ollama":
        urls.insert(0, (f"{base.removesuffix('/v1')}/api/tags", "models", "name"))
    failures = []
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
        for url, items, key_name in urls:
            try:
                response = await client.get(url)
                response.raise_for_status()
                return sorted(str(m[key_name]) for m in response.json().get(items, []))
            except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
                failures.append(f"{url}: {exc}")
    raise ConfigError(f"{spec.name}: cannot list models at {'; '.join(failures)}")


def discover(specs: list[ModelSpec]) -> dict[str, list[str]]:
    """Ask each wildcard spec's server for its models, all at once: ``{spec name: ids}``."""
    wild = [s for s in specs if s.model == WILDCARD]
    if not wild:
        return {}

    async def ask_all() -> list[list[str]]:
        return list(await asyncio.gather(*(list_models(s) for s in wild)))

    listed = dict(zip((s.name for s in wild), asyncio.run(ask_all()), strict=True))
    for name, ids in listed.items():
        if not ids:
            raise ConfigError(f"{name}: the server lists no models")
    return listed


def expand(specs: list[ModelSpec], listed: dict[str, list[str]] | None = None) -> list[ModelSpec]:
    """Replace each ``provider:*`` spec by one spec per listed model (same settings and
    params); ``listed`` is :func:`discover`'s answer, asked for here when not given."""
    if listed is None:
        listed = discover(specs)
    out: list[ModelSpec] = []
    seen: set[str] = set()
    for spec in specs:
        if spec.model != WILDCARD:
            found = [spec]
        elif spec.name in listed:
            found = [replace(spec, model=name, label=None) for name in listed[spec.name]]
        else:
            raise ConfigError(f"{spec.name}: no model list for this wildcard (discovery "
                              "runs on the controller)")
        for one in found:
            if one.name not in seen:
                seen.add(one.name)
                out.append(one)
    return out
