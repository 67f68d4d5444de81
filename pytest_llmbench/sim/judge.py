"""The ``judge`` policy: a simulated grader for LLM-judge scorers.

It reads the ``<reference>...</reference>`` and ``<response>...</response>``
parts of a judge prompt (the tags of pytest-llmbench's default judge
template) and answers ``VERDICT: CORRECT`` with ``SCORE: 10/10`` when the
response contains the reference answer, not right after "not" (case,
spacing and edge punctuation ignored; numbers compared as numbers), else ``VERDICT: INCORRECT`` with
``SCORE: 2/10``. A prompt without both parts gets the model's fallback,
which a judge scorer records as an unparseable verdict.
"""

from __future__ import annotations

import re

_REFERENCE = re.compile(r"<reference>\s*(.*?)\s*</reference>", re.DOTALL | re.IGNORECASE)
_RESPONSE = re.compile(r"<response>\s*(.*)\s*</response>", re.DOTALL | re.IGNORECASE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _norm(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .,;:!?\"'`*")


def _numbers(text: str) -> set[float]:
    return {float(m.replace(",", "")) for m in _NUMBER.findall(text)}


def agrees(reference: str, response: str) -> bool:
    ref, got = _norm(reference), _norm(response)
    if not ref:
        return False
    if _NUMBER.fullmatch(ref.replace(" ", "")):
        return float(ref.replace(",", "").replace(" ", "")) in _numbers(got)
    return re.search(rf"(?<!\w)(?<!not ){re.escape(ref)}(?!\w)", got) is not None


def judge_verdict(prompt: str) -> str | None:
    reference = _REFERENCE.search(prompt)
    response = _RESPONSE.search(prompt)
    if reference is None or response is None:
        return None
    if agrees(reference.group(1), response.group(1)):
        return ("The response states the reference answer.\nVERDICT: CORRECT\nSCORE: 10/10")
    return ("The response does not state the reference answer.\nVERDICT: INCORRECT\n"
            "SCORE: 2/10")
