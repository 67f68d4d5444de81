"""The ``ifeval`` scorer: IFEval's verifiable instructions, strict and loose.

Each case names its instructions and their arguments, as IFEval's rows do
(``instruction_id_list`` and an aligned ``kwargs`` list; ``None`` arguments,
as in the Hugging Face copy, are dropped). Strict checks the response as
given; loose also accepts it with the first and/or last line removed or
``*`` markup removed, as the reference does. The score is prompt-level (all
instructions followed) in the chosen mode; details hold every instruction's
strict and loose result and both prompt- and instruction-level accuracy.
"""

from __future__ import annotations

from typing import Any

from pytest_llmbench.scoring.base import Score, Scorer, register_scorer
from pytest_llmbench.scoring.ifeval_checks import Unsupported, run_check
from pytest_llmbench.scoring.reasoning import strip_thinking

_MODES = ("strict", "loose")
_VALUES = ("prompt", "instruction")


def loose_variants(response: str) -> list[str]:
    """The response as given, without its first/last line, and without ``*`` markup."""
    lines = response.split("\n")
    cut = ["\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(),
           "\n".join(lines[1:-1]).strip()]
    variants = [response, *cut]
    return variants + [v.replace("*", "") for v in variants]


def _instructions(case: Any, ids_field: str, kwargs_field: str
                  ) -> list[tuple[str, dict[str, Any]]]:
    row = case.row
    ids = row.get(ids_field)
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, list) or not ids:
        raise ValueError(f"case {case.id}: field {ids_field!r} must be a non-empty list of "
                         "IFEval instruction ids")
    kwargs = row.get(kwargs_field) or [{}] * len(ids)
    if isinstance(kwargs, dict):
        kwargs = [kwargs]
    if not isinstance(kwargs, list) or len(kwargs) != len(ids):
        raise ValueError(f"case {case.id}: field {kwargs_field!r} must be a list of "
                         f"{len(ids)} mappings, one per instruction")
    return [(str(i), {k: v for k, v in (kw or {}).items() if v is not None})
            for i, kw in zip(ids, kwargs, strict=True)]


@register_scorer("ifeval")
def ifeval(mode: str = "strict", value: str = "prompt",
           instructions: str = "instruction_id_list", kwargs: str = "kwargs") -> Scorer:
    """``mode``: strict or loose; ``value``: prompt (1 when all followed) or instruction
    (the fraction followed); ``instructions``/``kwargs``: the row fields."""
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(_MODES)}")
    if value not in _VALUES:
        raise ValueError(f"value must be one of {', '.join(_VALUES)}")

    def score(response: str, case: Any) -> Score:
        text = strip_thinking(response)
        results: list[dict[str, Any]] = []
        unsupported: list[str] = []
        for instruction_id, args in _instructions(case, instructions, kwargs):
            entry: dict[str, Any] = {"id": instruction_id, "kwargs": args}
            try:
                entry["strict"] = bool(text.strip()) and run_check(instruction_id, text, args)
                entry["loose"] = any(v.strip() and run_check(instruction_id, v, args)
                                     for v in loose_variants(text))
            except Unsupported as exc:
                entry["unsupported"] = str(exc)
                unsupported.append(instruction_id)
            results.append(entry)
        checked = [r for r in results if "unsupported" not in r]
        details: dict[str, Any] = {"instructions": results, "extracted": None,
                                   "rule": f"ifeval_{mode}",
                                   "extraction_failed": not text.strip()}
        for name in _MODES:
            followed = sum(1 for r in checked if r[name])
            details[f"{name}_prompt"] = bool(checked) and followed == len(checked)
            details[f"{name}_instruction"] = followed / len(checked) if checked else None
            details[f"{name}_followed"] = followed
        details["instructions_checked"] = len(checked)
        if unsupported:
            details["unsupported"] = unsupported
        missed = [r["id"] for r in checked if not r[mode]]
        if missed:
            details["reason"] = f"instructions not followed ({mode}): {', '.join(missed)}"
        passed = bool(details[f"{mode}_prompt"])
        if value == "instruction":
            fraction = details[f"{mode}_instruction"] or 0.0
            return Score(fraction, passed, details)
        return Score(1.0 if passed else 0.0, passed, details)

    return score
