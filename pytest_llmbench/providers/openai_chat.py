"""``openai:``, ``azure:`` and every OpenAI-compatible host (``groq:``, ``vllm:`` ...).

One streaming Chat Completions call per request through the official async
client: TTFT at the first content token, gaps between content chunks, E2E at
the end of the stream, usage from whichever chunk carries it.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import openai

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.providers import clients, common, tool_calling
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.errors_map import classify, content_filtered
from pytest_llmbench.providers.hosts import HOSTS, base_url_for
from pytest_llmbench.redaction import remember_secret


class OpenAIChatProvider:
    """Serves ``openai``, ``azure`` and the names in :data:`hosts.HOSTS`."""

    tool_calling = True

    def __init__(self, spec: ModelSpec, context: dict[str, Any]) -> None:
        self.spec = spec
        settings = spec.settings
        timeout = settings.get("timeout")
        # retries are the engine's (pytest_llmbench.calls.retry), so the SDK makes one attempt
        common_args: dict[str, Any] = {"max_retries": 0, "default_headers": common.headers(spec)}
        if timeout is not None:
            common_args["timeout"] = float(timeout)
        self.include_usage = bool(settings.get("include_usage", True))
        self.think_tags = common.think_tags(spec)
        if spec.provider == "azure":
            self._share("azure", openai.AsyncAzureOpenAI, self._azure(common_args))
            return
        if spec.provider not in HOSTS:
            raise ConfigError(f"{spec.name}: no OpenAI-compatible host named {spec.provider!r}")
        host = HOSTS[spec.provider]
        if host.retired and not settings.get("base_url"):
            warnings.warn(f"{spec.name}: {host.retired}; set base_url if it is served elsewhere",
                          UserWarning, stacklevel=2)
        self.include_usage = bool(settings.get("include_usage", host.include_usage))
        key = common.api_key(spec, host.key_env, required=not host.local,
                             placeholder=os.environ.get("OPENAI_COMPATIBLE_API_KEY", "none"))
        self._share("openai", openai.AsyncOpenAI,
                    {"api_key": key, "base_url": base_url_for(spec.provider, settings), **common_args})

    @staticmethod
    def warm() -> None:
        """Client set-up and the SDK's lazy imports (~0.1 s), before the first call."""
        common.warm_async_client(openai.AsyncOpenAI(api_key="warm-up", base_url=common.WARM_URL,
                                                    max_retries=0),
                                 lambda client: client.chat.completions)

    def _share(self, family: str, cls: Any, args: dict[str, Any]) -> None:
        """One client per (family, key, base URL, options) and event loop."""
        self._client_key = clients.client_key(family, **args)
        self.client: openai.AsyncOpenAI = clients.acquire(self._client_key, lambda: cls(**args))

    def _azure(self, args: dict[str, Any]) -> dict[str, Any]:
        settings = self.spec.settings
        endpoint = settings.get("azure_endpoint") or os.environ.get("AZURE_OPENAI_ENDPOINT")
        base_url = settings.get("base_url")
        if not endpoint and not base_url:
            raise ConfigError(f"{self.spec.name}: set AZURE_OPENAI_ENDPOINT "
                              "(or azure_endpoint in llmbench.yaml)")
        version = settings.get("api_version") or os.environ.get("OPENAI_API_VERSION")
        if not version:
            raise ConfigError(f"{self.spec.name}: set OPENAI_API_VERSION "
                              "(or api_version in llmbench.yaml, e.g. 2024-10-21)")
        ad_token = settings.get("azure_ad_token") or os.environ.get("AZURE_OPENAI_AD_TOKEN")
        key = None if ad_token else common.api_key(self.spec, "AZURE_OPENAI_API_KEY", required=True)
        remember_secret(ad_token)
        where = {"base_url": base_url} if base_url else {"azure_endpoint": endpoint}
        return {"api_key": key, "azure_ad_token": ad_token, "api_version": str(version),
                "azure_deployment": settings.get("azure_deployment"), **where, **args}

    async def complete(self, request: ChatRequest) -> Completion:
        if request.tools is not None:
            return await tool_calling.openai_tools(self.client, self.spec.api_model,
                                                   self.spec.name, request)
        kwargs: dict[str, Any] = {"model": self.spec.api_model, "messages": request.messages,
                                  "stream": True, **request.params}
        if self.include_usage:
            kwargs["stream_options"] = {"include_usage": True}
        clock = common.StreamClock(think_tags=self.think_tags)
        usage: dict[str, Any] | None = None
        finish: str | None = None
        events = 0
        last: Any = None
        try:
            stream = await self.client.chat.completions.create(**kwargs)
            await common.require_stream(stream.response, self.spec.name)
            async for chunk in stream:
                events, last = events + 1, chunk
                if chunk.usage is not None:
                    usage = chunk.usage.model_dump()
                elif (extra := (chunk.model_extra or {}).get("x_groq")) and extra.get("usage"):
                    usage = dict(extra["usage"])
                for choice in chunk.choices or ():
                    delta = choice.delta
                    if delta is not None:
                        if thought := _reasoning(delta):
                            clock.reasoning(thought)
                        if delta.content:
                            clock.token(delta.content)
                    finish = choice.finish_reason or finish
        except Exception as exc:  # noqa: BLE001 - every SDK error becomes one classified line
            raise classify(exc, self.spec.name) from exc
        if finish is None:  # [DONE] only, no chunk of this shape, or a stream cut off
            raise common.unfinished(self.spec.name, events, "finish_reason", _preview(last))
        if finish == "content_filter":
            raise content_filtered(self.spec.name, "finish_reason=content_filter")
        details = (usage or {}).get("completion_tokens_details") or {}
        completion = clock.finish(input_tokens=usage.get("prompt_tokens") if usage else None,
                                  output_tokens=usage.get("completion_tokens") if usage else None,
                                  finish=finish, raw_usage=usage,
                                  prompt=common.prompt_text(request.messages),
                                  reasoning_tokens=details.get("reasoning_tokens"))
        if usage and isinstance(usage.get("cost"), int | float):  # OpenRouter reports its charge
            completion.cost_usd = float(usage["cost"])
        return completion

    async def aclose(self) -> None:
        await clients.release(self._client_key, self.client, lambda c: c.close())


def _preview(chunk: Any) -> str | None:
    """The last chunk as it came (the SDK builds chunks without validating them)."""
    if chunk is None:
        return None
    try:
        return str(chunk.to_json(indent=None))
    except Exception:  # noqa: BLE001 - a chunk of another shape may not serialise
        return repr(chunk)


def _reasoning(delta: Any) -> str | None:
    """Thinking text in a delta: ``reasoning_content`` (DeepSeek, vLLM < 0.10, SGLang) or
    ``reasoning`` (vLLM >= 0.10, Ollama, OpenRouter); the SDK keeps both as extra fields."""
    extra = delta.model_extra or {}
    value = extra.get("reasoning_content") or extra.get("reasoning")
    return value if isinstance(value, str) else None
