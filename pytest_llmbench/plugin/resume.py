"""``--llmbench-resume`` and ``--llmbench-retry-errors``: finish an earlier run in place.

The plan is made once on the controller: the earlier run's records are read,
the ones kept are written back (records.jsonl and records.csv rewritten
atomically: a torn last line from a crash is dropped, and with retry-errors the
errored records are moved to ``records.superseded.jsonl``), and the node ids to
deselect are handed to every process. New records are appended to the same
files, so the final summary covers all items and no item runs twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmbench.config import redact
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.report.files import RECORDS_CSV, RecordsCsv
from pytest_llmbench.results.run_dir import RECORDS_FILE, RUN_FILE, read_records, resolve_run

SUPERSEDED_FILE = "records.superseded.jsonl"


@dataclass
class ResumePlan:
    """What an earlier run already holds: records kept, and which items to run."""

    mode: str  # "resume" | "retry-errors"
    path: Path
    kept: list[dict[str, Any]] = field(default_factory=list)
    done: set[str] = field(default_factory=set)
    """Node ids not to run again (their records are kept)."""
    only: set[str] | None = None
    """retry-errors: run only these node ids (the ones that errored)."""

    def wanted(self, nodeid: str) -> bool:
        if self.only is not None:
            return nodeid in self.only
        return nodeid not in self.done

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "path": str(self.path), "done": sorted(self.done),
                "only": None if self.only is None else sorted(self.only)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResumePlan:
        only = data.get("only")
        return cls(data["mode"], Path(data["path"]), done=set(data["done"]),
                   only=None if only is None else set(only))


def plan(output: Path, name: str, mode: str, models: list[Any], seed: int,
         sample: Any) -> ResumePlan:
    option = "--llmbench-resume" if mode == "resume" else "--llmbench-retry-errors"
    try:
        path = resolve_run(output, name)
    except FileNotFoundError:
        raise ConfigError(f"{option}: no run {name!r} under {output}") from None
    if not (path / RUN_FILE).is_file() or not (path / RECORDS_FILE).is_file():
        raise ConfigError(f"{option}: {path} has no {RUN_FILE} and {RECORDS_FILE}")
    try:
        info = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{option}: {path / RUN_FILE}: {exc}") from None
    _check_same(option, path, info, models, seed, sample)
    latest: dict[str, dict[str, Any]] = {}
    for record in read_records(path):
        latest[record["nodeid"]] = record  # a later record of a node id supersedes
    if mode == "resume":
        kept, dropped, only = list(latest.values()), [], None
    else:
        kept = [r for r in latest.values() if r["outcome"] != "error"]
        dropped = [r for r in latest.values() if r["outcome"] == "error"]
        only = {r["nodeid"] for r in dropped}
    result = ResumePlan(mode, path, kept, {r["nodeid"] for r in kept}, only)
    _rewrite(path, kept, dropped)
    return result


def _check_same(option: str, path: Path, info: dict[str, Any], models: list[Any], seed: int,
                sample: Any) -> None:
    """The earlier run must have had the same models, params, seed and sample."""
    before = {m["name"]: m.get("params") or {} for m in info.get("models", [])}
    now = {m.name: redact(dict(m.params)) for m in models}
    problems = []
    if before != now:
        problems.append(f"models {_describe(before)} (now {_describe(now)})")
    if info.get("seed") != seed:
        problems.append(f"seed {info.get('seed')} (now {seed})")
    if info.get("sample") != sample:
        problems.append(f"sample {info.get('sample')} (now {sample})")
    if problems:
        raise ConfigError(f"{option}: run {path.name} was made with {'; '.join(problems)}; "
                          "resume needs the same models, params, seed and sample")


def _describe(models: dict[str, Any]) -> str:
    return ", ".join(f"{name}{params or ''}" for name, params in sorted(models.items())) or "none"


def _rewrite(path: Path, kept: list[dict[str, Any]], dropped: list[dict[str, Any]]) -> None:
    if dropped:
        with (path / SUPERSEDED_FILE).open("a", encoding="utf-8") as handle:
            for record in dropped:
                handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    _replace(path / RECORDS_FILE, "".join(
        json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in kept))
    (path / RECORDS_CSV).unlink(missing_ok=True)  # a derived table: rebuilt from the kept
    table = RecordsCsv(path)
    for record in kept:
        table.append(record)
    table.close()


def _replace(target: Path, text: str) -> None:
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
