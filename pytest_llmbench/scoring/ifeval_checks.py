"""The verifiable instructions of IFEval (Zhou et al., 2023), one check per instruction id.

Each check is ``check(response, **kwargs) -> bool`` with the kwarg names of
IFEval's dataset rows, and follows the reference implementation's rules
(google-research ``instruction_following_eval/instructions.py``): relations
are ``"less than"`` (<) and ``"at least"`` (>=); words are ``\\w+`` runs;
sentences are NLTK Punkt's and capital words ``nltk.word_tokenize`` tokens
(see ``ifeval_nltk``); paragraphs are separated by ``***`` (or blank lines for
the n-th paragraph check). Deliberate deviations (keywords, markers and
splitters matched literally rather than as regular expressions, zero-valued
arguments kept) are listed in docs/scoring.md. Language and counting checks
need the optional ``pytest-llmbench[ifeval]`` extra; without it they raise
``Unsupported``.
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Callable
from typing import Any

from pytest_llmbench.scoring import ifeval_nltk

CONSTRAINED_RESPONSES = ("My answer is yes.", "My answer is no.", "My answer is maybe.")
RELATIONS = ("less than", "at least")


class Unsupported(Exception):
    """The check cannot run here (a missing optional dependency)."""


def _compare(count: int, relation: str, target: int) -> bool:
    if relation == "less than":
        return count < int(target)
    if relation == "at least":
        return count >= int(target)
    raise ValueError(f"relation must be one of {RELATIONS}, got {relation!r}")


def count_words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def split_sentences(text: str) -> list[str]:
    """Sentences as the reference counts them: NLTK's English Punkt model."""
    try:
        return ifeval_nltk.sentences(text)
    except ifeval_nltk.MissingDependency as exc:
        raise Unsupported(str(exc)) from None


def word_tokens(text: str) -> list[str]:
    """Tokens as ``nltk.word_tokenize`` gives them (``DON'T`` is ``DO`` + ``N'T``)."""
    try:
        return ifeval_nltk.words(text)
    except ifeval_nltk.MissingDependency as exc:
        raise Unsupported(str(exc)) from None


def _language(text: str) -> str:
    try:
        import langdetect  # noqa: PLC0415 - optional, heavy profile load
    except ImportError:
        raise Unsupported("language detection needs pip install 'pytest-llmbench[ifeval]'"
                          ) from None
    langdetect.DetectorFactory.seed = 0  # deterministic
    try:
        return str(langdetect.detect(text))
    except langdetect.LangDetectException:
        return ""  # IFEval counts undetectable text as following


def response_language(response: str, *, language: str) -> bool:
    detected = _language(response)
    return not detected or detected == language


def english_capital(response: str) -> bool:
    return response.isupper() and _language(response) in ("en", "")


def english_lowercase(response: str) -> bool:
    return response.islower() and _language(response) in ("en", "")


def number_sentences(response: str, *, num_sentences: int, relation: str) -> bool:
    return _compare(len(split_sentences(response)), relation, num_sentences)


def number_paragraphs(response: str, *, num_paragraphs: int) -> bool:
    paragraphs = re.split(r"\s?\*\*\*\s?", response)
    count = len(paragraphs)
    for index, paragraph in enumerate(paragraphs):
        if not paragraph.strip():
            if index in (0, len(paragraphs) - 1):
                count -= 1
            else:
                return False
    return count == int(num_paragraphs)


def number_words(response: str, *, num_words: int, relation: str) -> bool:
    return _compare(count_words(response), relation, num_words)


def nth_paragraph_first_word(response: str, *, num_paragraphs: int, nth_paragraph: int,
                             first_word: str) -> bool:
    paragraphs = re.split(r"\n\n", response)
    count = sum(1 for p in paragraphs if p.strip())
    nth = int(nth_paragraph)
    if nth > count or nth < 1 or not paragraphs[nth - 1].strip():
        return False
    # the reference strips ' then ", in that order, and compares the unstripped word
    word = paragraphs[nth - 1].strip().split()[0].strip().lstrip("'").lstrip('"')
    found = re.match(r"[^.,?!'\"]*", word)
    got = (found.group(0) if found else "").lower()
    return count == int(num_paragraphs) and got == first_word.lower()


def number_placeholders(response: str, *, num_placeholders: int) -> bool:
    return len(re.findall(r"\[.*?\]", response)) >= int(num_placeholders)


def postscript(response: str, *, postscript_marker: str) -> bool:
    postscript_marker = postscript_marker.strip()
    if postscript_marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif postscript_marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + re.escape(postscript_marker.lower()) + r".*$"
    return bool(re.findall(pattern, response.lower(), flags=re.MULTILINE))


