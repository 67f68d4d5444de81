"""Row mappers for the public-benchmark suites (``dataset: {hf: ..., map: hub_rows:NAME}``).

Each turns one Hugging Face row into the fields the suite's prompt and scorer read:
lettered ``options`` text, the option list ``choices`` and the answer letter.
"""

from __future__ import annotations

from typing import Any

from pytest_llmbench.suites.sources import stable_shuffle

LETTERS = "ABCDEFGHIJ"


def lettered(choices: list[str]) -> str:
    return "\n".join(f"{LETTERS[i]}) {text}" for i, text in enumerate(choices))


def mmlu_pro(row: dict[str, Any]) -> dict[str, Any]:
    """TIGER-Lab/MMLU-Pro: ``options`` is the list, ``answer`` already the letter."""
    choices = [str(c) for c in row["options"]]
    return {"id": str(row["question_id"]), "subject": row.get("category", "general knowledge"),
            "question": row["question"], "choices": choices, "options": lettered(choices),
            "answer": str(row["answer"]).strip()}


def gpqa(row: dict[str, Any]) -> dict[str, Any]:
    """Idavidrein/gpqa: one correct and three incorrect answer columns, shuffled into A-D
    by a permutation fixed per question (never the correct answer always first)."""
    correct = str(row["Correct Answer"]).strip()
    answers = [correct] + [str(row[f"Incorrect Answer {i}"]).strip() for i in (1, 2, 3)]
    question = str(row["Question"]).strip()
    choices = stable_shuffle(answers, question)
    return {"id": str(row.get("Record ID") or ""), "question": question, "choices": choices,
            "options": lettered(choices), "answer": LETTERS[choices.index(correct)]}


def aime(row: dict[str, Any]) -> dict[str, Any]:
    """HuggingFaceH4/aime_2024 (or AI-MO/aimo-validation-aime): problem text, integer answer."""
    return {"id": str(row.get("id", "")), "problem": row.get("problem") or row["question"],
            "answer": str(row["answer"]).strip()}
