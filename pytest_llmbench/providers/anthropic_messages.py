"""``anthropic:<model>``: the Messages API through the official async client, streamed.

System messages are split out into ``system`` (the API has no system role),
``max_tokens`` is always sent (the API requires it), thinking deltas are kept
apart from the answer (``Completion.reasoning``), and usage comes from ``message_start`` (input) and the last
``message_delta`` (cumulative output).
"""

from __future__ import annotations

import os
from typing import Any

import anthropic

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.providers import clients, common
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.errors_map import classify, content_filtered

DEFAULT_MAX_TOKENS = 1024


def split_system(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """Anthropic takes the system prompt apart from the turns."""
    system = [str(m.get("content", "")) for m in messages if m.get("role") == "system"]
    turns = [m for m in messages if m.get("role") != "system"]
    return ("\n\n".join(system) if system else None), turns


class AnthropicProvider:
    def __init__(self, spec: ModelSpec, context: dict[str, Any]) -> None:
        self.spec = spec
        self.think_tags = common.think_tags(spec)
        # retries are the engine's (pytest_llmbench.calls.retry), so the SDK makes one attempt
        args: dict[str, Any] = {"max_retries": 0, "default_headers": common.headers(spec)}
        if spec.settings.get("timeout") is not None:
            args["timeout"] = float(spec.settings["timeout"])
        self.client = self._client(args)

    def _client(self, args: dict[str, Any]) -> anthropic.AsyncAnthropic | Any:
        settings = self.spec.settings
        key = settings.get("api_key") or os.environ.get("ANTHROPIC_API_KEY")
        token = settings.get("auth_token") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
        if not key and not token:
            key = common.api_key(self.spec, "ANTHROPIC_API_KEY", required=True)
        base_url = settings.get("base_url") or os.environ.get("ANTHROPIC_BASE_URL")
        if base_url:
            args["base_url"] = str(base_url)
        args.update(api_key=key or None, auth_token=token or None)
        self._client_key = clients.client_key("anthropic", **args)
        return clients.acquire(self._client_key, lambda: anthropic.AsyncAnthropic(**args))

    async def complete(self, request: ChatRequest) -> Completion:
        system, turns = split_system(request.messages)
        params = dict(request.params)
        max_tokens = params.pop("max_tokens", None) or params.pop("max_completion_tokens", None)
        kwargs: dict[str, Any] = {"model": self.spec.api_model, "messages": turns, "stream": True,
                                  "max_tokens": int(max_tokens or DEFAULT_MAX_TOKENS), **params}
        if system is not None:
            kwargs["system"] = system
        clock = common.StreamClock(think_tags=self.think_tags)
        usage: dict[str, Any] = {}
        stop: str | None = None
        try:
            stream = await self.client.messages.create(**kwargs)
            async for event in stream:
                kind = event.type
                if kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta" and delta.text:
                        clock.token(delta.text)
                    elif delta.type == "thinking_delta" and delta.thinking:
                        clock.reasoning(delta.thinking)
                elif kind == "message_start":
                    usage.update(event.message.usage.model_dump(exclude_none=True))
                elif kind == "message_delta":
                    stop = event.delta.stop_reason or stop
                    if event.usage is not None:
                        usage.update(event.usage.model_dump(exclude_none=True))
        except Exception as exc:  # noqa: BLE001 - every SDK error becomes one classified line
            raise classify(exc, self.spec.name) from exc
        if stop == "refusal":
            raise content_filtered(self.spec.name, "stop_reason=refusal")
        return clock.finish(input_tokens=usage.get("input_tokens"),
                            output_tokens=usage.get("output_tokens"), finish=stop,
                            raw_usage=usage or None, prompt=common.prompt_text(request.messages))

    async def aclose(self) -> None:
        await clients.release(self._client_key, self.client, lambda c: c.close())
