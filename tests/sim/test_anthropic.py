"""The real anthropic SDK (sync and async) against the simulator."""

from __future__ import annotations

import asyncio

import anthropic
import httpx
import httpx2
import pytest

MSG = [{"role": "user", "content": "Say something."}]


def fault(kind: str) -> dict[str, str]:
    return {"x-llmbench-fault": kind}


@pytest.fixture
def client(base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base_url, api_key="sk-ant-test", max_retries=0)


def test_non_streaming(client: anthropic.Anthropic) -> None:
    m = client.messages.create(model="quick", max_tokens=100, messages=MSG, system="be brief")
    assert m.type == "message" and m.role == "assistant"
    assert m.stop_reason == "end_turn"
    assert m.usage.output_tokens == 12
    assert m.usage.input_tokens == 5  # "be", "brief", "Say", "something", "."
    assert m.content[0].type == "text" and m.content[0].text.startswith("Lorem")


def test_max_tokens_stop(client: anthropic.Anthropic) -> None:
    m = client.messages.create(model="sim:quick", max_tokens=3, messages=MSG)
    assert m.stop_reason == "max_tokens"
    assert m.usage.output_tokens == 3


def test_raw_stream_event_sequence(client: anthropic.Anthropic) -> None:
    events = list(client.messages.create(model="quick", max_tokens=100, messages=MSG,
                                         stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    deltas = [e for e in events if e.type == "content_block_delta"]
    assert len(deltas) == 12
    assert events[0].message.usage.input_tokens == 3
    assert events[-2].usage.output_tokens == len(deltas)
    assert events[-2].delta.stop_reason == "end_turn"


def test_stream_helper(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model="quick", max_tokens=100, messages=MSG) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert final.usage.output_tokens == 12
    assert final.content[0].text == text
    full = client.messages.create(model="quick", max_tokens=100, messages=MSG)
    assert full.content[0].text == text


def test_x_api_key_header_and_any_version(base_url: str) -> None:
    body = {"model": "locked", "max_tokens": 10, "messages": MSG}
    ok = httpx.post(base_url + "/v1/messages", json=body, trust_env=False,
                    headers={"x-api-key": "sesame", "anthropic-version": "2023-06-01"})
    assert ok.status_code == 200, ok.text
    bearer = httpx.post(base_url + "/v1/messages", json=body, trust_env=False,
                        headers={"authorization": "Bearer sesame", "anthropic-version": "x"})
    assert bearer.status_code == 200
    bad = httpx.post(base_url + "/v1/messages", json=body, trust_env=False,
                     headers={"x-api-key": "nope"})
    assert bad.status_code == 401
    assert bad.json()["error"]["type"] == "authentication_error"
    assert bad.headers["request-id"]


def test_missing_max_tokens_and_bad_json(base_url: str) -> None:
    r = httpx.post(base_url + "/v1/messages", json={"model": "quick", "messages": MSG},
                   trust_env=False)
    assert r.status_code == 400
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]
    r = httpx.post(base_url + "/v1/messages", content=b"{", trust_env=False)
    assert r.status_code == 400
    client = anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="quick", max_tokens=10, messages=[])


@pytest.mark.parametrize(("api_key", "model", "headers", "exc", "status"), [
    ("bad-key", "faulty", None, anthropic.AuthenticationError, 401),
    ("k", "nope", None, anthropic.NotFoundError, 404),
    ("k", "faulty", fault("bad_request"), anthropic.BadRequestError, 400),
    ("k", "faulty", fault("rate_limit"), anthropic.RateLimitError, 429),
    ("k", "faulty", fault("server_error"), anthropic.InternalServerError, 500),
    ("k", "faulty", fault("unavailable"), anthropic.ServiceUnavailableError, 503),
    ("k", "faulty", fault("overloaded"), anthropic.OverloadedError, 529),
])
@pytest.mark.parametrize("stream", [False, True])
def test_errors(base_url: str, api_key: str, model: str, headers: dict | None, exc: type,
                status: int, stream: bool) -> None:
    client = anthropic.Anthropic(base_url=base_url, api_key=api_key, max_retries=0)
    with pytest.raises(exc) as info:
        client.messages.create(model=model, max_tokens=50, messages=MSG, stream=stream,
                               extra_headers=headers)
    assert info.value.status_code == status
    assert info.value.request_id


def test_rate_limit_retry_after(base_url: str) -> None:
    client = anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(model="faulty", max_tokens=50, messages=MSG,
                               extra_headers=fault("rate_limit"))
    assert info.value.response.headers["retry-after"] == "2"
    assert info.value.body["error"]["type"] == "rate_limit_error"


def test_mid_stream_error_event(client: anthropic.Anthropic) -> None:
    stream = client.messages.create(model="faulty", max_tokens=50, messages=MSG, stream=True,
                                    extra_headers=fault("stream_error"))
    deltas = 0
    with pytest.raises(anthropic.APIStatusError) as info:
        for event in stream:
            deltas += event.type == "content_block_delta"
    assert deltas == 5
    assert info.value.body["error"]["type"] == "overloaded_error"


# anthropic 2.12 does not wrap transport errors raised while a stream is being read
# (openai 3.x does): a drop surfaces as httpx2.RemoteProtocolError, a stall as
# httpx2.ReadTimeout. The plugin's provider must map these itself.


def test_mid_stream_drop(client: anthropic.Anthropic) -> None:
    stream = client.messages.create(model="faulty", max_tokens=50, messages=MSG, stream=True,
                                    extra_headers=fault("drop"))
    deltas = 0
    with pytest.raises(httpx2.RemoteProtocolError):
        for event in stream:
            deltas += event.type == "content_block_delta"
    assert deltas == 5


def test_mid_stream_stall(base_url: str) -> None:
    client = anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0, timeout=0.5)
    with pytest.raises(httpx2.ReadTimeout):
        with client.messages.stream(model="faulty", max_tokens=50, messages=MSG,
                                    extra_headers=fault("stall")) as stream:
            list(stream)


def test_non_streaming_faults(base_url: str) -> None:
    client = anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0, timeout=0.5)
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.create(model="faulty", max_tokens=50, messages=MSG,
                               extra_headers=fault("drop"))
    with pytest.raises(anthropic.APITimeoutError):
        client.messages.create(model="faulty", max_tokens=50, messages=MSG,
                               extra_headers=fault("stall"))


def test_async_client(base_url: str) -> None:
    async def main() -> None:
        client = anthropic.AsyncAnthropic(base_url=base_url, api_key="k", max_retries=0)
        m = await client.messages.create(model="quick", max_tokens=100, messages=MSG)
        async with client.messages.stream(model="quick", max_tokens=100,
                                          messages=MSG) as stream:
            text = "".join([t async for t in stream.text_stream])
            final = await stream.get_final_message()
        assert text == m.content[0].text
        assert final.usage.output_tokens == m.usage.output_tokens == 12
        with pytest.raises(anthropic.OverloadedError):
            await client.messages.create(model="quick", max_tokens=10, messages=MSG,
                                         extra_headers=fault("overloaded"))
        events = await client.messages.create(model="faulty", max_tokens=50, messages=MSG,
                                              stream=True, extra_headers=fault("stream_error"))
        with pytest.raises(anthropic.APIStatusError):
            async for _ in events:
                pass
        dropped = await client.messages.create(model="faulty", max_tokens=50, messages=MSG,
                                               stream=True, extra_headers=fault("drop"))
        with pytest.raises(httpx2.RemoteProtocolError):
            async for _ in dropped:
                pass
        await client.close()

    asyncio.run(main())
