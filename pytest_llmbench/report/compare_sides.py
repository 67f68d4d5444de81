"""One side of a comparison: a run, or one target of it (``RUN@TARGET``), with its records
and per (suite, model, target) summaries. Shared by the quality and serving comparisons."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.results.run_dir import RUN_FILE, read_records, resolve_run
from pytest_llmbench.results.summary import SummaryBuilder

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


def target_pairs(base: Path, spec: str) -> list[tuple[Side, Side]]:
    """(baseline, candidate) sides of one run's targets: each target with the baseline
    run.json names for it (its commit's own in a multi-commit run)."""
    try:
        path = resolve_run(base, spec)
        info = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
        records = read_records(path)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path / RUN_FILE}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    names = [str(t["name"]) for t in info.get("targets") or [] if isinstance(t, dict)]
    of = info.get("baselines")
    if not isinstance(of, dict):  # a run recorded before baselines were per commit
        first = str(info.get("baseline_target") or "").split(",")[0]
        of = {name: first for name in names} if first in names else {}
    present = {r.get("target") for r in records}
    wanted = [(str(of[n]), n) for n in names if of.get(n) and of[n] != n
              and n in present and of[n] in present]
    if not wanted:
        raise ConfigError(f"{path}: one run compares its targets with their baselines, but it "
                          "has no target with a baseline (give a baseline and a candidate run)")
    sides: dict[str, Side] = {}
    for name in dict.fromkeys(n for pair in wanted for n in pair):
        sides[name] = side_from_records(path, info, records, name)
    return [(sides[b], sides[c]) for b, c in wanted]


def side_from_records(path: Path, info: dict[str, Any], records: list[dict[str, Any]],
                      target: str | None = None) -> Side:
    """A side from records held elsewhere (the results server's database)."""
    if target is not None:
        # a target's records name their model ``provider:model@target``: without the
        # suffix, one target's items pair with another's (RUN@A against RUN@B)
        suffix = f"@{target}"
        records = [{**r, "model": str(r["model"]).removesuffix(suffix)} for r in records
                   if r.get("target") == target]
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
