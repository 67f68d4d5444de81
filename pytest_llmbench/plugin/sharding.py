"""Shards: consecutive runs of one test function x one model, cut into chunks.

Computed from the ordered nodeids alone, so the xdist controller (which never
collects) and every worker (which does) agree on them. A worker handed a whole
shard knows which items it will run next and can keep their calls in flight.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def shard_key(nodeid: str, model_names: Sequence[str]) -> str | None:
    """``path::func[model/case]`` -> ``path::func[model]``; None for other tests."""
    open_at = nodeid.find("[", nodeid.rfind("::") + 2 if "::" in nodeid else 0)
    if open_at < 0 or not nodeid.endswith("]"):
        return None
    param = nodeid[open_at + 1:-1]
    for name in model_names:
        if param.startswith(name + "/") or param == name:
            return f"{nodeid[:open_at]}[{name}]"
    return None


def assign_shards(nodeids: Iterable[str], model_names: Sequence[str], size: int
                  ) -> dict[str, str]:
    """nodeid -> scope name; benchmark items share a scope per shard, others stand alone."""
    scopes: dict[str, str] = {}
    counts: dict[str, int] = {}
    # Longest names first so "m:a-b" wins over its prefix "m:a".
    names = sorted(model_names, key=len, reverse=True)
    for nodeid in nodeids:
        key = shard_key(nodeid, names)
        if key is None:
            scopes[nodeid] = nodeid
            continue
        index = counts.get(key, 0)
        counts[key] = index + 1
        scopes[nodeid] = f"{key}#{index // size}"
    return scopes


def shard_size(concurrency: int) -> int:
    """Big enough to keep ``concurrency`` calls busy across a shard, small enough to balance."""
    return max(8, concurrency * 4)
