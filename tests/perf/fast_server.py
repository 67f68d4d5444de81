"""A minimal streaming server for overhead benchmarks: raw asyncio, HTTP/1.1 keep-alive,
canned chunks, so the server costs as little CPU as possible and the client's cost shows.
Not a simulator: every answer is ``ANSWER`` in ``--tokens`` chunks, in one of three wire
formats (``--api``): OpenAI chat completions SSE (with the ``include_usage`` chunk),
Anthropic Messages SSE, or Bedrock ConverseStream (AWS event-stream framing).

    python tests/perf/fast_server.py --api openai --ttft-ms 0 --itl-ms 0 --tokens 4
    (prints ``PORT <n>`` once listening)
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from pytest_llmbench.sim import eventstream

ANSWER = "42"
Parts = tuple[bytes, list[bytes], bytes]  # sent before the first token, one per token, after


def _pieces(tokens: int) -> list[str]:
    return [ANSWER] + [" "] * (tokens - 1)


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def openai_parts(tokens: int) -> Parts:
    def chunk(delta: dict[str, Any], finish: str | None = None,
              usage: dict[str, Any] | None = None) -> bytes:
        body: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "bench",
                      "choices": [] if usage else [{"index": 0, "delta": delta,
                                                    "finish_reason": finish}]}
        if usage:
            body["usage"] = usage
        return _sse(body)

    pieces = _pieces(tokens)
    first = chunk({"role": "assistant", "content": pieces[0]})
    tail = (chunk({}, finish="stop")
            + chunk({}, usage={"prompt_tokens": 10, "completion_tokens": tokens,
                               "total_tokens": 10 + tokens}) + b"data: [DONE]\n\n")
    return b"", [first] + [chunk({"content": p}) for p in pieces[1:]], tail


def anthropic_parts(tokens: int) -> Parts:
    lead = _sse({"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "bench", "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1}}}, "message_start") + _sse(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        "content_block_start")
    deltas = [_sse({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": p}}, "content_block_delta")
              for p in _pieces(tokens)]
    tail = (_sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
            + _sse({"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                        "stop_sequence": None},
                    "usage": {"output_tokens": tokens}}, "message_delta")
            + _sse({"type": "message_stop"}, "message_stop"))
    return lead, deltas, tail


def bedrock_parts(tokens: int) -> Parts:
    lead = eventstream.event("messageStart", {"role": "assistant"})
    deltas = [eventstream.event("contentBlockDelta", {"contentBlockIndex": 0,
                                                      "delta": {"text": p}})
              for p in _pieces(tokens)]
    tail = (eventstream.event("contentBlockStop", {"contentBlockIndex": 0})
            + eventstream.event("messageStop", {"stopReason": "end_turn"})
            + eventstream.event("metadata", {"usage": {"inputTokens": 10, "outputTokens": tokens,
                                                       "totalTokens": 10 + tokens},
                                             "metrics": {"latencyMs": 1}}))
    return lead, deltas, tail


PARTS = {"openai": openai_parts, "anthropic": anthropic_parts, "bedrock": bedrock_parts}
CONTENT_TYPE = {"openai": b"text/event-stream", "anthropic": b"text/event-stream",
                "bedrock": b"application/vnd.amazon.eventstream"}
MODELS = json.dumps({"object": "list", "data": [{"id": "bench", "object": "model"}]}).encode()


def _encode_chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes,
                 parts: Parts, ttft: float, itl: float) -> None:
    lead, tokens, tail = parts
    try:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in request.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            if request.startswith(b"GET"):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             + f"content-length: {len(MODELS)}\r\n\r\n".encode() + MODELS)
                continue
            writer.write(head)
            if ttft:
                await writer.drain()
                await asyncio.sleep(ttft)
            if itl:
                for i, token in enumerate(tokens):
                    if i:
                        await writer.drain()
                        await asyncio.sleep(itl)
                    writer.write(_encode_chunk(lead + token if i == 0 else token))
                writer.write(_encode_chunk(tail))
            else:
                writer.write(_encode_chunk(lead + b"".join(tokens) + tail))
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(api: str, port: int, ttft: float, itl: float, tokens: int) -> None:
    parts = PARTS[api](tokens)
    head = (b"HTTP/1.1 200 OK\r\ncontent-type: " + CONTENT_TYPE[api]
            + b"\r\ntransfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n")
    server = await asyncio.start_server(lambda r, w: handle(r, w, head, parts, ttft, itl),
                                        "127.0.0.1", port, backlog=1024)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", choices=sorted(PARTS), default="openai")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft-ms", type=float, default=0.0)
    parser.add_argument("--itl-ms", type=float, default=0.0)
    parser.add_argument("--tokens", type=int, default=4)
    args = parser.parse_args()
    try:
        import uvloop  # noqa: PLC0415

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args.api, args.port, args.ttft_ms / 1000, args.itl_ms / 1000, args.tokens))


if __name__ == "__main__":
    main()
