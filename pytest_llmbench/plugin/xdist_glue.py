"""pytest-xdist glue, registered only when xdist is present.

The controller makes the run id once and hands it to workers (they re-parse
the command line, so anything made at option time would differ per worker),
with the model lists it discovered for ``provider:*`` models,
and schedules whole shards so each worker knows which items it runs next.
"""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

from pytest_llmbench.plugin.session import LLMBenchSession
from pytest_llmbench.plugin.sharding import assign_shards, shard_size

RUN_ID = "llmbench_run_id"
CONTEXT = "llmbench_context"
SHARDED = "llmbench_sharded"
DISCOVERED = "llmbench_discovered"


class ShardScheduling(LoadScopeScheduling):
    """LoadScope scheduling where a scope is one shard (function x model x chunk).

    It also mends two ways xdist 3.8's LoadScope deadlocks when a crashed worker is
    replaced (pytest-xdist#1323, #1327, #1378): the dead worker's finished shards went back
    on the queue as empty units, and a replacement could be handed a single item, which
    an xdist worker never starts without knowing the item after it.
    """

    def __init__(self, config: pytest.Config, log: Any, bench: LLMBenchSession) -> None:
        super().__init__(config, log)
        self._bench = bench
        self._scopes: dict[str, str] = {}

    def schedule(self) -> None:
        if self.collection is None and self.collection_is_completed and self.registered_collections:
            collection = next(iter(self.registered_collections.values()))
            self._scopes = assign_shards(collection, self._bench.model_names,
                                         shard_size(self._bench.concurrency))
        super().schedule()

    def _split_scope(self, nodeid: str) -> str:
        return self._scopes.get(nodeid, nodeid)

    def remove_node(self, node: Any) -> str | None:
        """Re-queue only what the dead worker left unrun, less the item it died on: that
        item's report is the crash (as xdist's plain load scheduling does)."""
        workload = self.assigned_work.pop(node)
        pending = [(scope, nodeid) for scope, unit in workload.items()
                   for nodeid, done in unit.items() if not done]
        if not pending:
            return None
        scope, crashitem = pending[0]
        workload[scope][crashitem] = True
        self.workqueue.update((scope, unit) for scope, unit in workload.items()
                              if not all(unit.values()))
        for other in self.assigned_work:
            self._reschedule(other)
        return crashitem

    def _reschedule(self, node: Any) -> None:
        """Top a worker up to two pending items at least, or tell it nothing more comes."""
        if node.shutting_down:
            return
        work = self.assigned_work[node]
        if self.workqueue and self._pending_of(work) <= 2:
            self._assign_work_unit(node)
            while self.workqueue and self._pending_of(work) < 2:
                self._assign_work_unit(node)
        if not self.workqueue:
            node.shutdown()


class XdistGlue:
    def __init__(self, bench: LLMBenchSession, dist_mode: str) -> None:
        self.bench = bench
        self.dist_mode = dist_mode

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[RUN_ID] = self.bench.run_id
        node.workerinput[CONTEXT] = dict(self.bench.context)
        node.workerinput[DISCOVERED] = self.bench.discovered
        node.workerinput[SHARDED] = self.dist_mode == "shard" and node.config.getoption("dist") == "load"

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if self.dist_mode == "shard" and config.getoption("dist") == "load":
            return ShardScheduling(config, log, self.bench)
        return None


def sharding_active(config: pytest.Config) -> bool:
    """Whether this worker's items arrive shard by shard. The controller, which chose the
    scheduler, says so: xdist resets ``--dist`` to "no" on workers before they configure."""
    workerinput = getattr(config, "workerinput", None)
    return bool(workerinput and workerinput.get(SHARDED))
