"""pytest wiring of ``--llmbench-shard INDEX/COUNT``: keep this shard's items, name its run
directory after its shard, and record what it was given so ``llmbench merge`` can tell a
complete run from one with a shard missing.

Every process computes the same assignment from the full collection (``tryfirst``: before
``-k``/``-m`` or a resume deselects anything), so xdist workers agree and reruns are stable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.plugin.fixtures import item_params
from pytest_llmbench.results.run_dir import write_json
from pytest_llmbench.results.shard_merge import SHARD_ITEMS_FILE
from pytest_llmbench.suites.partition import Shard, assign

OUTPUT_ESTIMATE = 256
"""Output tokens expected of an item when sizing shards (the prompt is counted as chars / 4)."""
SERVING_COST = 100_000.0
"""A serving point outweighs any single case: spread the points first."""


def _group(item: pytest.Item) -> tuple[str, float]:
    """The item's group (every model and variant of one case together) and its cost."""
    _, case = item_params(item)
    if case is not None:
        try:
            text = case.prompt
        except KeyError:
            text = json.dumps(case.row, default=str)
        return f"case:{case.suite}/{case.id}", len(text) / 4 + OUTPUT_ESTIMATE
    params = getattr(getattr(item, "callspec", None), "params", {})
    if "serving_point" in params:
        return f"serving:{item.nodeid}", SERVING_COST
    return f"test:{item.nodeid}", 1.0


class ShardSelection:
    def __init__(self, shard: Shard, run_dir: Path, writes_manifest: bool,
                 serving_everywhere: bool = False) -> None:
        self.shard = shard
        self.serving_everywhere = serving_everywhere  # --llmbench-serving-hosts
        self.run_dir = run_dir
        self.writes_manifest = writes_manifest
        self.kept = 0
        self.collected = 0

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        groups: dict[str, float] = {}
        keys = []
        for item in items:
            key, cost = _group(item)
            groups[key] = groups.get(key, 0.0) + cost
            keys.append(key)
        placed = assign(groups.items(), self.shard.count)
        mine = [placed[key] == self.shard.index
                or (self.serving_everywhere and key.startswith("serving:")) for key in keys]
        keep = [item for item, kept in zip(items, mine, strict=True) if kept]
        gone = [item for item, kept in zip(items, mine, strict=True) if not kept]
        self.collected, self.kept = len(items), len(keep)
        recorded = [item.nodeid for item, key, kept in zip(items, keys, mine, strict=True)
                    if kept and not key.startswith("test:")]  # benchmark items make records
        if gone:
            config.hook.pytest_deselected(items=gone)
            items[:] = keep
        if self.writes_manifest and recorded:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_json(self.run_dir / SHARD_ITEMS_FILE, {
                **self.shard.to_dict(), "collected": len(keys), "groups": len(groups),
                "items": recorded})

    def pytest_report_collectionfinish(self, config: pytest.Config) -> str:
        return (f"llmbench shard {self.shard.label} (from {self.shard.source}): "
                f"{self.kept} of {self.collected} items")

    def pytest_llmbench_update_run_info(self, info: dict[str, Any]) -> None:
        info["shard"] = self.shard.to_dict()
