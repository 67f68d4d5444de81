"""Consecutive streamed calls reuse one keep-alive connection.

A provider that leaves a streamed body unread (stopping at ``[DONE]``) makes
httpx drop the connection, so every later request pays a new TCP connection
inside its TTFT; under a burst of N requests that is N connects at once. A
small TCP relay in front of the simulator counts the connections opened.
"""

from __future__ import annotations

import asyncio

import pytest

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.providers.base import ChatRequest, get_factory
from pytest_llmbench.sim import SimServer
from tests.providers.conftest import spec_for
from tests.relay import start_relay

HI = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.mark.parametrize("provider", ["sim", "openai-compatible", "anthropic"])
def test_streamed_calls_in_a_row_use_one_connection(sim: SimServer, provider: str) -> None:
    async def go() -> int:
        accepted: list[bytearray] = []
        relay = await start_relay(int(sim.base_url.rsplit(":", 1)[1]), accepted)
        url = f"http://127.0.0.1:{relay.sockets[0].getsockname()[1]}"
        if provider == "sim":
            spec = ModelSpec("sim", "default", settings={"base_url": url})
        else:
            path = "" if provider == "anthropic" else "/v1"
            spec = spec_for(provider, "default", sim, base_url=url + path)
        client = get_factory(provider)(spec, {})
        try:
            for _ in range(4):
                answer = await client.complete(ChatRequest(spec, HI))
                assert answer.ttft_s is not None and answer.text.strip()
        finally:
            await client.aclose()
            relay.close()
        return len(accepted)

    assert asyncio.run(go()) == 1
