"""``sim:<model>``: the project's own simulator, spoken to over the OpenAI streaming
wire format with a plain httpx client (no SDK needed for the embedded default).

Measures TTFT (first content chunk), inter-chunk gaps and E2E per request and
takes token counts from the server's usage chunk (``include_usage``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError, ProviderError
from pytest_llmbench.providers.base import ChatRequest, Completion

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
        self.url = str(base).rstrip("/") + "/v1/chat/completions"
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(None),
                                        limits=httpx.Limits(max_connections=None,
                                                            max_keepalive_connections=256))

    async def complete(self, request: ChatRequest) -> Completion:
        meta = request.metadata
        headers = {"authorization": "Bearer sim"}
        if "case_id" in meta:
            headers["x-llmbench-case"] = f"{meta.get('suite', '')}/{meta['case_id']}"
        if meta.get("sample"):
            headers["x-llmbench-sample"] = str(meta["sample"])
        body = {"model": self.spec.model, "messages": request.messages, "stream": True,
                "stream_options": {"include_usage": True}, **request.params}
        start = time.perf_counter()
        try:
            async with self.client.stream("POST", self.url, json=body, headers=headers) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise self._error(resp)
                return await self._read(resp, start)
        except httpx.TransportError as exc:
            raise ProviderError(str(exc) or type(exc).__name__, model=self.spec.name,
                                kind="connection", error_type="APIConnectionError") from None

    async def _read(self, resp: httpx.Response, start: float) -> Completion:
        parts: list[str] = []
        gaps: list[float] = []
        ttft = last = None
        usage: dict[str, Any] | None = None
        finish = None
        async for line in resp.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            if "error" in chunk:
                error = chunk["error"]
                raise ProviderError(error.get("message", "stream error"), model=self.spec.name,
                                    kind="server_error", error_type="APIError")
            if chunk.get("usage"):
                usage = chunk["usage"]
            for choice in chunk.get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                finish = choice.get("finish_reason") or finish
                if text:
                    now = time.perf_counter()
                    if ttft is None:
                        ttft = now - start
                    else:
                        gaps.append(now - last)  # type: ignore[operator]
                    last = now
                    parts.append(text)
        end = (last or time.perf_counter()) - start
        text = "".join(parts)
        return Completion(
            text=text, ttft_s=ttft, latency_s=end, itl_s=gaps, finish_reason=finish,
            input_tokens=usage.get("prompt_tokens") if usage else None,
            output_tokens=usage.get("completion_tokens") if usage else len(parts),
            tokens_estimated=usage is None, raw_usage=usage, cost_usd=0.0)

    def _error(self, resp: httpx.Response) -> ProviderError:
        try:
            message = resp.json().get("error", {}).get("message", resp.text)
        except ValueError:
            message = resp.text
        status = resp.status_code
        return ProviderError(f"{message} (HTTP {status})", model=self.spec.name,
                             kind=_KINDS.get(status, "server_error"),
                             error_type=_TYPES.get(status, "InternalServerError"))

    async def aclose(self) -> None:
        await self.client.aclose()
