"""Run-to-run comparison: per (suite, model, target) deltas, paired statistics on the
shared cases, regression flags and speedup ratios.

A side of a comparison is a run, or one target of a run (``RUN@TARGET``), so the
same code compares two commits, two engine builds in one run, or both. The first
side is the baseline; every other side is a candidate compared against it. One run
alone compares each of its targets with that target's own baseline (run.json's
``baselines``: in a multi-commit run, the baseline target of the same commit).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.report.compare_serving import serving_rows
from pytest_llmbench.report.compare_sides import (
    Key,
    Side,
    load_side,
    model_key,
    side_from_path,
    target_pairs,
)
from pytest_llmbench.results.paired import paired_compare
from pytest_llmbench.results.regression import (
    COMPARED,
    RATES,
    SIGNIFICANCE,
    RegressionGate,
    evaluate_regressions,
    higher_is_better,
)
from pytest_llmbench.results.run_dir import RUN_FILE

SCHEMA_VERSION = 1
COMPARE_FILE = "compare.json"
# A metric other than accuracy is flagged when it is worse by more than this, relative.
FLAG_RELATIVE = 0.10
# A rate (error, extraction failure) is flagged when it is worse by more than this, absolute.
FLAG_RATE_POINTS = 0.01
DEFAULT_SEED = 42

__all__ = ["COMPARE_FILE", "Side", "compare", "compare_pairs", "load_side", "model_key",
           "previous_run", "side_from_path", "target_pairs"]


def previous_run(base: Path, current: str) -> Path | None:
    """The newest run under ``base`` started before run ``current`` (the pytest baseline
    ``latest``: by then ``latest`` already names the current run)."""
    runs = []
    for path in base.iterdir() if base.is_dir() else ():
        if path.is_symlink() or not (path / RUN_FILE).is_file() or path.name == current:
            continue
        try:
            started = float(json.loads((path / RUN_FILE).read_text("utf-8")).get("started_at") or 0)
        except (OSError, ValueError):
            continue
        runs.append((started, path.name, path))
    return max(runs)[2] if runs else None


def _outcomes(side: Side) -> dict[tuple[str, str, str, str | None], tuple[float, bool]]:
    """(suite, case_id, model, target) -> (score, passed) of every scored record."""
    out = {}
    for r in side.records:
        if r.get("outcome") in ("passed", "failed"):
            passed = r["outcome"] == "passed"
            score = r.get("score")
            key = side.key(r)
            out[(key[0], str(r["case_id"]), key[1], key[2])] = (
                float(score) if score is not None else float(passed), passed)
    return out


def _metric(name: str, base: float | None, cand: float | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"baseline": base, "candidate": cand, "delta": None, "relative": None,
                             "better": "higher" if higher_is_better(name) else "lower",
                             "change": None, "flagged": False}
    if base is None or cand is None:
        return entry
    delta = cand - base
    entry["delta"] = delta
    entry["relative"] = delta / abs(base) if base else None
    worse = -delta if higher_is_better(name) else delta
    entry["change"] = "same" if delta == 0 else "worse" if worse > 0 else "better"
    if name != "accuracy" and worse > 0:
        entry["flagged"] = (worse > FLAG_RATE_POINTS if name in RATES
                            else base == 0 or worse / abs(base) > FLAG_RELATIVE)
    return entry


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return top / bottom if top and bottom else None


def compare_sides(baseline: Side, candidate: Side, seed: int) -> list[dict[str, Any]]:
    base_out, cand_out = _outcomes(baseline), _outcomes(candidate)
    pairs_by_key: dict[Key, list[tuple[float, float, bool, bool]]] = {}
    for k in base_out.keys() & cand_out.keys():
        (b_score, b_pass), (c_score, c_pass) = base_out[k], cand_out[k]
        pairs_by_key.setdefault((k[0], k[2], k[3]), []).append((b_score, c_score, b_pass, c_pass))
    rows = []
    for key in sorted(set(baseline.rows) | set(candidate.rows), key=lambda k: (k[0], k[1], k[2] or "")):
        b, c = baseline.rows.get(key) or {}, candidate.rows.get(key) or {}
        metrics = {name: _metric(name, b.get(name), c.get(name)) for name in COMPARED}
        pairs = sorted(pairs_by_key.get(key, []))
        result = paired_compare(pairs, seed) if pairs else None
        paired = result.to_dict() if result else None
        significant = bool(result and result.p_value < SIGNIFICANCE)
        accuracy = metrics["accuracy"]
        if result and accuracy["change"] == "worse":
            accuracy["flagged"] = significant
        rows.append({
            "suite": key[0], "model": key[1], "target": key[2] or candidate.target,
            "baseline": baseline.label, "candidate": candidate.label,
            "baseline_n": b.get("n", 0), "candidate_n": c.get("n", 0),
            "metrics": metrics, "paired": paired,
            "significant": significant,
            "speedup": _ratio(b.get("latency_p50"), c.get("latency_p50")),
            "throughput_ratio": _ratio(c.get("output_tps"), b.get("output_tps")),
            "regressions": [name for name, m in metrics.items() if m["flagged"]],
        })
    return rows


def compare(sides: list[Side], gates: Iterable[RegressionGate] = (),
            seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The comparison document (``compare.json``): the first side is the baseline."""
    if len(sides) < 2:
        raise ConfigError("compare needs a baseline and at least one candidate")
    return compare_pairs([(sides[0], side) for side in sides[1:]], gates, seed)


def compare_pairs(pairs: list[tuple[Side, Side]], gates: Iterable[RegressionGate] = (),
                  seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The comparison document of (baseline, candidate) pairs: each candidate against its
    own baseline."""
    if not pairs:
        raise ConfigError("compare needs a baseline and at least one candidate")
    rows = [row for base, side in pairs for row in compare_sides(base, side, seed)]
    serving = [row for base, side in pairs for row in serving_rows(base, side, seed)]
    gates = list(gates)
    return {
        "schema_version": SCHEMA_VERSION,
        "baseline": pairs[0][0].describe(),
        "candidates": [{**side.describe(), "baseline": base.label} for base, side in pairs],
        "seed": seed,
        "significance_level": SIGNIFICANCE,
        "rows": rows,
        "serving": serving,
        "regression_gates": [g.text for g in gates],
        "gate_failures": evaluate_regressions(gates, rows + serving),
    }
