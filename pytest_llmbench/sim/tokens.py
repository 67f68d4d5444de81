"""The simulator's tokenizer: a tiny deterministic rule, not a real BPE.

Benchmarks only need token counts that are stable and that agree between the
stream and the usage block, so the rule is: a token is a run of word
characters (``\\w+``) or one other non-space character, each carrying the
whitespace in front of it; trailing whitespace joins the last token. Joining
the pieces gives back the text exactly, so one streamed chunk is one token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])")


def split_tokens(text: str) -> list[str]:
    """Cut ``text`` into token pieces whose concatenation is ``text``."""
    pieces = _TOKEN.findall(text)
    used = sum(len(p) for p in pieces)
    if used < len(text):
        tail = text[used:]
        if pieces:
            pieces[-1] += tail
        elif tail:
            pieces.append(tail)
    return pieces


def count_tokens(text: str) -> int:
    """Number of tokens in ``text`` under the rule above."""
    return len(_TOKEN.findall(text))


def count_many(texts: Iterable[str]) -> int:
    """Token count of several texts (messages, system prompt) added up."""
    return sum(count_tokens(t) for t in texts)
