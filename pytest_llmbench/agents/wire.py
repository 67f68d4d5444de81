"""Native tool calling, one streamed call per turn, in each provider's wire format.

OpenAI Chat Completions (``tools`` / ``tool_calls``), Anthropic Messages (``tool_use`` /
``tool_result`` blocks) and Bedrock ConverseStream (``toolUse`` / ``toolResult``), each
through its official SDK's synchronous client (the loop is sequential, and a thread per
item is what pytest gives us). Every call is streamed and measured like the providers'
(:class:`providers.common.StreamClock`: TTFT at the first output of text or tool
arguments, E2E at the last byte, usage from the server), priced, and retried on
transient errors by the run's retry policy. The transcript is kept in one neutral shape
(OpenAI-like dicts) and translated per call.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from pytest_llmbench.agents.tools import SPECS, ToolCall
from pytest_llmbench.calls.pricing import call_cost
from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError, LLMBenchError, ProviderError
from pytest_llmbench.providers import common
from pytest_llmbench.providers.base import Completion
from pytest_llmbench.providers.errors_map import classify

WIRES = ("openai", "anthropic", "bedrock")
DEFAULT_MAX_TOKENS = 4096


@dataclass
class Turn:
    """One model call's reply: its text, its tool calls and how the call went."""

    text: str
    tool_calls: list[ToolCall]
    completion: Completion
    stop: str | None = None
    retries: int = 0


class ToolModel(Protocol):
    spec: ModelSpec

    def step(self, messages: list[dict[str, Any]]) -> Turn: ...

    def close(self) -> None: ...


@dataclass
class _Clock:
    """A StreamClock where tool arguments count as output (for TTFT and gaps) but not as
    the reply's text."""

    clock: common.StreamClock = field(default_factory=common.StreamClock)
    text: list[str] = field(default_factory=list)

    def out(self, piece: str, is_text: bool) -> None:
        if piece:
            self.clock.token(piece)
            if is_text:
                self.text.append(piece)


def wire_of(spec: ModelSpec) -> str:
    """Which format a model speaks: its provider's, or ``settings.wire`` for ``sim:``."""
    if spec.provider == "anthropic":
        return "anthropic"
    if spec.provider == "bedrock":
        return "bedrock"
    if spec.provider == "sim":
        wire = str(spec.settings.get("wire", "openai"))
        if wire not in WIRES:
            raise ConfigError(f"{spec.name}: settings.wire must be one of {', '.join(WIRES)}")
        return wire
    if spec.provider in ("vertex", "inproc"):
        raise ConfigError(f"{spec.name}: agent tasks need native tool calling "
                          "(openai-compatible, anthropic, bedrock or sim models)")
    return "openai"


def make_tool_model(spec: ModelSpec, context: dict[str, Any], retry: RetryPolicy,
                    timeout_s: float) -> ToolModel:
    wire = wire_of(spec)
    base_url = spec.settings.get("base_url")
    if spec.provider == "sim" and not base_url:
        base_url = context.get("sim_url")
        if not base_url:
            raise ConfigError(f"{spec.name}: no simulator running (set settings.base_url)")
    cls = {"openai": OpenAIToolModel, "anthropic": AnthropicToolModel,
           "bedrock": BedrockToolModel}[wire]
    return cls(spec, base_url, retry.for_model(spec), timeout_s)


class _Base:
    def __init__(self, spec: ModelSpec, base_url: str | None, retry: RetryPolicy,
                 timeout_s: float) -> None:
        self.spec = spec
        self.retry = retry
        self.timeout_s = timeout_s
        self.sim = spec.provider == "sim"
        self.client = self._client(base_url)

    def _client(self, base_url: str | None) -> Any:
        raise NotImplementedError

    def _call(self, messages: list[dict[str, Any]]) -> Turn:
        raise NotImplementedError

    def step(self, messages: list[dict[str, Any]]) -> Turn:
        attempt = 0
        while True:
            attempt += 1
            try:
                turn = self._call(messages)
            except LLMBenchError as exc:
                error = exc if isinstance(exc, ProviderError) else ProviderError(
                    str(exc), model=self.spec.name)
                delay = self.retry.delay(error, attempt) if isinstance(error, ProviderError) \
                    else None
                if delay is None:
                    error.attempts = attempt
                    raise error from None
                time.sleep(delay)
                continue
            turn.completion.attempts = attempt
            turn.completion.cost_usd = call_cost(self.spec, turn.completion)
            return turn

    def _params(self) -> dict[str, Any]:
        return dict(self.spec.params)

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            close()


