"""OpenAI Responses API on the wire (``POST /v1/responses``): parsing, bodies, SSE events.

Tools whose default OpenAI provider speaks the Responses API (inspect's ``openai/``
models, the Agents SDK) run against the simulator through this module. Shapes follow
``openai/types/responses``: a ``response`` object whose ``output`` holds a ``message``
item (``output_text`` parts), a ``reasoning`` item before it when the model thinks, or
``function_call`` items from the scripted agents; streams are SSE with an ``event:`` line
and a ``sequence_number`` on every event, ending with ``response.completed`` (or
``response.incomplete`` when ``max_output_tokens`` cut the answer), with no ``[DONE]``.
Errors use the Chat Completions envelope (:func:`openai_api.error_response`).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from pytest_llmbench.sim.openai_api import api_key, error_response
from pytest_llmbench.sim.prompt import flatten, text_of
from pytest_llmbench.sim.respond import Headers
from pytest_llmbench.sim.state import CASE_HEADER, FAULT_HEADER, Plan, SimError, SimRequest, sample_of

ECHOED = ("instructions", "max_output_tokens", "temperature", "top_p", "tools", "tool_choice",
          "metadata", "previous_response_id", "store", "parallel_tool_calls")
"""Request fields the response object repeats, as the real API does."""


def load(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SimError("bad_request",
                       f"We could not parse the JSON body of your request: {exc}") from exc
    if not isinstance(data, dict):
        raise SimError("bad_request", "the request body must be a JSON object")
    return data


def messages_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``input`` as chat-style messages: a string is one user message; message items
    keep their role; ``function_call`` items join the assistant turn before them (one
    assistant message per model turn) and ``function_call_output`` items are tool messages.
    Other items (reasoning, images) carry no prompt text and are skipped."""
    given = data.get("input")
    if isinstance(given, str):
        return [{"role": "user", "content": given}]
    if not isinstance(given, list) or not given:
        raise SimError("bad_request", "input: expected a string or a non-empty list of items",
                       param="input")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(given):
        if not isinstance(item, dict):
            raise SimError("bad_request", f"input[{i}]: expected an object", param="input")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if not isinstance(role, str):
                raise SimError("bad_request", f"input[{i}].role: required", param="input")
            text = text_of(item.get("content"))
            if role == "assistant" and out and out[-1]["role"] == "assistant":
                out[-1]["content"] = "\n".join(t for t in (out[-1]["content"], text) if t)
            else:
                out.append({"role": role, "content": text})
        elif kind == "function_call":
            call = f"{item.get('name', '')}({item.get('arguments', '')})"
            if out and out[-1]["role"] == "assistant":
                out[-1]["content"] = "\n".join(t for t in (out[-1]["content"], call) if t)
            else:
                out.append({"role": "assistant", "content": call})
        elif kind == "function_call_output":
            output = item.get("output")
            out.append({"role": "tool", "content": output if isinstance(output, str)
                        else text_of(output)})
    if not out:
        raise SimError("bad_request", "input: no message items", param="input")
    return out


def parse_responses(headers: Any, body: bytes) -> SimRequest:
    """A ``SimRequest`` from a Responses API body; ``SimError`` if malformed."""
    data = load(body)
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise SimError("bad_request", "you must provide a model parameter", param="model")
    instructions = data.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise SimError("bad_request", "instructions: expected a string", param="instructions")
    prompt, echo, input_tokens = flatten(messages_of(data), instructions)
    max_tokens = data.get("max_output_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool)
                                   or max_tokens < 1):
        raise SimError("bad_request", "max_output_tokens must be a positive integer",
                       param="max_output_tokens")
    return SimRequest(
        model=model, prompt=prompt, echo=echo, input_tokens=input_tokens, max_tokens=max_tokens,
        stream=bool(data.get("stream")), api_key=api_key(headers),
        case_id=headers.get(CASE_HEADER), forced_fault=headers.get(FAULT_HEADER),
        sample=sample_of(headers), echoed={k: data[k] for k in ECHOED if k in data},
    )


