"""A minimal OpenAI-compatible streaming server for overhead benchmarks: raw asyncio, HTTP/1.1
keep-alive, canned SSE chunks, so the server costs as little CPU as possible and the client's
cost shows. Not a simulator: every answer is ``ANSWER`` in ``--tokens`` chunks.

    python tests/perf/fast_server.py --port 0 --ttft-ms 0 --itl-ms 0 --tokens 4
    (prints ``PORT <n>`` once listening)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

ANSWER = "42"


def _chunk(created: int, delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
    body = {"id": "c1", "object": "chat.completion.chunk", "created": created, "model": "bench",
            "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        body["usage"] = usage
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def stream_parts(tokens: int) -> list[bytes]:
    pieces = [ANSWER] + [""] * (tokens - 1) if tokens > 1 else [ANSWER]
    parts = [_chunk(0, {"role": "assistant", "content": pieces[0]})]
    parts += [_chunk(0, {"content": " "}) for _ in pieces[1:]]
    parts.append(_chunk(0, {}, finish="stop"))
    parts.append(_chunk(0, {}, usage={"prompt_tokens": 10, "completion_tokens": tokens,
                                      "total_tokens": 10 + tokens}))
    parts.append(b"data: [DONE]\n\n")
    return parts


def _encode_chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n")
MODELS = json.dumps({"object": "list", "data": [{"id": "bench", "object": "model"}]}).encode()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, parts: list[bytes],
                 ttft: float, itl: float) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            if head.startswith(b"GET"):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             + f"content-length: {len(MODELS)}\r\n\r\n".encode() + MODELS)
                continue
            writer.write(HEAD)
            if ttft:
                await asyncio.sleep(ttft)
            if itl:
                for i, part in enumerate(parts):
                    if i and i < len(parts) - 3:
                        await writer.drain()
                        await asyncio.sleep(itl)
                    writer.write(_encode_chunk(part))
            else:
                writer.write(b"".join(_encode_chunk(p) for p in parts))
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int, ttft: float, itl: float, tokens: int) -> None:
    parts = stream_parts(tokens)
    server = await asyncio.start_server(lambda r, w: handle(r, w, parts, ttft, itl),
                                        "127.0.0.1", port, backlog=1024)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
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
    asyncio.run(serve(args.port, args.ttft_ms / 1000, args.itl_ms / 1000, args.tokens))


if __name__ == "__main__":
    sys.exit(main())
