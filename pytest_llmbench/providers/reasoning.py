"""Separating a reasoning model's thinking from its answer in streamed text.

Servers without a reasoning parser (vLLM or llama.cpp without one, many
DeepSeek-R1 deployments) stream the thinking inside the content, as
``<think>...</think>``, and a tag may be split across chunks. ``ThinkSplitter``
routes each piece of streamed content to "reasoning" or "content" as it
arrives, holding back only the few characters that could start a tag.

The ``think_tags`` model setting picks the mode: ``auto`` (default: tags are
parsed), ``open`` (the answer starts inside a thinking block because the chat
template already emitted ``<think>``; everything up to ``</think>`` is
reasoning) or ``off`` (content is left as it is).
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_llmbench.errors import ConfigError

OPEN, CLOSE = "<think>", "</think>"
MODES = ("auto", "open", "off")


def think_mode(value: object, model: str) -> str:
    mode = "auto" if value is None else str(value)
    if mode not in MODES:
        raise ConfigError(f"{model}: think_tags must be one of {', '.join(MODES)}, got {value!r}")
    return mode


def _partial_tag(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` could begin ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class ThinkSplitter:
    """Feeds streamed content to ``content`` or ``reasoning`` callbacks, tags removed."""

    def __init__(self, content: Callable[[str], None], reasoning: Callable[[str], None],
                 inside: bool = False) -> None:
        self._emit = {False: content, True: reasoning}
        self.inside = inside
        self._held = ""
        self._after_close = False

    def feed(self, text: str) -> None:
        text = self._held + text
        self._held = ""
        if not self.inside and "<" not in text:  # fast path: plain answer text
            self._out(text)
            return
        while text:
            tag = CLOSE if self.inside else OPEN
            at = text.find(tag)
            if at >= 0:
                self._out(text[:at])
                self.inside = not self.inside
                self._after_close = not self.inside
                text = text[at + len(tag):]
                continue
            keep = _partial_tag(text, tag)
            self._out(text[:len(text) - keep])
            self._held = text[len(text) - keep:]
            return

    def flush(self) -> None:
        """The stream ended: anything held back was not a tag after all."""
        held, self._held = self._held, ""
        self._out(held)

    def _out(self, text: str) -> None:
        if not text:
            return
        if self._after_close and not self.inside:
            text = text.lstrip()  # the blank line between </think> and the answer
            if not text:
                return
            self._after_close = False
        self._emit[self.inside](text)
