"""``sim:<model>``: the project's own simulator, spoken to over the OpenAI streaming
wire format with a plain httpx client (no SDK needed for the embedded default).

Measures TTFT (first content chunk), inter-chunk gaps and E2E (to the last
content chunk) per request, keeps ``reasoning_content`` / ``<think>`` text
apart from the answer, and takes token counts from the server's usage chunk
(``include_usage``). It has no price unless the config gives one.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError, ProviderError
from pytest_llmbench.providers import clients
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.common import StreamClock, prompt_text, think_tags
from pytest_llmbench.retry import parse_retry_after

_KINDS = {400: "bad_request", 401: "auth", 403: "auth", 404: "not_found", 408: "timeout",
          429: "rate_limited"}
_TYPES = {400: "BadRequestError", 401: "AuthenticationError", 403: "PermissionDeniedError",
          404: "NotFoundError", 408: "APITimeoutError", 429: "RateLimitError"}


class SimProvider:
    def __init__(self, spec: ModelSpec, context: dict[str, Any]) -> None:
        base = spec.settings.get("base_url") or context.get("sim_url")
        if not base:
            raise ConfigError(f"{spec.name}: no simulator running (set settings.base_url)")
        self.spec = spec
        self.think_tags = think_tags(spec)
        self.url = str(base).rstrip("/") + "/v1/chat/completions"
        self._client_key = ("sim", str(base))
        self.client: httpx.AsyncClient = clients.acquire(self._client_key, _new_client)

    async def complete(self, request: ChatRequest) -> Completion:
        meta = request.metadata
        headers = {"authorization": "Bearer sim"}
        if "case_id" in meta:
            headers["x-llmbench-case"] = f"{meta.get('suite', '')}/{meta['case_id']}"
        if meta.get("sample"):
            headers["x-llmbench-sample"] = str(meta["sample"])
        body = {"model": self.spec.api_model, "messages": request.messages, "stream": True,
                "stream_options": {"include_usage": True}, **request.params}
        clock = StreamClock(think_tags=self.think_tags)
        try:
            async with self.client.stream("POST", self.url, json=body, headers=headers) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise self._error(resp)
                return await self._read(resp, clock, prompt_text(request.messages))
        except httpx.TransportError as exc:
            raise ProviderError(str(exc) or type(exc).__name__, model=self.spec.name,
                                kind="connection", error_type="APIConnectionError") from None

    async def _read(self, resp: httpx.Response, clock: StreamClock, prompt: str) -> Completion:
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
                raise ProviderError(error.get("message", "stream error"), model=self.spec.name,
                                    kind="server_error", error_type="APIError")
            if chunk.get("usage"):
                usage = chunk["usage"]
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

    def _error(self, resp: httpx.Response) -> ProviderError:
        try:
            message = resp.json().get("error", {}).get("message", resp.text)
        except ValueError:
            message = resp.text
        status = resp.status_code
        return ProviderError(f"{message} (HTTP {status})", model=self.spec.name,
                             kind=_KINDS.get(status, "server_error"),
                             error_type=_TYPES.get(status, "InternalServerError"),
                             retry_after=parse_retry_after(resp.headers))

    async def aclose(self) -> None:
        await clients.release(self._client_key, self.client, lambda c: c.aclose())


def _new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(None),
                             limits=httpx.Limits(max_connections=None, max_keepalive_connections=256))
