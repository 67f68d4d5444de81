"""Shards of a run for schedulers that start the same command many times (Slurm job arrays,
Kubernetes Indexed Jobs, CI matrices): which shard this process is, and which items it runs.

Items are grouped by case (every model and variant of a case lands in the same shard, so a
shard compares models on the same cases) and the groups are packed onto the shards
largest-first by their expected cost (longest-processing-time first). The packing depends only
on the groups and their costs, never on the models or the order of collection, so every shard
of a run computes the same assignment and each item lands in exactly one shard.
"""

from __future__ import annotations

import hashlib
import heapq
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pytest_llmbench.errors import ConfigError

SHARD_ENV = "LLMBENCH_SHARD"
"""``INDEX/COUNT`` for CI matrices (``LLMBENCH_SHARD: ${{ matrix.shard }}/4``)."""
COUNT_ENV = "LLMBENCH_SHARD_COUNT"
"""The count beside a scheduler's index variable that has none (Kubernetes)."""
RUN_ID_ENV = "LLMBENCH_RUN_ID"


@dataclass(frozen=True)
class Shard:
    index: int
    count: int
    source: str = "--llmbench-shard"

    @classmethod
    def parse(cls, text: str, source: str = "--llmbench-shard") -> Shard:
        index, sep, count = str(text).strip().partition("/")
        try:
            shard = cls(int(index), int(count), source) if sep else None
        except ValueError:
            shard = None
        if shard is None or shard.count < 1 or not 0 <= shard.index < shard.count:
            raise ConfigError(f"{source} {text!r}: expected INDEX/COUNT with 0 <= INDEX < COUNT, "
                              "e.g. 0/4")
        return shard

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def folder_suffix(self) -> str:
        """Zero-padded, so shard folders sort in index order."""
        width = len(str(self.count - 1))
        return f"shard-{self.index:0{width}d}-of-{self.count}"

    def to_dict(self) -> dict[str, object]:
        return {"index": self.index, "count": self.count, "source": self.source}


def shard_from_env(environ: Mapping[str, str] | None = None) -> Shard | None:
    """The shard a scheduler started this process as, or None outside a sharded job.

    Slurm job arrays set ``SLURM_ARRAY_TASK_ID`` and ``SLURM_ARRAY_TASK_COUNT``; Kubernetes
    Indexed Jobs set ``JOB_COMPLETION_INDEX`` (the count comes from ``LLMBENCH_SHARD_COUNT``,
    which the manifest sets to its ``completions``); CI matrices set ``LLMBENCH_SHARD``.
    """
    env = os.environ if environ is None else environ
    if env.get(SHARD_ENV):
        return Shard.parse(env[SHARD_ENV], f"${SHARD_ENV}")
    if env.get("SLURM_ARRAY_TASK_ID") is not None and env.get("SLURM_ARRAY_TASK_COUNT"):
        base = _int(env.get("SLURM_ARRAY_TASK_MIN") or "0", "$SLURM_ARRAY_TASK_MIN")
        index = _int(env["SLURM_ARRAY_TASK_ID"], "$SLURM_ARRAY_TASK_ID") - base
        return Shard.parse(f"{index}/{env['SLURM_ARRAY_TASK_COUNT']}", "$SLURM_ARRAY_TASK_ID")
    if env.get("JOB_COMPLETION_INDEX") is not None:
        count = env.get(COUNT_ENV)
        if not count:
            raise ConfigError(f"$JOB_COMPLETION_INDEX is set but ${COUNT_ENV} is not: set it to "
                              "the Indexed Job's completions")
        return Shard.parse(f"{env['JOB_COMPLETION_INDEX']}/{count}", "$JOB_COMPLETION_INDEX")
    return None


def shared_run_id(environ: Mapping[str, str] | None = None) -> str | None:
    """A run id every shard of one job derives alike: the Slurm array job id, the GitHub
    Actions run (and attempt), or ``$LLMBENCH_RUN_ID``; None when the job gives none."""
    env = os.environ if environ is None else environ
    if env.get(RUN_ID_ENV):
        return env[RUN_ID_ENV]
    if env.get("SLURM_ARRAY_JOB_ID"):
        return f"slurm-{env['SLURM_ARRAY_JOB_ID']}"
    if env.get("GITHUB_RUN_ID"):
        return f"gh-{env['GITHUB_RUN_ID']}-{env.get('GITHUB_RUN_ATTEMPT') or '1'}"
    return None


def _int(text: str, source: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{source} {text!r}: not an integer") from None


def assign(groups: Iterable[tuple[str, float]], count: int) -> dict[str, int]:
    """Map each group key to a shard in ``range(count)``, balancing the summed costs.

    Largest cost first; ties broken by a hash of the key (not the key itself, so that
    neighbouring case ids spread over the shards); each group goes to the least loaded
    shard, the lowest index on a tie.
    """
    ordered = sorted(((max(float(cost), 0.0), hashlib.sha256(key.encode()).hexdigest(), key)
                      for key, cost in groups), key=lambda g: (-g[0], g[1]))
    loads = [(0.0, index) for index in range(count)]
    heapq.heapify(loads)
    placed: dict[str, int] = {}
    for cost, _, key in ordered:
        if key in placed:
            continue
        load, index = heapq.heappop(loads)
        placed[key] = index
        heapq.heappush(loads, (load + cost, index))
    return placed
