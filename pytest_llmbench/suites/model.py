"""Suite and Case: what a benchmark asks and what it expects, independent of pytest."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(template: str) -> list[str]:
    """The ``{field}`` names a template uses (``{{`` and ``}}`` are literal braces)."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1)]


def render(template: str, row: dict[str, Any]) -> str:
    """Fill ``{field}`` from the row; other braces (JSON in prompts) stay as written."""
    parts = _parsed(template)
    if len(parts) == 1 and parts[0][1] is None:
        return parts[0][0]
    return "".join(text if name is None else text + str(row[name]) for text, name in parts)


@functools.lru_cache(maxsize=256)
def _parsed(template: str) -> tuple[tuple[str, str | None], ...]:
    """``(literal text, field name or None)`` pairs, parsed once per template (a suite
    renders the same few templates for every case)."""
    parts: list[tuple[str, str | None]] = []
    start, text = 0, ""
    for match in _PLACEHOLDER.finditer(template):
        text += template[start:match.start()]
        start = match.end()
        if match.group(1) is None:
            text += match.group(0)[0]
        else:
            parts.append((text, match.group(1)))
            text = ""
    parts.append((text + template[start:], None))
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class Case:
    """One dataset row of a suite: a stable id, the row and its expected answer."""

    suite: str
    id: str
    row: dict[str, Any]
    expected: Any = None
    line: int | None = None

    @property
    def prompt(self) -> str:
        """Convenience for Python benchmarks: the row's ``prompt``/``question``/``input``."""
        for key in ("prompt", "question", "input", "text"):
            if key in self.row:
                return str(self.row[key])
        raise KeyError(f"case {self.suite}/{self.id} has no prompt/question/input field")


@dataclass
class Suite:
    """A benchmark: cases, how to ask (template, system prompt, shots, params), how to score."""

    name: str
    cases: list[Case]
    prompt: str = "{prompt}"
    description: str = ""
    system: str | None = None
    few_shot: list[dict[str, Any]] = field(default_factory=list)
    expected_field: str | None = "answer"
    scorer: Any = "exact"
    params: dict[str, Any] = field(default_factory=dict)
    sample: str | int | None = None
    gates: list[str] = field(default_factory=list)
    path: Path | None = None
    samples: int | None = None  # completions per item (pass@k)
    pass_at: list[int] | None = None  # the k of pass@k to report
    train: list[Case] = field(default_factory=list)  # rows for few-shot and optimizers
    variants: list[Any] = field(default_factory=list)  # suites.variants.Variant
    chat: list[dict[str, str]] | str | None = None  # a messages template, or a row field of them

    def messages(self, case: Case) -> list[dict[str, str]]:
        """The chat messages for a case: system, few-shot pairs, then the prompt (or the
        suite's ``messages`` template, or the row's own conversation)."""
        msgs: list[dict[str, str]] = []
        if self.system:
            msgs.append({"role": "system", "content": render(self.system, case.row)})
        if isinstance(self.chat, str):
            return msgs + [dict(m) for m in case.row[self.chat]]
        if self.chat is not None:
            return msgs + [{"role": m["role"], "content": render(m["content"], case.row)}
                           for m in self.chat]
        for shot in self.few_shot:
            msgs.append({"role": "user", "content": render(self.prompt, shot)})
            answer = shot.get(self.expected_field or "answer", "")
            msgs.append({"role": "assistant", "content": str(answer)})
        msgs.append({"role": "user", "content": render(self.prompt, case.row)})
        return msgs

    def case_by_id(self) -> dict[str, Case]:
        return {case.id: case for case in self.cases}