def response_object(rid: str, model: str, created: int, status: str, output: list[Any],
                    usage: dict[str, Any] | None, echoed: dict[str, Any]) -> dict[str, Any]:
    """A ``response`` object; ``usage`` is None until the response is done."""
    return {
        "id": rid, "object": "response", "created_at": created, "status": status,
        "background": False, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": echoed.get("instructions"),
        "max_output_tokens": echoed.get("max_output_tokens"), "model": model, "output": output,
        "parallel_tool_calls": echoed.get("parallel_tool_calls", True),
        "previous_response_id": echoed.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None}, "service_tier": "default",
        "store": echoed.get("store", True), "temperature": echoed.get("temperature", 1.0),
        "text": {"format": {"type": "text"}}, "tool_choice": echoed.get("tool_choice", "auto"),
        "tools": echoed.get("tools", []), "top_p": echoed.get("top_p", 1.0),
        "truncation": "disabled", "user": None, "metadata": echoed.get("metadata") or {},
        "usage": usage,
    }


def usage_of(n_in: int, n_out: int, reasoning: int = 0) -> dict[str, Any]:
    return {"input_tokens": n_in, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": n_out, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": n_in + n_out}


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(mid: str, status: str, text: str | None) -> dict[str, Any]:
    """An assistant ``message`` item; ``text`` None gives no content part yet."""
    return {"id": mid, "type": "message", "status": status, "role": "assistant",
            "content": [] if text is None else [_text_part(text)]}


def _reasoning_item(rid: str, status: str, text: str | None) -> dict[str, Any]:
    content = [] if text is None else [{"type": "reasoning_text", "text": text}]
    return {"id": rid, "type": "reasoning", "status": status, "summary": [],
            "content": content}


class Events:
    """SSE events of one response, numbered in order (``sequence_number``)."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, kind: str, /, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        return f"event: {kind}\ndata: ".encode() + json.dumps(data).encode() + b"\n\n"


class ResponsesWire:
    """Bytes for one Responses API response, streamed or not."""

    stream_content_type = b"text/event-stream; charset=utf-8"

    def __init__(self, plan: Plan | None) -> None:
        self.request_id = f"req_{plan.request_id}" if plan else "req_error"
        if plan is None:
            return
        self.id = f"resp_{plan.request_id}"
        self.msg_id = f"msg_{plan.request_id}"
        self.rs_id = f"rs_{plan.request_id}"
        self.created = int(time.time())
        self.model = plan.request.model
        self.echoed = plan.request.echoed or {}
        self.event = Events()
        self.thinks = bool(plan.reasoning)
        self.text_index = 1 if self.thinks else 0  # the message item's output_index
        self.message_open = False
        self._delta = (b'event: response.output_text.delta\ndata: {"type":'
                       b'"response.output_text.delta","item_id":"' + self.msg_id.encode()
                       + b'","output_index":%d,"content_index":0,"logprobs":[],'
                       % self.text_index + b'"sequence_number":')
        self._think = (b'event: response.reasoning_text.delta\ndata: {"type":'
                       b'"response.reasoning_text.delta","item_id":"' + self.rs_id.encode()
                       + b'","output_index":0,"content_index":0,"sequence_number":')

    def headers(self) -> Headers:
        return [(b"x-request-id", self.request_id.encode())]

    def _status(self, plan: Plan) -> str:
        return "incomplete" if plan.finish == "length" else "completed"

    def _output(self, plan: Plan) -> list[dict[str, Any]]:
        status = self._status(plan)
        out = [message_item(self.msg_id, status, plan.text)]
        if self.thinks:
            out.insert(0, _reasoning_item(self.rs_id, "completed", plan.reasoning_text))
        return out

    def _response(self, status: str, output: list[Any], plan: Plan | None) -> dict[str, Any]:
        usage = None if plan is None else usage_of(plan.request.input_tokens,
                                                   plan.output_tokens, plan.reasoning)
        return response_object(self.id, self.model, self.created, status, output, usage,
                               self.echoed)

    def complete(self, plan: Plan, latency_s: float) -> bytes:
        return json.dumps(self._response(self._status(plan), self._output(plan), plan)).encode()

    def _open_message(self) -> bytes:
        self.message_open = True
        return (self.event("response.output_item.added", output_index=self.text_index,
                           item=message_item(self.msg_id, "in_progress", None))
                + self.event("response.content_part.added", item_id=self.msg_id,
                             output_index=self.text_index, content_index=0,
                             part=_text_part("")))

    def head(self, plan: Plan) -> bytes:
        started = self._response("in_progress", [], None)
        out = (self.event("response.created", response=started)
               + self.event("response.in_progress", response=started))
        if self.thinks:
            return out + self.event("response.output_item.added", output_index=0,
                                    item=_reasoning_item(self.rs_id, "in_progress", None))
        return out + self._open_message()

    def first(self, plan: Plan) -> bytes:
        return b""

    def token(self, piece: str) -> bytes:
        seq = self.event.seq
        self.event.seq += 1
        return self._delta + b"%d" % seq + b',"delta":' + json.dumps(piece).encode() + b"}\n\n"

    def reasoning(self, piece: str) -> bytes:
        seq = self.event.seq
        self.event.seq += 1
        return self._think + b"%d" % seq + b',"delta":' + json.dumps(piece).encode() + b"}\n\n"

    def _close_reasoning(self, plan: Plan) -> bytes:
        text = plan.reasoning_text
        return (self.event("response.reasoning_text.done", item_id=self.rs_id, output_index=0,
                           content_index=0, text=text)
                + self.event("response.output_item.done", output_index=0,
                             item=_reasoning_item(self.rs_id, "completed", text)))

    def switch(self, plan: Plan) -> bytes:
        """Close the reasoning item and open the message item."""
        return self._close_reasoning(plan) + self._open_message()

    def tail(self, plan: Plan, latency_s: float) -> list[bytes]:
        out = b""
        if not self.message_open:  # a thinking model cut off before it answered
            out += self.switch(plan)
        status = self._status(plan)
        out += (self.event("response.output_text.done", item_id=self.msg_id,
                           output_index=self.text_index, content_index=0, text=plan.text,
                           logprobs=[])
                + self.event("response.content_part.done", item_id=self.msg_id,
                             output_index=self.text_index, content_index=0,
                             part=_text_part(plan.text))
                + self.event("response.output_item.done", output_index=self.text_index,
                             item=message_item(self.msg_id, status, plan.text)))
        final = self._response(status, self._output(plan), plan)
        return [out + self.event(f"response.{status}", response=final)]

    def stream_error(self, plan: Plan) -> bytes:
        message = ("The server had an error while processing your request (injected "
                   "mid-stream fault).")
        failed = self._response("failed", [], None)
        failed["error"] = {"code": "server_error", "message": message}
        return (self.event("error", code="server_error", message=message, param=None)
                + self.event("response.failed", response=failed))

    def error(self, err: SimError, retry_after_s: float) -> tuple[int, Headers, bytes]:
        return error_response(self.headers(), err, retry_after_s)


def agent_body(model: str, text: str, name: str, args: str, n_in: int, n_out: int,
               echoed: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(response object, its output items) of one scripted agent turn: the turn's text as
    a message item (when it says something), then one ``function_call`` item."""
    tag = uuid.uuid4().hex[:24]
    output: list[dict[str, Any]] = []
    if text:
        output.append(message_item(f"msg_{tag}", "completed", text))
    output.append({"id": f"fc_{tag}", "type": "function_call", "status": "completed",
                   "call_id": f"call_{tag[:20]}", "name": name, "arguments": args})
    body = response_object(f"resp_{tag}", model, int(time.time()), "completed", output,
                           usage_of(n_in, n_out), echoed)
    return body, output


