"""Scripted agent models: tool calling in the OpenAI (Chat Completions and Responses),
Anthropic and Bedrock wire formats.

A generation request that offers tools (``tools`` / ``toolConfig``) to a simulated model
is answered by a script instead of text. The script is found by the conversation's first
user message (the task's instruction): the plugin posts each bundled task's
``solution.yaml`` with its instruction to ``POST /llmbench/agent-solutions`` once it has
collected the task suites, and the simulator matches an instruction contained in that
message. The reply is stateless: step *n* of the script, where *n* is the number of
assistant turns already in the history; past the end of the script, ``finish``.

- ``flail`` models (``sim:flailer``) never finish: they list files forever, so the loop
  ends at its turn limit.
- every other model follows the script; with no script for the instruction it finishes
  at once, having done nothing (an honest failure).

A script step is ``{tool: NAME, args: {...}}`` or ``{tool: NAME, raw_arguments: "..."}``
(sent as is, to exercise malformed arguments), optionally with ``text:``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from pytest_llmbench.sim import eventstream, responses_api
from pytest_llmbench.sim.prompt import text_of
from pytest_llmbench.sim.tokens import count_tokens

FLAIL_COMMANDS = ("ls -la", "cat README.md", "grep -rn TODO . | head", "pwd", "ls -R | head")


class ScriptError(ValueError):
    pass


@dataclass
class AgentScripts:
    """Solutions by instruction text (what the plugin posted)."""

    scripts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add_many(self, entries: Any) -> int:
        if not isinstance(entries, list):
            raise ScriptError("expected a JSON list of {instruction, steps}")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("instruction"), str) \
                    or not isinstance(entry.get("steps"), list):
                raise ScriptError(f"entry {i}: expected {{instruction: str, steps: list}}")
            for j, step in enumerate(entry["steps"]):
                if not isinstance(step, dict) or not isinstance(step.get("tool"), str):
                    raise ScriptError(f"entry {i} step {j}: expected {{tool: NAME, args: {{}}}}")
            self.scripts[entry["instruction"].strip()] = entry["steps"]
        return len(entries)

    def find(self, first_user: str) -> list[dict[str, Any]] | None:
        best = None
        for instruction, steps in self.scripts.items():
            if instruction and instruction in first_user and (
                    best is None or len(instruction) > len(best[0])):
                best = (instruction, steps)
        return best[1] if best else None


def wants_tools(kind: str, body: bytes) -> dict[str, Any] | None:
    """The parsed body when it offers tools (an agent request), else None."""
    if b'"tools"' not in body and b'"toolConfig"' not in body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    key = "toolConfig" if kind == "bedrock" else "tools"
    return data if data.get(key) else None


def _history(data: dict[str, Any]) -> tuple[str, int, int]:
    """(first user text, assistant turns so far, input tokens) of a request (a Responses
    API ``input`` counts as the messages it stands for)."""
    messages = data.get("messages") or []
    if "input" in data and "messages" not in data:
        messages = responses_api.messages_of(data)
    first_user, turns, tokens = "", 0, 0
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        text = text_of(message.get("content"))
        tokens += count_tokens(text) if text else 0
        if message.get("role") == "user" and not first_user and text:
            first_user = text
        if message.get("role") == "assistant":
            turns += 1
    return first_user, turns, tokens + 50


def next_action(policy: str, scripts: AgentScripts, data: dict[str, Any]
                ) -> tuple[str, str, str, int]:
    """(text, tool name, raw JSON arguments, input tokens) of the next turn."""
    first_user, turns, tokens = _history(data)
    if policy == "flail":
        command = FLAIL_COMMANDS[turns % len(FLAIL_COMMANDS)]
        return "Let me look around.", "run_command", json.dumps({"command": command}), tokens
    steps = scripts.find(first_user)
    if steps is None:
        return ("I have no plan for this task.", "finish",
                json.dumps({"summary": "no solution script"}), tokens)
    if turns >= len(steps):
        return "Done.", "finish", json.dumps({"summary": "followed the script"}), tokens
    step = steps[turns]
    raw = step.get("raw_arguments")
    args = raw if isinstance(raw, str) else json.dumps(step.get("args") or {})
    return str(step.get("text", "")), step["tool"], args, tokens


def _pieces(text: str) -> list[str]:
    """Arguments streamed in a few pieces, as real servers split them."""
    if len(text) < 8:
        return [text]
    third = len(text) // 3
    return [text[:third], text[third:2 * third], text[2 * third:]]


def openai_stream(model: str, text: str, name: str, args: str, n_in: int, n_out: int) -> bytes:
    cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"

    def chunk(delta: dict[str, Any] | None, finish: str | None = None,
              usage: dict[str, Any] | None = None) -> bytes:
        body: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": 0,
                                "model": model, "choices": [] if delta is None else [
                                    {"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage is not None:
            body["usage"] = usage
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    call_id = f"call_{uuid.uuid4().hex[:20]}"
    out = chunk({"role": "assistant", "content": text or None})
    out += chunk({"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                                  "function": {"name": name, "arguments": ""}}]})
    for piece in _pieces(args):
        out += chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
    out += chunk({}, "tool_calls")
    out += chunk(None, usage={"prompt_tokens": n_in, "completion_tokens": n_out,
                              "total_tokens": n_in + n_out})
    return out + b"data: [DONE]\n\n"


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: ".encode() + json.dumps(data).encode() + b"\n\n"


def anthropic_stream(model: str, text: str, name: str, args: str, n_in: int,
                     n_out: int) -> bytes:
    message: dict[str, Any] = {"id": f"msg_01sim{uuid.uuid4().hex[:16]}", "type": "message",
               "role": "assistant", "model": model, "content": [], "stop_reason": None,
               "stop_sequence": None, "usage": {"input_tokens": n_in, "output_tokens": 1}}
    out = _event("message_start", {"type": "message_start", "message": message})
    index = 0
    if text:
        out += _event("content_block_start", {"type": "content_block_start", "index": 0,
                                              "content_block": {"type": "text", "text": ""}})
        out += _event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "text_delta", "text": text}})
        out += _event("content_block_stop", {"type": "content_block_stop", "index": 0})
        index = 1
    out += _event("content_block_start", {
        "type": "content_block_start", "index": index,
        "content_block": {"type": "tool_use", "id": f"toolu_01{uuid.uuid4().hex[:20]}",
                          "name": name, "input": {}}})
    for piece in _pieces(args):
        out += _event("content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "input_json_delta",
                                                        "partial_json": piece}})
    out += _event("content_block_stop", {"type": "content_block_stop", "index": index})
    out += _event("message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                                    "usage": {"output_tokens": n_out}})
    return out + _event("message_stop", {"type": "message_stop"})


def bedrock_stream(text: str, name: str, args: str, n_in: int, n_out: int) -> bytes:
    out = eventstream.event("messageStart", {"role": "assistant"})
    index = 0
    if text:
        out += eventstream.event("contentBlockDelta", {"contentBlockIndex": 0,
                                                       "delta": {"text": text}})
        out += eventstream.event("contentBlockStop", {"contentBlockIndex": 0})
        index = 1
    out += eventstream.event("contentBlockStart", {
        "contentBlockIndex": index,
        "start": {"toolUse": {"toolUseId": f"tooluse_{uuid.uuid4().hex[:20]}", "name": name}}})
    for piece in _pieces(args):
        out += eventstream.event("contentBlockDelta", {"contentBlockIndex": index,
                                                       "delta": {"toolUse": {"input": piece}}})
    out += eventstream.event("contentBlockStop", {"contentBlockIndex": index})
    out += eventstream.event("messageStop", {"stopReason": "tool_use"})
    return out + eventstream.event("metadata", {
        "usage": {"inputTokens": n_in, "outputTokens": n_out, "totalTokens": n_in + n_out},
        "metrics": {"latencyMs": 1}})


def respond(kind: str, model: str, policy: str, scripts: AgentScripts,
            data: dict[str, Any]) -> tuple[bytes, bytes]:
    """(content type, body) of one scripted agent turn: a stream, except a Responses API
    request without ``stream`` (answered with a response object)."""
    text, name, args, n_in = next_action(policy, scripts, data)
    n_out = max(1, count_tokens(text + " " + name + " " + args))
    if kind == "responses":
        echoed = {k: data[k] for k in responses_api.ECHOED if k in data}
        body, _ = responses_api.agent_body(model, text, name, args, n_in, n_out, echoed)
        if not data.get("stream"):
            return b"application/json", json.dumps(body).encode()
        return b"text/event-stream; charset=utf-8", responses_api.agent_stream(body,
                                                                              _pieces(args))
    if kind == "openai":
        return b"text/event-stream; charset=utf-8", openai_stream(model, text, name, args,
                                                                   n_in, n_out)
    if kind == "anthropic":
        return b"text/event-stream; charset=utf-8", anthropic_stream(model, text, name, args,
                                                                      n_in, n_out)
    return b"application/vnd.amazon.eventstream", bedrock_stream(text, name, args, n_in, n_out)
