"""Flatten each provider's message shapes into plain prompt text.

The simulator never interprets a conversation; it needs the text to count
input tokens, to find an answer-key entry by substring and to echo the last
user turn. Non-text parts (images, tool calls) are ignored.
"""

from __future__ import annotations

from typing import Any

from pytest_llmbench.sim.state import SimError
from pytest_llmbench.sim.tokens import count_tokens


def text_of(content: Any) -> str:
    """Text of a message content: a string, or a list of text parts/blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    if isinstance(content, dict) and isinstance(content.get("text"), str):
        return str(content["text"])
    return ""


def flatten(messages: Any, system: Any = None) -> tuple[str, str, int]:
    """(whole prompt, last user text, input token count) of a chat request."""
    if not isinstance(messages, list) or not messages:
        raise SimError("bad_request", "messages: expected a non-empty list", param="messages")
    texts = []
    if system is not None:
        texts.append(text_of(system))
    last_user = ""
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise SimError("bad_request", f"messages[{i}]: expected an object", param="messages")
        text = text_of(message.get("content"))
        texts.append(text)
        if message.get("role") == "user":
            last_user = text
    prompt = "\n".join(t for t in texts if t)
    return prompt, last_user, sum(count_tokens(t) for t in texts)
