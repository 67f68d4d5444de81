"""The real openai SDK (sync and async) against the simulator."""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest

from pytest_llmbench.sim import SimServer

MSG = [{"role": "user", "content": "Say something."}]


def fault(kind: str) -> dict[str, str]:
    return {"x-llmbench-fault": kind}


@pytest.fixture
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0)


def test_non_streaming(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="quick", messages=MSG)
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage is not None
    assert r.usage.completion_tokens == 12
    assert r.usage.prompt_tokens == 3  # "Say", "something", "."
    assert r.choices[0].message.content.startswith("Lorem ipsum")
    assert r.model == "quick"


def test_sim_prefix_and_max_tokens(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="sim:quick", messages=MSG, max_tokens=4)
    assert r.choices[0].finish_reason == "length"
    assert r.usage is not None and r.usage.completion_tokens == 4
    assert r.choices[0].message.content == "Lorem ipsum dolor sit"


def test_ignore_eos_generates_exactly_max_tokens(client: openai.OpenAI) -> None:
    """vLLM's ``ignore_eos`` (sent through ``extra_body``): a 12-token answer is stretched
    to max_tokens, as serving benchmarks need for fixed output lengths."""
    chunks = list(client.chat.completions.create(
        model="quick", messages=MSG, max_tokens=30, stream=True,
        stream_options={"include_usage": True}, extra_body={"ignore_eos": True}))
    choices = [c.choices[0] for c in chunks if c.choices]
    content = [c.delta.content for c in choices if c.delta.content]
    assert len(content) == chunks[-1].usage.completion_tokens == 30
    assert [c.finish_reason for c in choices if c.finish_reason] == ["length"]
    plain = client.chat.completions.create(model="quick", messages=MSG, max_tokens=30)
    assert plain.usage is not None and plain.usage.completion_tokens == 12


def test_streaming_with_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="quick", messages=MSG, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0] for c in chunks if c.choices]
    content = [d.delta.content for d in deltas if d.delta.content]
    finish = [d.finish_reason for d in deltas if d.finish_reason]
    assert finish == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == len(content) == 12
    assert all(c.usage is None for c in chunks[:-1])
    full = client.chat.completions.create(model="quick", messages=MSG)
    assert "".join(content) == full.choices[0].message.content


def test_streaming_without_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="quick", messages=MSG, stream=True))
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_stream_helper_final_completion(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model="quick", messages=MSG,
                                        stream_options={"include_usage": True}) as stream:
        final = stream.get_final_completion()
    assert final.usage is not None and final.usage.completion_tokens == 12
    assert final.choices[0].message.content.startswith("Lorem")


def test_models_list(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"default", "oracle", "fast", "slow", "flaky", "quick"} <= ids


def test_query_string_and_azure_path(base_url: str) -> None:
    azure = openai.AzureOpenAI(azure_endpoint=base_url, api_key="k", api_version="2024-10-21",
                               max_retries=0)
    r = azure.chat.completions.create(model="quick", messages=MSG)
    assert r.usage is not None and r.usage.completion_tokens == 12
    raw = httpx.post(base_url + "/v1/chat/completions?foo=bar",
                     json={"model": "quick", "messages": MSG}, trust_env=False)
    assert raw.status_code == 200


@pytest.mark.parametrize(("kwargs", "exc", "status", "code"), [
    ({"api_key": "bad-key"}, openai.AuthenticationError, 401, "invalid_api_key"),
    ({"api_key": "invalid-123"}, openai.AuthenticationError, 401, "invalid_api_key"),
    ({"model": "nope"}, openai.NotFoundError, 404, "model_not_found"),
    ({"headers": fault("bad_request")}, openai.BadRequestError, 400, None),
    ({"headers": fault("rate_limit")}, openai.RateLimitError, 429, "rate_limit_exceeded"),
    ({"headers": fault("server_error")}, openai.InternalServerError, 500, None),
    ({"headers": fault("unavailable")}, openai.InternalServerError, 503, "service_unavailable"),
    ({"headers": fault("overloaded")}, openai.InternalServerError, 503, "overloaded"),
    ({"headers": fault("auth")}, openai.AuthenticationError, 401, "invalid_api_key"),
    ({"headers": fault("not_found")}, openai.NotFoundError, 404, "model_not_found"),
])
@pytest.mark.parametrize("stream", [False, True])
def test_errors(base_url: str, kwargs: dict, exc: type, status: int, code: str | None,
                stream: bool) -> None:
    client = openai.OpenAI(base_url=base_url + "/v1", api_key=kwargs.get("api_key", "sk"),
                           max_retries=0)
    with pytest.raises(exc) as info:
        client.chat.completions.create(model=kwargs.get("model", "faulty"), messages=MSG,
                                       stream=stream, extra_headers=kwargs.get("headers"))
    assert info.value.status_code == status
    assert info.value.code == code
    assert info.value.request_id


