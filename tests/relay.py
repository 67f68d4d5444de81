"""A TCP relay for tests: forwards bytes both ways to a local port and keeps what each
connection sent upstream, so a test can count connections and read the real requests."""

from __future__ import annotations

import asyncio


async def start_relay(target_port: int, sent: list[bytearray]) -> asyncio.Server:
    """A relay on a free 127.0.0.1 port to ``target_port``; each accepted connection
    appends a bytearray to ``sent`` that fills with the bytes the client sends."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   keep: bytearray | None) -> None:
        try:
            while data := await reader.read(65536):
                if keep is not None:
                    keep += data
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sent.append(keep := bytearray())
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(reader, up_writer, keep), pipe(up_reader, writer, None))

    return await asyncio.start_server(handle, "127.0.0.1", 0)
