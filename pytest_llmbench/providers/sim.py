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
from pytest_llmbench.providers import clients, tool_calling
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.common import StreamClock, headers, prompt_text, think_tags
from pytest_llmbench.providers.openai_wire import stream_chat

WIRES = ("openai", "anthropic", "bedrock")


class SimProvider:
    tool_calling = True

    def __init__(self, spec: ModelSpec, context: dict[str, Any]) -> None:
        base = spec.settings.get("base_url") or context.get("sim_url")
        if not base:
            raise ConfigError(f"{spec.name}: no simulator running (set settings.base_url)")
        self.spec = spec
        self.base = str(base).rstrip("/")
        self.wire = str(spec.settings.get("wire", "openai"))
        if self.wire not in WIRES:
            raise ConfigError(f"{spec.name}: settings.wire must be one of {', '.join(WIRES)}")
        self._tool_client: Any = None
        self.think_tags = think_tags(spec)
        self.url = str(base).rstrip("/") + "/v1/chat/completions"
        self._client_key = ("sim", str(base))
        self.client: httpx.AsyncClient = clients.acquire(self._client_key, _new_client)

    async def complete(self, request: ChatRequest) -> Completion:
        if request.tools is not None:
            return await self._tools(request)
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

    async def _tools(self, request: ChatRequest) -> Completion:
        """Tool calls speak ``settings.wire`` through that API's official SDK (the
        simulator serves all three), so each wire's tool format is exercised for real."""
        if self._tool_client is None:
            self._tool_client = _sdk_client(self.wire, self.base, self.spec)
        args = (self._tool_client, self.spec.api_model, self.spec.name, request)
        if self.wire == "anthropic":
            return await tool_calling.anthropic_tools(*args)
        if self.wire == "bedrock":
            return await tool_calling.bedrock_tools_async(*args)
        return await tool_calling.openai_tools(*args)

    async def aclose(self) -> None:
        await clients.release(self._client_key, self.client, lambda c: c.aclose())
        client, self._tool_client = self._tool_client, None
        if client is not None:
            result = client.close()
            if hasattr(result, "__await__"):
                await result


def _sdk_client(wire: str, base: str, spec: ModelSpec) -> Any:
    timeout = float(spec.settings.get("timeout", 600))
    if wire == "anthropic":
        import anthropic  # noqa: PLC0415

        return anthropic.AsyncAnthropic(api_key="sim", base_url=base, max_retries=0,
                                        timeout=timeout, default_headers=headers(spec))
    if wire == "bedrock":
        import boto3  # noqa: PLC0415
        from botocore.config import Config  # noqa: PLC0415

        config = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                        read_timeout=timeout, connect_timeout=10)
        return boto3.session.Session(aws_access_key_id="sim", aws_secret_access_key="sim").client(
            "bedrock-runtime", region_name="us-east-1", config=config, endpoint_url=base)
    import openai  # noqa: PLC0415

    return openai.AsyncOpenAI(api_key="sim", base_url=base + "/v1", max_retries=0,
                              timeout=timeout, default_headers=headers(spec))


def _new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(None),
                             limits=httpx.Limits(max_connections=None, max_keepalive_connections=256))
