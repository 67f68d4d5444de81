"""The answer key and the answer policies of simulated models.

The plugin writes an answer key from a suite's expected answers so a
simulated model can score any accuracy it is told to: ``oracle`` answers
all entries right, ``fast`` 70 %. Whether an entry is answered right is fixed
by the seed, the model name and that entry alone (a hash draw below the
fraction), so it does not change with the other suites of a run.
A wrong answer is a deterministic, plausible change of the right one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmbench.sim.config import ModelProfile, SimConfigError
from pytest_llmbench.sim.judge import judge_verdict


@dataclass(frozen=True)
class Entry:
    """One right answer, found by case id or by a substring of the prompt."""

    answer: str
    case_id: str | None = None
    match: str | None = None

    @property
    def ident(self) -> str:
        return self.case_id if self.case_id is not None else f"match:{self.match}"


@dataclass
class AnswerKey:
    """Entries by case id and by prompt substring, plus per-model verdicts."""

    entries: list[Entry] = field(default_factory=list)
    by_case: dict[str, Entry] = field(default_factory=dict)
    by_match: list[Entry] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        if entry.case_id is not None:
            self.by_case[entry.case_id] = entry
        if entry.match:
            self.by_match.append(entry)
            # longest substring first, so "q10" wins over "q1"
            self.by_match.sort(key=lambda e: -len(e.match or ""))

    def find(self, case_id: str | None, prompt: str) -> Entry | None:
        if case_id is not None and case_id in self.by_case:
            return self.by_case[case_id]
        for entry in self.by_match:
            if entry.match and entry.match in prompt:
                return entry
        return None

    def add_many(self, entries: Iterable[Entry]) -> int:
        """Add entries not yet known (by ident); returns how many were new."""
        known = {e.ident for e in self.entries}
        new = [e for e in entries if e.ident not in known]
        for entry in new:
            self.add(entry)
        return len(new)

    def is_right(self, entry: Entry, model: str, seed: int, fraction: float,
                 sample: int = 0) -> bool:
        """Whether ``model`` answers ``entry`` right: a draw fixed by the seed, the model and
        the entry alone, right with probability ``fraction``. So a case's answer does not
        depend on which other suites (entries) the run holds; over many entries the
        share of right answers is ``fraction`` within sampling noise.

        Each sample index of a case is its own draw (sample 0 is the plain answer), so
        n samples of a 70 % model are right about 70 % of the time, not all or none.
        """
        if fraction >= 1.0:
            return True
        if fraction <= 0.0:
            return False
        salt = (seed, model) if not sample else (seed, model, "sample", sample)
        draw = int.from_bytes(_digest(*salt, entry.ident)[:8], "big") / 2**64
        return draw < fraction


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()


def load_answer_key(paths: Iterable[str | Path]) -> AnswerKey:
    """Read JSON, JSONL or YAML files: ``{id_or_substring: answer}`` or a list of entries."""
    key = AnswerKey()
    for path in map(Path, paths):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SimConfigError(f"{path}: cannot read answer key: {exc}") from exc
        for entry in _entries(_parse(path, text), path):
            key.add(entry)
    return key


def _parse(path: Path, text: str) -> Any:
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        if path.suffix == ".json":
            return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SimConfigError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    import yaml

    from pytest_llmbench.config import safe_load_yaml

    try:
        return safe_load_yaml(text)
    except yaml.YAMLError as exc:
        raise SimConfigError(f"{path}: not valid YAML: {exc}") from exc


def entries_from(data: Any, source: str) -> list[Entry]:
    """Entries from already-parsed data (the plugin posts them at run time)."""
    return list(_entries(data, Path(source)))


def _entries(data: Any, path: Path) -> Iterable[Entry]:
    if data is None:
        return
    if isinstance(data, dict):
        for k, v in data.items():
            # a mapping key is both a case id and a prompt substring
            yield Entry(answer=_text(v), case_id=str(k), match=str(k))
        return
    if not isinstance(data, list):
        raise SimConfigError(f"{path}: expected a mapping or a list of entries")
    for i, item in enumerate(data, 1):
        if not isinstance(item, dict) or "answer" not in item:
            raise SimConfigError(f"{path}: entry {i}: expected a mapping with 'answer'")
        case_id = item.get("case_id", item.get("id"))
        match = item.get("match")
        if case_id is None and match is None:
            raise SimConfigError(f"{path}: entry {i}: needs 'case_id' (or 'id') or 'match'")
        yield Entry(answer=_text(item["answer"]),
                    case_id=None if case_id is None else str(case_id),
                    match=None if match is None else str(match))


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_CHOICE = re.compile(r"^\(?([A-Ja-j])\)?\.?$")


def wrong_answer(right: str, salt: bytes) -> str:
    """A deterministic answer that differs from ``right`` but looks like an answer."""
    text = right.strip()
    pick = salt[0]
    choice = _CHOICE.match(text)
    if choice:
        letter = choice.group(1)
        base = "A" if letter.isupper() else "a"
        shifted = chr(ord(base) + (ord(letter) - ord(base) + 1 + pick % 3) % 4)
        if shifted == letter:
            shifted = chr(ord(base) + (ord(letter) - ord(base) + 1) % 4)
        return text.replace(letter, shifted, 1)
    numbers = list(_NUMBER.finditer(text))
    if numbers:
        last = numbers[-1]
        value = float(last.group())
        delta = 1 + pick % 9
        new = value + delta if pick % 2 else value - delta
        decimals = len(last.group().split(".")[1]) if "." in last.group() else 0
        shown = f"{new:.{decimals}f}"
        return text[: last.start()] + shown + text[last.end():]
    if text.lower() in ("yes", "no", "true", "false"):
        return {"yes": "no", "no": "yes", "true": "false", "false": "true"}[text.lower()]
    return "I am not sure."


@dataclass(frozen=True)
class Answer:
    """What a model says to one request, and whether it is the key's answer."""

    text: str
    entry: Entry | None = None
    right: bool | None = None


def answer_for(profile: ModelProfile, key: AnswerKey, seed: int, case_id: str | None,
               prompt: str, echo: str | None = None, sample: int = 0) -> Answer:
    """Apply the model's policy; the same request always gets the same answer."""
    echo = prompt if echo is None else echo
    if profile.policy == "judge":
        verdict = judge_verdict(prompt)
        return Answer(verdict if verdict is not None else profile.fallback)
    if profile.policy == "echo":
        return Answer(echo)
    if profile.policy == "fixed":
        return Answer(profile.text)
    if profile.policy == "lorem":
        return Answer(_LOREM)
    entry = key.find(case_id, prompt)
    if entry is None:
        return Answer(echo if profile.fallback == "echo" else profile.fallback)
    model_seed = seed if profile.seed is None else profile.seed
    if key.is_right(entry, profile.name, model_seed, profile.correct_fraction, sample):
        return Answer(entry.answer, entry, True)
    salt = _digest(model_seed, profile.name, entry.ident, "wrong", *([sample] if sample else []))
    return Answer(wrong_answer(entry.answer, salt), entry, False)


_LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation "
    "ullamco laboris nisi ut aliquip ex ea commodo consequat."
)
