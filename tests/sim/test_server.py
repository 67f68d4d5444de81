"""Server behaviour: metrics, health, concurrency limits, timing, unknown routes."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
import openai
import pytest

from pytest_llmbench.sim import SimServer

MSG = [{"role": "user", "content": "hi"}]


def test_health(base_url: str) -> None:
    r = httpx.get(base_url + "/health", trust_env=False)
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["answer_key_entries"] == 102
    assert httpx.get(base_url + "/nowhere", trust_env=False).status_code == 404


def test_metrics_count_what_the_server_saw() -> None:
    with SimServer(models=["m:policy=lorem,output_tokens=7"]) as server:
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="k", max_retries=0)
        for _ in range(3):
            client.chat.completions.create(model="m", messages=MSG)
        list(client.chat.completions.create(model="m", messages=MSG, stream=True))
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="ghost", messages=MSG)
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=MSG,
                                           extra_headers={"x-llmbench-fault": "rate_limit",
                                                          "x-llmbench-case": "c9"})
        data = httpx.get(server.base_url + "/metrics", trust_env=False).json()
        assert data["requests_total"] == 6
        assert {"route": "/v1/chat/completions", "model": "m", "status": 200,
                "count": 4} in data["requests"]
        assert data["requests_by_status"] == {"200": 4, "404": 1, "429": 1}
        assert data["tokens_out"] == {"m": 28}
        assert data["tokens_in"] == {"m": 5}
        assert data["faults"] == [{"model": "m", "kind": "rate_limit", "count": 1}]
        assert data["in_flight"] == 0
        assert data["recent"][-1]["case_id"] == "c9"
        assert server.metrics["requests_total"] == 6
        text = httpx.get(server.base_url + "/metrics?format=prometheus", trust_env=False).text
        assert ('llmbench_sim_requests_total{route="/v1/chat/completions",model="m",'
                'status="200"} 4') in text
        assert 'llmbench_sim_tokens_out_total{model="m"} 28' in text
        assert httpx.delete(server.base_url + "/metrics", trust_env=False).status_code == 200
        after = httpx.get(server.base_url + "/metrics", trust_env=False).json()
        assert after["requests_total"] == 0


def test_concurrency_limit_queues(base_url: str) -> None:
    """`narrow` serves 2 at a time with 100 ms TTFT: 6 requests take 3 rounds."""

    async def main() -> list[float]:
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            async def one() -> float:
                start = time.perf_counter()
                r = await client.post(base_url + "/v1/chat/completions",
                                      json={"model": "narrow", "messages": MSG})
                assert r.status_code == 200
                return time.perf_counter() - start

            return list(await asyncio.gather(*(one() for _ in range(6))))

    times = sorted(asyncio.run(main()))
    assert 0.28 < times[-1] < 0.6
    assert times[0] < 0.2


def test_queue_overflow_is_overloaded() -> None:
    with SimServer(models=["tight:policy=lorem,ttft_ms=200,output_tokens=1,"
                           "max_concurrency=1,max_queue=1"]) as server:
        async def main() -> list[int]:
            async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
                body = {"model": "tight", "max_tokens": 5, "messages": MSG}
                rs = await asyncio.gather(*(client.post(server.base_url + "/v1/messages",
                                                        json=body) for _ in range(4)))
                return sorted(r.status_code for r in rs)

        assert asyncio.run(main()) == [200, 200, 529, 529]


def test_streamed_timing_follows_the_profile(base_url: str) -> None:
    """`timed`: TTFT 80 ms, ITL 8 ms, 10 tokens (loose bounds: a shared 2-core box)."""
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="k", max_retries=0)
    client.chat.completions.create(model="quick", messages=MSG)  # warm the connection
    stamps = []
    start = time.perf_counter()
    for chunk in client.chat.completions.create(model="timed", messages=MSG, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            stamps.append(time.perf_counter())
    assert len(stamps) == 10
    ttft = stamps[0] - start
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert 0.075 < ttft < 0.2
    assert 0.006 < statistics.median(gaps) < 0.012
    total = stamps[-1] - start
    assert total == pytest.approx(0.08 + 9 * 0.008, abs=0.05)