def agent_stream(body: dict[str, Any], pieces: list[str]) -> bytes:
    """The events of an agent turn's response; the arguments arrive in ``pieces``."""
    event = Events()
    started = {**body, "status": "in_progress", "output": [], "usage": None}
    out = (event("response.created", response=started)
           + event("response.in_progress", response=started))
    for index, item in enumerate(body["output"]):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            out += (event("response.output_item.added", output_index=index,
                          item={**item, "status": "in_progress", "content": []})
                    + event("response.content_part.added", item_id=item["id"],
                            output_index=index, content_index=0, part=_text_part(""))
                    + event("response.output_text.delta", item_id=item["id"],
                            output_index=index, content_index=0, delta=text, logprobs=[])
                    + event("response.output_text.done", item_id=item["id"],
                            output_index=index, content_index=0, text=text, logprobs=[])
                    + event("response.content_part.done", item_id=item["id"],
                            output_index=index, content_index=0, part=_text_part(text)))
        else:
            out += event("response.output_item.added", output_index=index,
                         item={**item, "status": "in_progress", "arguments": ""})
            for piece in pieces:
                out += event("response.function_call_arguments.delta", item_id=item["id"],
                             output_index=index, delta=piece)
            out += event("response.function_call_arguments.done", item_id=item["id"],
                         output_index=index, name=item["name"], arguments=item["arguments"])
        out += event("response.output_item.done", output_index=index, item=item)
    return out + event("response.completed", response=body)
