"""AWS event-stream binary framing (``application/vnd.amazon.eventstream``).

Bedrock's ConverseStream sends one framed message per event; botocore checks
both CRCs. Layout: total length, headers length, prelude CRC (12 bytes),
string-typed headers, the JSON payload, then a CRC of everything before it.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

_JSON_EVENT_HEADERS: dict[str, bytes] = {}


def header(name: str, value: str) -> bytes:
    """One header of type 7 (string)."""
    n, v = name.encode(), value.encode()
    return struct.pack("!B", len(n)) + n + b"\x07" + struct.pack("!H", len(v)) + v


def message(headers: bytes, payload: bytes) -> bytes:
    """Frame pre-encoded ``headers`` and a ``payload`` with both CRCs."""
    prelude = struct.pack("!II", 16 + len(headers) + len(payload), len(headers))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack("!I", zlib.crc32(body))


def event_headers(event_type: str) -> bytes:
    """The cached header block of a JSON event of ``event_type``."""
    cached = _JSON_EVENT_HEADERS.get(event_type)
    if cached is None:
        cached = (header(":event-type", event_type) + header(":content-type", "application/json")
                  + header(":message-type", "event"))
        _JSON_EVENT_HEADERS[event_type] = cached
    return cached


def event(event_type: str, payload: dict[str, Any] | bytes) -> bytes:
    """A framed event; ``payload`` is a dict (JSON-encoded here) or raw JSON bytes."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return message(event_headers(event_type), raw)


def exception(exception_type: str, text: str) -> bytes:
    """A modelled in-stream exception (botocore raises ``EventStreamError``)."""
    headers = (header(":exception-type", exception_type)
               + header(":content-type", "application/json")
               + header(":message-type", "exception"))
    return message(headers, json.dumps({"message": text}).encode())