def test_rate_limit_headers(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="sk", max_retries=0)
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="faulty", messages=MSG,
                                       extra_headers=fault("rate_limit"))
    assert info.value.response.headers["retry-after"] == "2"
    assert info.value.response.headers["retry-after-ms"] == "2000"


def test_bad_json_and_missing_fields(base_url: str) -> None:
    r = httpx.post(base_url + "/v1/chat/completions", content=b"{not json",
                   headers={"content-type": "application/json"}, trust_env=False)
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="sk", max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="quick", messages=[])


def test_model_specific_key(base_url: str) -> None:
    good = openai.OpenAI(base_url=base_url + "/v1", api_key="sesame", max_retries=0)
    assert good.chat.completions.create(model="locked", messages=MSG).usage is not None
    bad = openai.OpenAI(base_url=base_url + "/v1", api_key="other", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="locked", messages=MSG)


def test_mid_stream_error_event(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="faulty", messages=MSG, stream=True,
                                            extra_headers=fault("stream_error"))
    got = []
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                got.append(chunk.choices[0].delta.content)
    assert not isinstance(info.value, openai.APIStatusError)
    assert len(got) == 5


def test_mid_stream_drop(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="faulty", messages=MSG, stream=True,
                                            extra_headers=fault("drop"))
    with pytest.raises(openai.APIConnectionError):
        list(stream)


def test_mid_stream_stall(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="sk", max_retries=0, timeout=0.5)
    stream = client.chat.completions.create(model="faulty", messages=MSG, stream=True,
                                            extra_headers=fault("stall"))
    with pytest.raises(openai.APITimeoutError):
        list(stream)


def test_non_streaming_drop_and_stall(base_url: str) -> None:
    client = openai.OpenAI(base_url=base_url + "/v1", api_key="sk", max_retries=0, timeout=0.5)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="faulty", messages=MSG, extra_headers=fault("drop"))
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="faulty", messages=MSG, extra_headers=fault("stall"))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="faulty", messages=MSG,
                                       extra_headers=fault("stream_error"))


def test_retry_after_is_honoured(sim: SimServer) -> None:
    """The flaky-style path: a 429 with retry-after, then success on the SDK's retry."""
    client = openai.OpenAI(base_url=sim.base_url + "/v1", api_key="sk", max_retries=3)
    r = client.chat.completions.create(model="flaky", messages=MSG, seed=1)
    assert r.choices[0].message.content is not None


def test_async_client(base_url: str) -> None:
    async def main() -> list[str]:
        client = openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="sk", max_retries=0)
        r = await client.chat.completions.create(model="quick", messages=MSG)
        stream = await client.chat.completions.create(
            model="quick", messages=MSG, stream=True, stream_options={"include_usage": True})
        usage = None
        parts = []
        async for chunk in stream:
            if chunk.usage:
                usage = chunk.usage
            elif chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        assert usage is not None and usage.completion_tokens == len(parts)
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model="quick", messages=MSG,
                                                 extra_headers=fault("rate_limit"))
        s2 = await client.chat.completions.create(model="faulty", messages=MSG, stream=True,
                                                  extra_headers=fault("drop"))
        with pytest.raises(openai.APIConnectionError):
            async for _ in s2:
                pass
        await client.close()
        return [r.choices[0].message.content or "", "".join(parts)]

    full, streamed = asyncio.run(main())
    assert full == streamed
