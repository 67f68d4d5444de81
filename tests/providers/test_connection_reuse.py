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

HI = [{"role": "user", "content": "What is the capital of France?"}]


async def _relay(target_port: int, accepted: list[int]) -> asyncio.Server:
    """A relay on a free port that forwards bytes both ways and counts connections."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.mark.parametrize("provider", ["sim", "openai-compatible", "anthropic"])
def test_streamed_calls_in_a_row_use_one_connection(sim: SimServer, provider: str) -> None:
    async def go() -> int:
        accepted: list[int] = []
        relay = await _relay(int(sim.base_url.rsplit(":", 1)[1]), accepted)
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
