"""Variants side by side within one run: the best variant per (suite, model, target) and a
paired comparison of each other variant with that best one on the same cases.

Pairing uses the same McNemar test and paired bootstrap as run-to-run comparison
(``results.paired``): every variant answers the same cases, so case difficulty
cancels out of the delta.
"""

from __future__ import annotations

from typing import Any

from pytest_llmbench.results.paired import paired_compare

Group = tuple[str, str, str]  # suite, model, target


class VariantScores:
    """(suite, model, target) -> variant -> case id -> (score, passed), as records arrive."""

    def __init__(self) -> None:
        self._scores: dict[Group, dict[str, dict[str, tuple[float, bool]]]] = {}

    def add(self, record: dict[str, Any]) -> None:
        variant = record.get("variant")
        if not variant or record.get("outcome") not in ("passed", "failed"):
            return
        passed = record["outcome"] == "passed"
        score = record.get("score")
        group = (record["suite"], record["model"], record.get("target") or "")
        self._scores.setdefault(group, {}).setdefault(variant, {})[str(record["case_id"])] = (
            float(score) if score is not None else float(passed), passed)

    def compare(self, rows: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
        """Each variant against the best one of its (suite, model, target) (``rows`` marked
        by :func:`mark_best`), over the cases both scored."""
        best = {(r["suite"], r["model"], r.get("target") or ""): r["variant"]
                for r in rows if r.get("best_variant")}
        out = []
        for group, by_variant in sorted(self._scores.items()):
            baseline = best.get(group)
            if baseline is None or baseline not in by_variant or len(by_variant) < 2:
                continue
            base = by_variant[baseline]
            for name in sorted(set(by_variant) - {baseline}):
                cand = by_variant[name]
                pairs = [(base[c][0], cand[c][0], base[c][1], cand[c][1])
                         for c in sorted(set(base) & set(cand))]
                result = paired_compare(pairs, seed)
                out.append({"suite": group[0], "model": group[1], "target": group[2] or None,
                            "baseline": baseline, "variant": name, **result.to_dict()})
        return out


def mark_best(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set ``best_variant`` on rows of suites with variants: True on the most accurate
    variant of each (suite, model, target) (ties: cheaper, then the name), else False."""
    groups: dict[Group, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("variant"):
            groups.setdefault((row["suite"], row["model"], row.get("target") or ""),
                              []).append(row)
    for members in groups.values():
        for row in members:
            row["best_variant"] = False
        scored = [r for r in members if r.get("accuracy") is not None]
        if scored:
            best = min(scored, key=lambda r: (-r["accuracy"], r.get("cost_usd") or 0.0,
                                              r["variant"]))
            best["best_variant"] = True
    return rows


def add_fit_columns(rows: list[dict[str, Any]], fits: list[dict[str, Any]]) -> None:
    """Optimizer variants' rows get what fitting cost: ``fit_cost_usd``, ``fit_time_s``,
    ``fit_calls`` (0 calls and time when the prompt was reused from another run)."""
    by_key = {(f.get("suite"), f.get("variant"), f.get("model")): f for f in fits}
    for row in rows:
        fit = by_key.get((row["suite"], row.get("variant"), row["model"]))
        if fit is not None:
            reused = bool(fit.get("reused_from"))
            row["fit_cost_usd"] = 0.0 if reused else fit.get("cost_usd")
            row["fit_time_s"] = 0.0 if reused else fit.get("time_s")
            row["fit_calls"] = 0 if reused else fit.get("calls")


def comparison_cells(comparisons: list[dict[str, Any]]) -> list[list[str]]:
    """The paired variant comparisons as table cells (a header row, then one row each);
    the first four columns name the row."""
    header = ["suite", "model", "variant", "vs", "n", "delta [95% CI]", "p->f", "f->p",
              "McNemar p"]
    cells = [header]
    for c in comparisons:
        delta = ("-" if c["accuracy_delta"] is None else
                 f"{c['accuracy_delta']:+.1%} [{c['ci_low']:+.1%}, {c['ci_high']:+.1%}]")
        cells.append([c["suite"], c["model"] + (f"@{c['target']}" if c["target"] else ""),
                      c["variant"], c["baseline"], str(c["n"]), delta, str(c["pass_to_fail"]),
                      str(c["fail_to_pass"]), f"{c['mcnemar_p']:.3g}"])
    return cells


def fit_lines(fits: list[dict[str, Any]]) -> list[str]:
    """One line per fitted prompt: who fitted it, at what cost, or where it was reused from."""
    lines = []
    for fit in fits:
        where = f"{fit.get('suite')}/{fit.get('variant')} x {fit.get('model')}"
        if fit.get("reused_from"):
            lines.append(f"fitted prompt {where}: reused from run {fit['reused_from']}")
            continue
        cost = fit.get("cost_usd")
        lines.append(f"fitted prompt {where}: {fit.get('optimizer')} in "
                     f"{fit.get('time_s', 0):.2f}s, {fit.get('calls', 0)} calls, "
                     f"cost {'unknown' if cost is None else f'${cost:.6f}'}")
    return lines
