"""Requests with tools: native tool calling over each provider's streaming wire format.

A :class:`ChatRequest` with ``tools`` (neutral function specs: name, description, JSON
schema ``parameters``) carries a conversation in one neutral shape (OpenAI-like dicts:
assistant ``tool_calls`` of ``{id, name, arguments}``, ``tool`` messages with
``tool_call_id``), translated here per call into OpenAI Chat Completions (``tools`` /
``tool_calls``), Anthropic Messages (``tool_use`` / ``tool_result`` blocks) or Bedrock
ConverseStream (``toolUse`` / ``toolResult``). The reply is a :class:`Completion` whose
``tool_calls`` holds the calls the model made. Every call is streamed and measured like
plain calls (TTFT at the first output of text or tool arguments, E2E at the last byte,
usage from the server); retries, limits, budget, price and cache are the engine's.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.errors import ProtocolError
from pytest_llmbench.providers import common
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.providers.errors_map import classify

DEFAULT_MAX_TOKENS = 4096


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

    def finish(self, calls: list[dict[str, str]], stop: str | None, input_tokens: int | None,
               output_tokens: int | None, usage: dict[str, Any] | None,
               request: ChatRequest) -> Completion:
        completion = self.clock.finish(input_tokens=input_tokens, output_tokens=output_tokens,
                                       finish=stop, raw_usage=usage,
                                       prompt=common.prompt_text(request.messages))
        completion.text = "".join(self.text)
        completion.tool_calls = calls
        return completion


def _call(call_id: str, name: str, arguments: str) -> dict[str, str]:
    return {"id": call_id, "name": name, "arguments": arguments}


def _check_calls(calls: list[dict[str, str]], model: str) -> None:
    """A tool call without an id or a name cannot be answered: a protocol error."""
    for call in calls:
        if not call["id"] or not call["name"]:
            raise ProtocolError(f"a tool call without its {'id' if not call['id'] else 'name'}: "
                                f"{call!r}", model=model)


# -- OpenAI Chat Completions -------------------------------------------------------------

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


async def openai_tools(client: Any, api_model: str, model: str,
                       request: ChatRequest) -> Completion:
    """Chat Completions with ``tools`` through the async OpenAI client; tool call deltas
    assembled by index."""
    tools = [{"type": "function", "function": spec} for spec in request.tools or ()]
    clock = _Clock()
    parts: dict[int, dict[str, str]] = {}
    usage: dict[str, Any] | None = None
    finish = None
    try:
        stream = await client.chat.completions.create(
            model=api_model, messages=to_openai(request.messages), tools=tools, stream=True,
            stream_options={"include_usage": True}, **request.params)
        async for chunk in stream:
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
        raise classify(exc, model) from exc
    if finish is None:
        raise common.unfinished(model, 1 if parts or clock.text else 0, "finish_reason")
    calls = [_call(p["id"] or f"call_{i}", p["name"], p["args"]) for i, p in sorted(parts.items())]
    _check_calls(calls, model)
    return clock.finish(calls, finish, usage.get("prompt_tokens") if usage else None,
                        usage.get("completion_tokens") if usage else None, usage, request)


# -- Anthropic Messages ------------------------------------------------------------------

def _json_object(text: str) -> Any:
    """Tool input for formats that carry it as an object: the parsed JSON, or (malformed
    arguments from an earlier turn) the raw text wrapped, so the history stays sendable."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_raw": text}


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


async def anthropic_tools(client: Any, api_model: str, model: str,
                          request: ChatRequest) -> Completion:
    """Messages with ``tools`` through the async Anthropic client; ``input_json_delta``
    pieces assembled per block."""
    system, turns = to_anthropic(request.messages)
    params = dict(request.params)
    max_tokens = int(params.pop("max_tokens", None) or DEFAULT_MAX_TOKENS)
    tools = [{"name": s["name"], "description": s["description"],
              "input_schema": s["parameters"]} for s in request.tools or ()]
    clock = _Clock()
    blocks: dict[int, dict[str, str]] = {}
    usage: dict[str, Any] = {}
    stop = None
    finished = False
    try:
        stream = await client.messages.create(
            model=api_model, messages=turns, tools=tools, max_tokens=max_tokens, stream=True,
            **({"system": system} if system else {}), **params)
        async for event in stream:
            kind = event.type
            finished = finished or kind == "message_stop"
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
            else:
                stop = common.anthropic_usage_event(kind, event, usage, stop)
    except Exception as exc:  # noqa: BLE001
        raise classify(exc, model) from exc
    if not finished:
        raise common.unfinished(model, 1 if blocks or clock.text else 0, "message_stop event")
    calls = [_call(b["id"], b["name"], b["args"] or "{}") for _, b in sorted(blocks.items())]
    _check_calls(calls, model)
    return clock.finish(calls, stop, usage.get("input_tokens"), usage.get("output_tokens"),
                        usage or None, request)


# -- Bedrock ConverseStream --------------------------------------------------------------

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


def bedrock_tools(client: Any, api_model: str, model: str, request: ChatRequest) -> Completion:
    """ConverseStream with ``toolConfig`` (boto3 is synchronous: run it on a worker thread,
    where the bytes arrive); ``toolUse`` input pieces assembled per block."""
    system, turns = to_bedrock(request.messages)
    kwargs: dict[str, Any] = {
        "modelId": api_model, "messages": turns,
        "toolConfig": {"tools": [{"toolSpec": {
            "name": s["name"], "description": s["description"],
            "inputSchema": {"json": s["parameters"]}}} for s in request.tools or ()]}}
    if system:
        kwargs["system"] = [{"text": system}]
    params = dict(request.params)
    inference = {k2: params.pop(k) for k, k2 in (("max_tokens", "maxTokens"),
                                                   ("temperature", "temperature")) if k in params}
    if inference:
        kwargs["inferenceConfig"] = inference
    clock = _Clock()
    blocks: dict[int, dict[str, str]] = {}
    usage: dict[str, Any] | None = None
    stop = None
    try:
        response = client.converse_stream(**kwargs)
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
        raise classify(exc, model) from exc
    if stop is None:
        raise common.unfinished(model, 1 if blocks or clock.text else 0, "messageStop event")
    calls = [_call(b["id"], b["name"], b["args"] or "{}") for _, b in sorted(blocks.items())]
    _check_calls(calls, model)
    return clock.finish(calls, stop, usage.get("inputTokens") if usage else None,
                        usage.get("outputTokens") if usage else None, usage, request)


async def bedrock_tools_async(client: Any, api_model: str, model: str, request: ChatRequest,
                              executor: Any = None) -> Completion:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, bedrock_tools, client, api_model, model,
                                      request)
