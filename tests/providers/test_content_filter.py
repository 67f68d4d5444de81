"""Content-filter stops become ``content_filtered`` errors (the simulator cannot send them,
so the SDKs are fed canned streams through a mock transport)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ProviderError
from pytest_llmbench.providers.anthropic_messages import AnthropicProvider
from pytest_llmbench.providers.base import ChatRequest
from pytest_llmbench.providers.bedrock_converse import BedrockProvider
from pytest_llmbench.providers.openai_chat import OpenAIChatProvider


def _sse(events: list[tuple[str | None, dict[str, Any] | str]]) -> bytes:
    out = []
    for name, data in events:
        body = data if isinstance(data, str) else json.dumps(data)
        out.append((f"event: {name}\n" if name else "") + f"data: {body}\n\n")
    return "".join(out).encode()


def _client(body: bytes) -> httpx2.AsyncClient:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})
    return httpx2.AsyncClient(transport=httpx2.MockTransport(handler))


def _run(provider: Any, spec: ModelSpec) -> Any:
    async def go() -> Any:
        try:
            return await provider.complete(ChatRequest(spec, [{"role": "user", "content": "hi"}]))
        finally:
            await provider.aclose()
    return asyncio.run(go())


def test_openai_content_filter() -> None:
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    body = _sse([(None, {**chunk, "choices": [{"index": 0, "delta": {"content": "I"}}]}),
                 (None, {**chunk, "choices": [{"index": 0, "delta": {},
                                               "finish_reason": "content_filter"}]}),
                 (None, "[DONE]")])
    spec = ModelSpec("openai", "gpt-4o", settings={"api_key": "k", "max_retries": 0})
    provider = OpenAIChatProvider(spec, {})
    provider.client = openai.AsyncOpenAI(api_key="k", base_url="http://test/v1", max_retries=0,
                                         http_client=_client(body))
    with pytest.raises(ProviderError) as info:
        _run(provider, spec)
    assert info.value.kind == "content_filtered"
    assert "finish_reason=content_filter" in str(info.value)


def test_openai_without_usage_is_estimated() -> None:
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    body = _sse([(None, {**chunk, "choices": [{"index": 0, "delta": {"content": "two words"}}]}),
                 (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                         "x_groq": {"usage": {"prompt_tokens": 3, "completion_tokens": 2}}}),
                 (None, "[DONE]")])
    spec = ModelSpec("groq", "llama", settings={"api_key": "k"})
    provider = OpenAIChatProvider(spec, {})
    provider.client = openai.AsyncOpenAI(api_key="k", base_url="http://test/v1", max_retries=0,
                                         http_client=_client(body))
    completion = _run(provider, spec)
    assert (completion.input_tokens, completion.output_tokens) == (3, 2)
    assert completion.tokens_estimated is False


def test_anthropic_refusal() -> None:
    message = {"id": "msg", "type": "message", "role": "assistant", "model": "m", "content": [],
               "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": 3, "output_tokens": 1}}
    body = _sse([("message_start", {"type": "message_start", "message": message}),
                 ("message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": "refusal", "stop_sequence": None},
                                    "usage": {"output_tokens": 1}}),
                 ("message_stop", {"type": "message_stop"})])
    spec = ModelSpec("anthropic", "claude", settings={"api_key": "k"})
    provider = AnthropicProvider(spec, {})
    provider.client = anthropic.AsyncAnthropic(api_key="k", base_url="http://test", max_retries=0,
                                               http_client=_client(body))
    with pytest.raises(ProviderError) as info:
        _run(provider, spec)
    assert info.value.kind == "content_filtered"


_EVENT_STREAM = {"HTTPHeaders": {"content-type": "application/vnd.amazon.eventstream"}}


@pytest.mark.parametrize("reason", ["guardrail_intervened", "content_filtered"])
def test_bedrock_guardrail(reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = ModelSpec("bedrock", "m", settings={"endpoint_url": "http://127.0.0.1:9"})
    provider = BedrockProvider(spec, {})
    events = [{"messageStart": {"role": "assistant"}},
              {"contentBlockDelta": {"delta": {"text": "No"}, "contentBlockIndex": 0}},
              {"messageStop": {"stopReason": reason}}]
    monkeypatch.setattr(provider.client, "converse_stream",
                        lambda **_: {"stream": iter(events), "ResponseMetadata": _EVENT_STREAM})
    with pytest.raises(ProviderError) as info:
        _run(provider, spec)
    assert info.value.kind == "content_filtered"
    assert reason in str(info.value)