def number_bullet_lists(response: str, *, num_bullets: int) -> bool:
    stars = re.findall(r"^\s*\*[^\*].*$", response, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", response, flags=re.MULTILINE)
    return len(stars) + len(dashes) == int(num_bullets)


def constrained_response(response: str) -> bool:
    return any(option in response.strip() for option in CONSTRAINED_RESPONSES)


def number_highlighted_sections(response: str, *, num_highlights: int) -> bool:
    single = [h for h in re.findall(r"\*[^\n\*]*\*", response) if h.strip("*").strip()]
    double = [h for h in re.findall(r"\*\*[^\n\*]*\*\*", response)
              if h.removeprefix("**").removesuffix("**").strip()]
    return len(single) + len(double) >= int(num_highlights)


def multiple_sections(response: str, *, section_spliter: str, num_sections: int) -> bool:
    sections = re.split(r"\s?" + re.escape(section_spliter.strip()) + r"\s?\d+\s?", response)
    return len(sections) - 1 >= int(num_sections)


def json_format(response: str) -> bool:
    text = response.strip()
    for prefix in ("```json", "```Json", "```JSON", "```"):
        text = text.removeprefix(prefix)
    try:
        json.loads(text.removesuffix("```").strip())
    except ValueError:
        return False
    return True


def title(response: str) -> bool:
    return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", response))


def two_responses(response: str) -> bool:
    parts = response.split("******")
    valid = []
    for index, part in enumerate(parts):
        if not part.strip():
            if index not in (0, len(parts) - 1):
                return False
        else:
            valid.append(part)
    return len(valid) == 2 and valid[0].strip() != valid[1].strip()


def repeat_prompt(response: str, *, prompt_to_repeat: str) -> bool:
    return response.strip().lower().startswith(prompt_to_repeat.strip().lower())


def end_checker(response: str, *, end_phrase: str) -> bool:
    return response.strip().strip('"').lower().endswith(end_phrase.strip().lower())


def capital_word_frequency(response: str, *, capital_frequency: int,
                           capital_relation: str) -> bool:
    capitals = sum(1 for token in word_tokens(response) if token.isupper())
    return _compare(capitals, capital_relation, capital_frequency)


def quotation(response: str) -> bool:
    text = response.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'


def no_comma(response: str) -> bool:
    return "," not in response


def _words(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def keywords_existence(response: str, *, keywords: list[str]) -> bool:
    return all(re.search(re.escape(k), response, flags=re.IGNORECASE) for k in _words(keywords))


def keyword_frequency(response: str, *, keyword: str, frequency: int, relation: str) -> bool:
    count = len(re.findall(re.escape(keyword.strip()), response, flags=re.IGNORECASE))
    return _compare(count, relation, frequency)


def forbidden_words(response: str, *, forbidden_words: list[str]) -> bool:
    return not any(re.search(r"\b" + re.escape(w) + r"\b", response, flags=re.IGNORECASE)
                   for w in _words(forbidden_words))


def letter_frequency(response: str, *, letter: str, let_frequency: int,
                     let_relation: str) -> bool:
    letter = letter.strip().lower()
    if len(letter) != 1 or not "a" <= letter <= "z":
        raise ValueError(f"letter must be one ASCII letter, got {letter!r}")
    count = collections.Counter(response.lower())[letter]
    return _compare(count, let_relation, let_frequency)


CHECKS: dict[str, Callable[..., bool]] = {
    "keywords:existence": keywords_existence,
    "keywords:frequency": keyword_frequency,
    "keywords:forbidden_words": forbidden_words,
    "keywords:letter_frequency": letter_frequency,
    "language:response_language": response_language,
    "length_constraints:number_sentences": number_sentences,
    "length_constraints:number_paragraphs": number_paragraphs,
    "length_constraints:number_words": number_words,
    "length_constraints:nth_paragraph_first_word": nth_paragraph_first_word,
    "detectable_content:number_placeholders": number_placeholders,
    "detectable_content:postscript": postscript,
    "detectable_format:number_bullet_lists": number_bullet_lists,
    "detectable_format:constrained_response": constrained_response,
    "detectable_format:number_highlighted_sections": number_highlighted_sections,
    "detectable_format:multiple_sections": multiple_sections,
    "detectable_format:json_format": json_format,
    "detectable_format:title": title,
    "combination:two_responses": two_responses,
    "combination:repeat_prompt": repeat_prompt,
    "startend:end_checker": end_checker,
    "startend:quotation": quotation,
    "change_case:capital_word_frequency": capital_word_frequency,
    "change_case:english_capital": english_capital,
    "change_case:english_lowercase": english_lowercase,
    "punctuation:no_comma": no_comma,
}


def run_check(instruction_id: str, response: str, kwargs: dict[str, Any]) -> bool:
    """Run one instruction's check; a bad id or kwargs is a ValueError naming them."""
    check = CHECKS.get(instruction_id)
    if check is None:
        raise ValueError(f"unknown IFEval instruction {instruction_id!r} "
                         f"(known: {', '.join(sorted(CHECKS))})")
    try:
        return bool(check(response, **kwargs))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"instruction {instruction_id!r}: bad kwargs {sorted(kwargs)}: "
                         f"{exc}") from None
