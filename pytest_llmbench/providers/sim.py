"""``sim:<model>``: the project's own simulator, spoken to over the OpenAI streaming
wire format with a plain httpx client (no SDK needed for the embedded default;
the wire itself is read by :mod:`providers.openai_wire`).

Measures TTFT (first content chunk), inter-chunk gaps and E2E (to the last
content chunk) per request, keeps ``reasoning_content`` / ``<think>`` text
apart from the answer, and takes token counts from the server's usage chunk
(``include_usage``). It has no price unless the config gives one.
"""

from __future__ import annotations

from typing import Any

import httpx

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.providers import clients
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.common import StreamClock, prompt_text, think_tags
from pytest_llmbench.providers.openai_wire import stream_chat


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
        return await stream_chat(self.client, self.url, body, model=self.spec.name, clock=clock,
                                 headers=headers, prompt=prompt_text(request.messages))

    async def aclose(self) -> None:
        await clients.release(self._client_key, self.client, lambda c: c.aclose())


def _new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(None),
                             limits=httpx.Limits(max_connections=None, max_keepalive_connections=256))
