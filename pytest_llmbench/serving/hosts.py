"""One serving point spread over several hosts (the shards of a run, ``--llmbench-serving-hosts``).

Each host runs a ``LoadRunner`` with part (shard index, shard count): its slice of the point's
one seeded arrival schedule, or its share of the concurrency, exactly as ``processes: N``
splits a point on one machine. After its warm-up every host waits at a barrier in the run's
coordinator, and all start on one instant the last host to arrive sets. ``llmbench merge``
then pools the hosts' raw samples into one record (``report.merge.pool_point``) and checks
each host's harness.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.serving.load import LoadRunner


class HostRunner(LoadRunner):
    def __init__(self, spec: ModelSpec, context: dict[str, Any], timeout: float,
                 part: tuple[int, int], barrier: Callable[[], float]) -> None:
        super().__init__(spec, context, timeout, part)
        self.barrier = barrier

    async def until_start(self) -> None:
        go = await asyncio.to_thread(self.barrier)
        await asyncio.sleep(max(0.0, go - time.time()))
