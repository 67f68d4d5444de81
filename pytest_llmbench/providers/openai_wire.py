"""The OpenAI Chat Completions streaming wire, spoken with plain httpx and ``json``.

:func:`stream_chat` posts one streamed request and reads its SSE body into a
:class:`Completion`, mapping HTTP and transport failures to ProviderError kinds
the way the SDK providers do. The ``sim:`` provider uses it, and so do serving
loads against ``openai:`` and every OpenAI-compatible host
(:class:`OpenAIWireProvider`): the OpenAI SDK builds a pydantic object per
streamed chunk, CPU that under load lands on the one event loop and inflates
TTFT (docs/serving.md, Fidelity), while vLLM's, SGLang's and guidellm's load
generators all read the wire with raw HTTP clients too.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ProviderError
from pytest_llmbench.providers import common
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.errors_map import content_filtered
from pytest_llmbench.providers.hosts import HOSTS, base_url_for
from pytest_llmbench.providers.retry_after import parse_retry_after

_KINDS = {400: "bad_request", 401: "auth", 402: "auth", 403: "auth", 404: "not_found",
          408: "timeout", 413: "bad_request", 422: "bad_request", 429: "rate_limited"}
_TYPES = {400: "BadRequestError", 401: "AuthenticationError", 403: "PermissionDeniedError",
          404: "NotFoundError", 408: "APITimeoutError", 422: "UnprocessableEntityError",
          429: "RateLimitError"}


async def stream_chat(client: httpx.AsyncClient, url: str, body: dict[str, Any], *,
                      model: str, clock: common.StreamClock, prompt: str,
                      headers: dict[str, str] | None = None,
                      query: dict[str, Any] | None = None) -> Completion:
    """POST ``body`` to ``url`` and read the streamed answer (``model`` names errors)."""
    # "request sent": from here only httpx works (encoding, pool, send), as after the
    # stamp of any raw client; building the body is not part of the request's TTFT
    clock.start = time.perf_counter()
    try:
        async with client.stream("POST", url, json=body, headers=headers,
                                 params=query) as resp:
            if resp.status_code >= 400:
                await resp.aread()
                raise http_error(resp, model)
            return await read_stream(resp, clock, prompt, model)
    except httpx.TransportError as exc:
        timeout = isinstance(exc, httpx.TimeoutException)
        raise ProviderError(str(exc) or type(exc).__name__, model=model,
                            kind="timeout" if timeout else "connection",
                            error_type="APITimeoutError" if timeout else "APIConnectionError"
                            ) from None


async def read_stream(resp: httpx.Response, clock: common.StreamClock, prompt: str,
                      model: str) -> Completion:
    """The Completion of an OpenAI SSE body: content timed by ``clock``, thinking
    (``reasoning_content`` or ``reasoning``) apart, usage from whichever chunk has it."""
    usage: dict[str, Any] | None = None
    finish = None
    done = False
    # read to the end of the body even after [DONE]: httpx keeps a connection for
    # the next request only when its response was read to the end, and a new
    # connection per request would land in the next request's TTFT
    async for line in resp.aiter_lines():
        if done or not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            done = True
            continue
        chunk = json.loads(data)
        if "error" in chunk:
            error = chunk["error"]
            message = error.get("message", "stream error") if isinstance(error, dict) else error
            raise ProviderError(str(message), model=model, kind="server_error",
                                error_type="APIError")
        if chunk.get("usage"):
            usage = chunk["usage"]
        elif (groq := chunk.get("x_groq")) and groq.get("usage"):
            usage = groq["usage"]
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            finish = choice.get("finish_reason") or finish
            thought = delta.get("reasoning_content") or delta.get("reasoning")
            if thought:
                clock.reasoning(thought)
            if delta.get("content"):
                clock.token(delta["content"])
    details = (usage or {}).get("completion_tokens_details") or {}
    return clock.finish(input_tokens=usage.get("prompt_tokens") if usage else None,
                        output_tokens=usage.get("completion_tokens") if usage else None,
                        finish=finish, raw_usage=usage, prompt=prompt,
                        reasoning_tokens=details.get("reasoning_tokens"), end=clock.last)


def http_error(resp: httpx.Response, model: str) -> ProviderError:
    """The ProviderError of an HTTP error response, named as the OpenAI SDK names it."""
    try:
        error = resp.json().get("error", {})
        message = error.get("message", resp.text) if isinstance(error, dict) else str(error)
    except (ValueError, AttributeError):
        message = resp.text
    status = resp.status_code
    return ProviderError(f"{message} (HTTP {status})", model=model,
                         kind=_KINDS.get(status, "server_error" if status >= 500 else "other"),
                         error_type=_TYPES.get(status, "InternalServerError"),
                         retry_after=parse_retry_after(resp.headers))


class OpenAIWireProvider:
    """``openai:`` or an OpenAI-compatible host, read without the SDK (serving loads).

    Sends what :class:`OpenAIChatProvider` would: the same URL, ``Authorization``
    header, ``headers`` setting and ``OpenAI-Organization`` / ``OpenAI-Project``
    from the SDK's env vars, with ``extra_body`` merged into the JSON body and
    ``extra_headers`` / ``extra_query`` added, as the SDK does. Its connection pool
    holds ``connections`` (the point's concurrency; None: no limit).
    """

    def __init__(self, spec: ModelSpec, connections: int | None = None) -> None:
        settings = spec.settings
        host = HOSTS[spec.provider]
        self.spec = spec
        self.think_tags = common.think_tags(spec)
        self.include_usage = bool(settings.get("include_usage", host.include_usage))
        key = common.api_key(spec, host.key_env, required=not host.local,
                             placeholder=os.environ.get("OPENAI_COMPATIBLE_API_KEY", "none"))
        base = base_url_for(spec.provider, settings) or "https://api.openai.com/v1"
        self.url = base.rstrip("/") + "/chat/completions"
        self.headers = {"authorization": f"Bearer {key}"}
        for header, env in (("OpenAI-Organization", "OPENAI_ORG_ID"),
                            ("OpenAI-Project", "OPENAI_PROJECT_ID")):
            if os.environ.get(env):
                self.headers[header] = os.environ[env]
        self.headers.update(common.headers(spec) or {})
        timeout = settings.get("timeout")
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(float(timeout) if timeout is not None else 600.0, connect=5.0),
            limits=httpx.Limits(max_connections=connections,
                                max_keepalive_connections=connections))

    async def complete(self, request: ChatRequest) -> Completion:
        params = dict(request.params)
        extra_body = params.pop("extra_body", None) or {}
        headers = {**self.headers, **(params.pop("extra_headers", None) or {})}
        query = params.pop("extra_query", None) or None
        params.pop("timeout", None)  # an SDK call option, never a JSON field
        body: dict[str, Any] = {"model": self.spec.api_model, "messages": request.messages,
                                "stream": True, **params}
        if self.include_usage:
            body["stream_options"] = {"include_usage": True}
        body.update(extra_body)
        clock = common.StreamClock(think_tags=self.think_tags)
        completion = await stream_chat(self.client, self.url, body, model=self.spec.name,
                                       clock=clock, headers=headers, query=query,
                                       prompt=common.prompt_text(request.messages))
        if completion.finish_reason == "content_filter":
            raise content_filtered(self.spec.name, "finish_reason=content_filter")
        usage = completion.raw_usage or {}
        if isinstance(usage.get("cost"), int | float):  # OpenRouter reports its charge
            completion.cost_usd = float(usage["cost"])
        return completion

    async def aclose(self) -> None:
        await self.client.aclose()
