"""``anthropic:<model>``: the Messages API through the official async client, streamed.

System messages are split out into ``system`` (the API has no system role),
``max_tokens`` is always sent (the API requires it), thinking deltas are kept
apart from the answer (``Completion.reasoning``), and usage comes from ``message_start`` (input) and the last
``message_delta`` (cumulative output).
"""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any

import anthropic

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.providers import clients, common, tool_calling
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.common import split_system
from pytest_llmbench.providers.errors_map import classify, content_filtered
from pytest_llmbench.redaction import remember_secret

DEFAULT_MAX_TOKENS = 1024


def sdk_arguments(create: Any, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as keyword arguments of the SDK's ``create``: those it names pass as they
    are, the rest (``temperature`` and ``top_p``, which anthropic 2.16 no longer names) go in
    the request body through ``extra_body``, so a suite's params reach the API on any SDK."""
    accepted = _named_parameters(create)
    extra = {k: v for k, v in params.items() if k not in accepted}
    out = {k: v for k, v in params.items() if k in accepted}
    if extra:
        out["extra_body"] = {**extra, **(params.get("extra_body") or {})}
    return out


@functools.cache
def _named_parameters(create: Any) -> frozenset[str]:
    return frozenset(inspect.signature(create).parameters) - {"self"}


class AnthropicProvider:
    tool_calling = True

    def __init__(self, spec: ModelSpec, context: dict[str, Any]) -> None:
        self.spec = spec
        self.think_tags = common.think_tags(spec)
        # retries are the engine's (pytest_llmbench.calls.retry), so the SDK makes one attempt
        args: dict[str, Any] = {"max_retries": 0, "default_headers": common.headers(spec)}
        if spec.settings.get("timeout") is not None:
            args["timeout"] = float(spec.settings["timeout"])
        self.client = self._client(args)

    @staticmethod
    def warm() -> None:
        """Client set-up and the SDK's lazy imports, before the first call."""
        common.warm_async_client(anthropic.AsyncAnthropic(api_key="warm-up", base_url=common.WARM_URL,
                                                          max_retries=0),
                                 lambda client: client.messages)

    def _client(self, args: dict[str, Any]) -> anthropic.AsyncAnthropic | Any:
        settings = self.spec.settings
        key = settings.get("api_key") or os.environ.get("ANTHROPIC_API_KEY")
        token = settings.get("auth_token") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
        if not key and not token:
            key = common.api_key(self.spec, "ANTHROPIC_API_KEY", required=True)
        remember_secret(key)
        remember_secret(token)
        base_url = settings.get("base_url") or os.environ.get("ANTHROPIC_BASE_URL")
        if base_url:
            args["base_url"] = str(base_url)
        args.update(api_key=key or None, auth_token=token or None)
        self._client_key = clients.client_key("anthropic", **args)
        return clients.acquire(self._client_key, lambda: anthropic.AsyncAnthropic(**args))

    async def complete(self, request: ChatRequest) -> Completion:
        if request.tools is not None:
            return await tool_calling.anthropic_tools(self.client, self.spec.api_model,
                                                      self.spec.name, request)
        system, turns = split_system(request.messages)
        params = dict(request.params)
        max_tokens = params.pop("max_tokens", None) or params.pop("max_completion_tokens", None)
        kwargs: dict[str, Any] = {"model": self.spec.api_model, "messages": turns, "stream": True,
                                  "max_tokens": int(max_tokens or DEFAULT_MAX_TOKENS),
                                  **sdk_arguments(type(self.client.messages).create, params)}
        if system is not None:
            kwargs["system"] = system
        clock = common.StreamClock(think_tags=self.think_tags)
        usage: dict[str, Any] = {}
        stop: str | None = None
        events = 0
        finished = False
        last: Any = None
        try:
            stream = await self.client.messages.create(**kwargs)
            await common.require_stream(stream.response, self.spec.name)
            async for event in stream:
                events, last = events + 1, event
                kind = event.type
                finished = finished or kind == "message_stop"
                if kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta" and delta.text:
                        clock.token(delta.text)
                    elif delta.type == "thinking_delta" and delta.thinking:
                        clock.reasoning(delta.thinking)
                else:
                    stop = common.anthropic_usage_event(kind, event, usage, stop)
        except Exception as exc:  # noqa: BLE001 - every SDK error becomes one classified line
            raise classify(exc, self.spec.name) from exc
        if not finished:  # an empty stream, events of another shape, or a stream cut off
            raise common.unfinished(self.spec.name, events, "message_stop event",
                                    None if last is None else repr(last))
        if stop == "refusal":
            raise content_filtered(self.spec.name, "stop_reason=refusal")
        return clock.finish(input_tokens=usage.get("input_tokens"),
                            output_tokens=usage.get("output_tokens"), finish=stop,
                            raw_usage=usage or None, prompt=common.prompt_text(request.messages))

    async def aclose(self) -> None:
        await clients.release(self._client_key, self.client, lambda c: c.close())
