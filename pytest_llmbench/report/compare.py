"""Run-to-run comparison: per (suite, model, target) deltas, paired statistics on the
shared cases, regression flags and speedup ratios.

A side of a comparison is a run, or one target of a run (``RUN@TARGET``), so the
same code compares two commits, two engine builds in one run, or both. The first
side is the baseline; every other side is a candidate compared against it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.report.compare_serving import serving_rows
from pytest_llmbench.results.paired import paired_compare
from pytest_llmbench.results.regression import (
    COMPARED,
    RATES,
    SIGNIFICANCE,
    RegressionGate,
    evaluate_regressions,
    higher_is_better,
)
from pytest_llmbench.results.run_dir import RUN_FILE, read_records, resolve_run
from pytest_llmbench.results.summary import SummaryBuilder

SCHEMA_VERSION = 1
COMPARE_FILE = "compare.json"
# A metric other than accuracy is flagged when it is worse by more than this, relative.
FLAG_RELATIVE = 0.10
# A rate (error, extraction failure) is flagged when it is worse by more than this, absolute.
FLAG_RATE_POINTS = 0.01
DEFAULT_SEED = 42

Key = tuple[str, str, str | None]


@dataclass
class Side:
    """A run, or one target of it, with its records."""

    path: Path
    info: dict[str, Any]
    records: list[dict[str, Any]]
    target: str | None = None
    rows: dict[Key, dict[str, Any]] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return str(self.info.get("run_id") or self.path.name)

    @property
    def label(self) -> str:
        git = self.info.get("git") or {}
        commit = f" ({str(git['commit'])[:8]})" if git.get("commit") else ""
        return f"{self.run_id}{'@' + self.target if self.target else ''}{commit}"

    def key(self, record: dict[str, Any]) -> Key:
        return (record["suite"], model_key(record), None if self.target else record.get("target"))

    def describe(self) -> dict[str, Any]:
        git = self.info.get("git") or {}
        return {"run_id": self.run_id, "path": str(self.path), "target": self.target,
                "label": self.label, "commit": git.get("commit"), "branch": git.get("branch"),
                "started_at": self.info.get("started_at"), "records": len(self.records)}


def model_key(row: dict[str, Any]) -> str:
    """A record's or row's model, as ``model/variant`` when its suite has variants, so a
    variant is compared like a model."""
    return f"{row['model']}/{row['variant']}" if row.get("variant") else str(row["model"])


def load_side(base: Path, spec: str) -> Side:
    """``spec``: a run id, ``latest`` or a path, optionally ``@TARGET``."""
    name, _, target = spec.partition("@")
    try:
        path = resolve_run(base, name)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    return side_from_path(path, target or None)


def side_from_path(path: Path, target: str | None = None) -> Side:
    info_path = path / RUN_FILE
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        records = read_records(path)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: not a run directory ({exc.filename} is missing)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{info_path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    return side_from_records(path, info, records, target)


def side_from_records(path: Path, info: dict[str, Any], records: list[dict[str, Any]],
                      target: str | None = None) -> Side:
    """A side from records held elsewhere (the results server's database)."""
    if target is not None:
        records = [r for r in records if r.get("target") == target]
        if not records:
            raise ConfigError(f"{path}: no records with target {target!r}")
    side = Side(path=path, info=info, records=records, target=target)
    side.rows = _summaries(side)
    return side


def _summaries(side: Side) -> dict[Key, dict[str, Any]]:
    builders: dict[str | None, SummaryBuilder] = {}
    for record in side.records:
        target = side.key(record)[2]
        builders.setdefault(target, SummaryBuilder()).add(record)
    rows = {}
    for target, builder in builders.items():
        for row in builder.rows():
            rows[(row["suite"], model_key(row), target)] = row
    return rows


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
        paired = paired_compare(pairs, seed).to_dict() if pairs else None
        accuracy = metrics["accuracy"]
        if paired and accuracy["change"] == "worse":
            accuracy["flagged"] = paired["mcnemar_p"] < SIGNIFICANCE
        rows.append({
            "suite": key[0], "model": key[1], "target": key[2] or candidate.target,
            "baseline": baseline.label, "candidate": candidate.label,
            "baseline_n": b.get("n", 0), "candidate_n": c.get("n", 0),
            "metrics": metrics, "paired": paired,
            "significant": bool(paired and paired["mcnemar_p"] < SIGNIFICANCE),
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
    baseline, candidates = sides[0], sides[1:]
    rows = [row for side in candidates for row in compare_sides(baseline, side, seed)]
    serving = [row for side in candidates for row in serving_rows(baseline, side, seed)]
    gates = list(gates)
    return {
        "schema_version": SCHEMA_VERSION,
        "baseline": baseline.describe(),
        "candidates": [side.describe() for side in candidates],
        "seed": seed,
        "significance_level": SIGNIFICANCE,
        "rows": rows,
        "serving": serving,
        "regression_gates": [g.text for g in gates],
        "gate_failures": evaluate_regressions(gates, rows + serving),
    }
