"""Checks for merging the shards of one run: every shard present, every assigned item
recorded exactly once, duplicates that disagree reported (never silently chosen).

Each shard writes ``shard.json`` (its index, the count and the node ids it was assigned) beside
its run.json; the merge compares those with the records it finds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHARD_ITEMS_FILE = "shard.json"
VERDICT_FIELDS = ("outcome", "score", "response", "error")


@dataclass
class ShardCheck:
    run_id: str | None = None
    count: int | None = None
    present: set[int] = field(default_factory=set)
    assigned: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    @property
    def missing_shards(self) -> list[int]:
        return sorted(set(range(self.count or 0)) - self.present)


def shard_folders(base: Path, run_id: str) -> list[Path]:
    """The shard directories of ``run_id`` under ``base`` (``<run_id>.shard-I-of-N``)."""
    return sorted(p for p in base.glob(f"{run_id}.shard-*-of-*") if p.is_dir())


def check_shards(sources: list[tuple[Path, dict[str, Any]]]) -> ShardCheck | None:
    """None when no source is a shard; else what the shards say, with problems found."""
    shards = [(path, info) for path, info in sources if isinstance(info.get("shard"), dict)]
    if not shards:
        return None
    check = ShardCheck()
    run_ids = {str(info.get("run_id")) for _, info in shards}
    counts = {int(info["shard"].get("count") or 0) for _, info in shards}
    if len(shards) < len(sources):
        check.problems.append("some runs are shards and some are not: merge shards of one run")
    if len(run_ids) > 1:
        check.problems.append(f"shards of different runs: {', '.join(sorted(run_ids))}")
    if len(counts) > 1:
        check.problems.append(f"shards cut with different counts: {sorted(counts)}")
    check.run_id, check.count = sorted(run_ids)[0], max(counts)
    for path, info in shards:
        index = int(info["shard"].get("index", -1))
        if index in check.present:
            check.problems.append(f"shard {index}/{check.count} given twice ({path})")
        check.present.add(index)
        manifest = path / SHARD_ITEMS_FILE
        try:
            check.assigned.update(json.loads(manifest.read_text(encoding="utf-8"))["items"])
        except (OSError, ValueError, KeyError, TypeError):
            check.problems.append(f"{manifest}: missing or unreadable; its assigned items "
                                  "cannot be checked")
    if check.missing_shards:
        check.problems.append(f"missing shard(s) {', '.join(map(str, check.missing_shards))} of "
                              f"{check.count}: their items are not in the merged run")
    return check


def dedupe(records: list[tuple[str, dict[str, Any]]], check: ShardCheck) -> list[dict[str, Any]]:
    """Each node id once (the first seen); a duplicate that disagrees on its verdict is a
    problem. ``records``: (source label, record)."""
    kept: dict[str, tuple[str, dict[str, Any]]] = {}
    out = []
    for label, record in records:
        nodeid = str(record.get("nodeid"))
        if nodeid in kept:
            first_label, first = kept[nodeid]
            if any(first.get(k) != record.get(k) for k in VERDICT_FIELDS):
                check.problems.append(
                    f"{nodeid}: recorded differently by {first_label} ({first.get('outcome')}) "
                    f"and {label} ({record.get('outcome')}); kept the first")
            continue
        kept[nodeid] = (label, record)
        out.append(record)
    unrecorded = sorted(check.assigned - set(kept))
    if unrecorded:
        shown = ", ".join(unrecorded[:5]) + (" ..." if len(unrecorded) > 5 else "")
        check.problems.append(f"{len(unrecorded)} assigned item(s) have no record: {shown}")
    return out