def _finish(clock: _Clock, calls: list[ToolCall], stop: str | None, input_tokens: int | None,
            output_tokens: int | None, usage: dict[str, Any] | None, prompt: str) -> Turn:
    completion = clock.clock.finish(input_tokens=input_tokens, output_tokens=output_tokens,
                                    finish=stop, raw_usage=usage, prompt=prompt)
    completion.text = "".join(clock.text)
    return Turn(completion.text, calls, completion, stop)


def _prompt(messages: list[dict[str, Any]]) -> str:
    return " ".join(str(m.get("content") or "") for m in messages)


class OpenAIToolModel(_Base):
    """Chat Completions with ``tools``; tool call deltas assembled by index."""

    def _client(self, base_url: str | None) -> Any:
        import openai  # noqa: PLC0415

        from pytest_llmbench.providers.hosts import HOSTS, base_url_for  # noqa: PLC0415

        if self.sim:
            key, url = "sim", str(base_url).rstrip("/") + "/v1"
        else:
            host = HOSTS.get(self.spec.provider)
            if host is None:
                raise ConfigError(f"{self.spec.name}: agent tasks support OpenAI-compatible "
                                  "hosts, anthropic, bedrock and sim")
            key = common.api_key(self.spec, host.key_env, required=not host.local)
            url = base_url_for(self.spec.provider, self.spec.settings)  # type: ignore[assignment]
        return openai.OpenAI(api_key=key, base_url=url, max_retries=0, timeout=self.timeout_s,
                             default_headers=common.headers(self.spec))

    def _call(self, messages: list[dict[str, Any]]) -> Turn:
        tools = [{"type": "function", "function": spec} for spec in SPECS]
        clock = _Clock()
        parts: dict[int, dict[str, str]] = {}
        usage: dict[str, Any] | None = None
        finish = None
        try:
            stream = self.client.chat.completions.create(
                model=self.spec.api_model, messages=to_openai(messages), tools=tools,
                stream=True, stream_options={"include_usage": True}, **self._params())
            for chunk in stream:
                if chunk.usage is not None:
                    usage = chunk.usage.model_dump()
                for choice in chunk.choices or ():
                    delta = choice.delta
                    if delta is not None:
                        if delta.content:
                            clock.out(delta.content, True)
                        for tc in delta.tool_calls or ():
                            part = parts.setdefault(tc.index, {"id": "", "name": "", "args": ""})
                            if tc.id:
                                part["id"] = tc.id
                            if tc.function is not None:
                                if tc.function.name:
                                    part["name"] += tc.function.name
                                if tc.function.arguments:
                                    part["args"] += tc.function.arguments
                                    clock.out(tc.function.arguments, False)
                    finish = choice.finish_reason or finish
        except Exception as exc:  # noqa: BLE001 - every SDK error becomes one classified line
            raise classify(exc, self.spec.name) from exc
        calls = [ToolCall(p["id"] or f"call_{i}", p["name"], p["args"])
                 for i, p in sorted(parts.items())]
        return _finish(clock, calls, finish, usage.get("prompt_tokens") if usage else None,
                       usage.get("completion_tokens") if usage else None, usage,
                       _prompt(messages))


