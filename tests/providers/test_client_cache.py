"""SDK clients are shared per (provider, key, base URL) within one process's loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pytest_llmbench.calls.engine import Engine
from pytest_llmbench.providers import clients
from pytest_llmbench.providers.base import ChatRequest, get_factory
from pytest_llmbench.sim import SimServer
from tests.providers.conftest import spec_for

HI = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.mark.parametrize("provider", ["openai-compatible", "azure", "anthropic", "bedrock"])
def test_models_on_one_host_share_a_client_until_the_last_closes(sim: SimServer,
                                                                 provider: str) -> None:
    async def go() -> None:
        build = get_factory(provider)
        first = build(spec_for(provider, "default", sim), {})
        second = build(spec_for(provider, "fast", sim), {})
        assert first.client is second.client  # type: ignore[attr-defined]
        assert clients.shared_count() == 1
        await first.aclose()
        answer = await second.complete(ChatRequest(second.spec, HI))  # type: ignore[attr-defined]
        assert answer.text.strip()
        await second.aclose()
        assert clients.shared_count() == 0

    asyncio.run(go())


@pytest.mark.parametrize("change", [{"api_key": "sk-other"}, {"timeout": 5},
                                    {"headers": {"x-team": "a"}}])
def test_a_different_key_url_or_option_gets_its_own_client(sim: SimServer,
                                                           change: dict[str, Any]) -> None:
    async def go() -> None:
        build = get_factory("openai")
        one = build(spec_for("openai", "default", sim), {})
        other = build(spec_for("openai", "default", sim, **change), {})
        assert one.client is not other.client  # type: ignore[attr-defined]
        await one.aclose()
        await other.aclose()

    asyncio.run(go())


def test_outside_an_event_loop_each_provider_has_its_own_client(sim: SimServer) -> None:
    build = get_factory("openai")
    spec = spec_for("openai", "default", sim)
    assert build(spec, {}).client is not build(spec, {}).client  # type: ignore[attr-defined]


def test_the_engine_shares_one_client_between_two_models(sim: SimServer) -> None:
    specs = [spec_for("vllm", "default", sim), spec_for("vllm", "fast", sim)]
    engine = Engine(concurrency=4)
    try:
        answers = [f.result(timeout=30) for f in engine.submit_many(
            [ChatRequest(spec, HI) for spec in specs for _ in range(3)])]
        providers = [engine._providers[spec.name] for spec in specs]
    finally:
        engine.close()
    assert len(answers) == 6 and all(a.attempts == 1 for a in answers)
    assert providers[0] is not providers[1]
    assert providers[0].client is providers[1].client  # type: ignore[attr-defined]
    assert providers[0].client.is_closed()  # type: ignore[attr-defined]


def test_secrets_are_not_kept_in_the_cache_key() -> None:
    key = clients.client_key("openai", api_key="sk-very-secret", base_url="http://h/v1")
    assert "sk-very-secret" not in repr(key)
    assert key == clients.client_key("openai", base_url="http://h/v1", api_key="sk-very-secret")
