"""How long a server asks us to wait, from its response headers.

Providers read it when classifying an error, the engine when retrying and the ingest
client on a 429, so it lives at the bottom of the graph.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from a response's headers: ``retry-after-ms`` (OpenAI, Anthropic),
    ``x-amz-retry-after`` (milliseconds) or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    for name in ("retry-after-ms", "x-amz-retry-after"):
        try:
            return max(0.0, float(lowered[name]) / 1000.0)
        except (KeyError, ValueError):
            continue
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