def to_openai(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if m["role"] == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": m.get("content") or None}
            if m.get("tool_calls"):
                msg["tool_calls"] = [{"id": c["id"], "type": "function", "function": {
                    "name": c["name"], "arguments": c["arguments"]}} for c in m["tool_calls"]]
            out.append(msg)
        elif m["role"] == "tool":
            out.append({"role": "tool", "tool_call_id": m["tool_call_id"],
                        "content": m["content"]})
        else:
            out.append({"role": m["role"], "content": m["content"]})
    return out


def _json_object(text: str) -> Any:
    """Tool input for formats that carry it as an object: the parsed JSON, or (malformed
    arguments from an earlier turn) the raw text wrapped, so the history stays sendable."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_raw": text}


class AnthropicToolModel(_Base):
    """Messages with ``tools``; ``input_json_delta`` pieces assembled per block."""

    def _client(self, base_url: str | None) -> Any:
        import anthropic  # noqa: PLC0415

        if self.sim:
            key: str | None = "sim"
        else:
            key = self.spec.settings.get("api_key") or os.environ.get("ANTHROPIC_API_KEY")
            if not key:
                key = common.api_key(self.spec, "ANTHROPIC_API_KEY", required=True)
        url = base_url or os.environ.get("ANTHROPIC_BASE_URL")
        return anthropic.Anthropic(api_key=key, base_url=url or None, max_retries=0,
                                   timeout=self.timeout_s, default_headers=common.headers(self.spec))

    def _call(self, messages: list[dict[str, Any]]) -> Turn:
        system, turns = to_anthropic(messages)
        params = self._params()
        max_tokens = int(params.pop("max_tokens", None) or DEFAULT_MAX_TOKENS)
        tools = [{"name": s["name"], "description": s["description"],
                  "input_schema": s["parameters"]} for s in SPECS]
        clock = _Clock()
        blocks: dict[int, dict[str, str]] = {}
        usage: dict[str, Any] = {}
        stop = None
        try:
            stream = self.client.messages.create(
                model=self.spec.api_model, messages=turns, tools=tools, max_tokens=max_tokens,
                stream=True, **({"system": system} if system else {}), **params)
            for event in stream:
                kind = event.type
                if kind == "content_block_start" and event.content_block.type == "tool_use":
                    block = event.content_block
                    blocks[event.index] = {"id": block.id, "name": block.name, "args": ""}
                elif kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta":
                        clock.out(delta.text, True)
                    elif delta.type == "input_json_delta" and event.index in blocks:
                        blocks[event.index]["args"] += delta.partial_json
                        clock.out(delta.partial_json, False)
                elif kind == "message_start":
                    usage.update(event.message.usage.model_dump(exclude_none=True))
                elif kind == "message_delta":
                    stop = event.delta.stop_reason or stop
                    if event.usage is not None:
                        usage.update(event.usage.model_dump(exclude_none=True))
        except Exception as exc:  # noqa: BLE001
            raise classify(exc, self.spec.name) from exc
        calls = [ToolCall(b["id"], b["name"], b["args"] or "{}") for _, b in sorted(blocks.items())]
        return _finish(clock, calls, stop, usage.get("input_tokens"), usage.get("output_tokens"),
                       usage or None, _prompt(messages))


def to_anthropic(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system") or None
    out: list[dict[str, Any]] = []
    for m in messages:
        if m["role"] == "assistant":
            content: list[dict[str, Any]] = []
            if m.get("content"):
                content.append({"type": "text", "text": m["content"]})
            for c in m.get("tool_calls") or ():
                content.append({"type": "tool_use", "id": c["id"], "name": c["name"],
                                "input": _json_object(c["arguments"])})
            out.append({"role": "assistant", "content": content or [{"type": "text",
                                                                     "text": "(no reply)"}]})
        elif m["role"] == "tool":
            block = {"type": "tool_result", "tool_use_id": m["tool_call_id"],
                     "content": m["content"] or "(no output)", "is_error": bool(m.get("error"))}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif m["role"] == "user":
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append({"type": "text", "text": m["content"]})
            else:
                out.append({"role": "user", "content": [{"type": "text", "text": m["content"]}]})
    return system, out


class BedrockToolModel(_Base):
    """ConverseStream with ``toolConfig``; ``toolUse`` input pieces assembled per block."""

    def _client(self, base_url: str | None) -> Any:
        import boto3  # noqa: PLC0415
        from botocore.config import Config  # noqa: PLC0415

        settings = self.spec.settings
        region = (settings.get("region") or os.environ.get("AWS_REGION")
                  or os.environ.get("AWS_DEFAULT_REGION") or ("us-east-1" if self.sim else None))
        if not region:
            raise ConfigError(f"{self.spec.name}: set AWS_REGION (or region in llmbench.yaml)")
        creds: dict[str, Any] = {}
        if self.sim:
            creds = {"aws_access_key_id": "sim", "aws_secret_access_key": "sim"}
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                        read_timeout=self.timeout_s, connect_timeout=10)
        return boto3.session.Session(**creds).client(
            "bedrock-runtime", region_name=region, config=config,
            endpoint_url=base_url or settings.get("endpoint_url"))

    def _call(self, messages: list[dict[str, Any]]) -> Turn:
        system, turns = to_bedrock(messages)
        kwargs: dict[str, Any] = {
            "modelId": self.spec.api_model, "messages": turns,
            "toolConfig": {"tools": [{"toolSpec": {
                "name": s["name"], "description": s["description"],
                "inputSchema": {"json": s["parameters"]}}} for s in SPECS]}}
        if system:
            kwargs["system"] = [{"text": system}]
        params = self._params()
        inference = {k2: params.pop(k) for k, k2 in (("max_tokens", "maxTokens"),
                                                       ("temperature", "temperature"))
                     if k in params}
        if inference:
            kwargs["inferenceConfig"] = inference
        clock = _Clock()
        blocks: dict[int, dict[str, str]] = {}
        usage: dict[str, Any] | None = None
        stop = None
        try:
            response = self.client.converse_stream(**kwargs)
            for event in response["stream"]:
                if "contentBlockStart" in event:
                    start = event["contentBlockStart"]
                    use = (start.get("start") or {}).get("toolUse")
                    if use:
                        blocks[start["contentBlockIndex"]] = {"id": use["toolUseId"],
                                                              "name": use["name"], "args": ""}
                elif "contentBlockDelta" in event:
                    body = event["contentBlockDelta"]
                    delta = body.get("delta", {})
                    if delta.get("text"):
                        clock.out(delta["text"], True)
                    elif "toolUse" in delta and body.get("contentBlockIndex") in blocks:
                        piece = delta["toolUse"].get("input", "")
                        blocks[body["contentBlockIndex"]]["args"] += piece
                        clock.out(piece, False)
                elif "messageStop" in event:
                    stop = event["messageStop"].get("stopReason")
                elif "metadata" in event:
                    usage = dict(event["metadata"].get("usage") or {}) or None
        except Exception as exc:  # noqa: BLE001
            raise classify(exc, self.spec.name) from exc
        calls = [ToolCall(b["id"], b["name"], b["args"] or "{}") for _, b in sorted(blocks.items())]
        return _finish(clock, calls, stop, usage.get("inputTokens") if usage else None,
                       usage.get("outputTokens") if usage else None, usage, _prompt(messages))


def to_bedrock(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system") or None
    out: list[dict[str, Any]] = []

    def user_block(block: dict[str, Any]) -> None:
        if out and out[-1]["role"] == "user":
            out[-1]["content"].append(block)
        else:
            out.append({"role": "user", "content": [block]})

    for m in messages:
        if m["role"] == "assistant":
            content: list[dict[str, Any]] = []
            if m.get("content"):
                content.append({"text": m["content"]})
            for c in m.get("tool_calls") or ():
                content.append({"toolUse": {"toolUseId": c["id"], "name": c["name"],
                                            "input": _json_object(c["arguments"])}})
            out.append({"role": "assistant", "content": content or [{"text": "(no reply)"}]})
        elif m["role"] == "tool":
            user_block({"toolResult": {"toolUseId": m["tool_call_id"],
                                       "content": [{"text": m["content"] or "(no output)"}],
                                       "status": "error" if m.get("error") else "success"}})
        elif m["role"] == "user":
            user_block({"text": m["content"]})
    return system, out
