"""The shard scheduler after a worker crash: no deadlock from finished or one-item shards.

A unit test of the scheduler's bookkeeping with stand-in worker controllers (the real
crash, end to end, is tests/plugin/test_xdist.py::test_killed_worker_loses_only_its_item,
which hit these deadlocks only under load).
"""

from __future__ import annotations

from collections import OrderedDict
from types import SimpleNamespace

from pytest_llmbench.plugin.xdist_glue import ShardScheduling


class Worker:
    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.queue: list[int | str] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.queue.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True
        self.queue.append("shutdown")


def _scheduler(shards: dict[str, list[str]], workers: list[Worker]) -> ShardScheduling:
    sched = ShardScheduling.__new__(ShardScheduling)
    collection = [nodeid for ids in shards.values() for nodeid in ids]
    sched.numnodes = len(workers)
    sched.collection = collection
    sched.log = lambda *args: None
    sched._scopes = {nodeid: scope for scope, ids in shards.items() for nodeid in ids}
    sched.workqueue = OrderedDict((scope, dict.fromkeys(ids, False))
                                  for scope, ids in shards.items())
    sched.assigned_work = {w: {} for w in workers}
    sched.registered_collections = {w: list(collection) for w in workers}
    return sched


def _runnable(worker: Worker) -> bool:
    """An xdist worker starts an item only once it knows the next one (or the end)."""
    return len(worker.queue) >= 2


def test_replacement_gets_only_unrun_items_and_can_start() -> None:
    a, b = Worker("gw0"), Worker("gw1")
    shards = {"s1": ["t1", "t2", "t3"], "s2": ["t4", "t5", "t6"], "s3": ["t7"], "s4": ["t8"]}
    sched = _scheduler(shards, [a, b])
    sched._assign_work_unit(a)  # s1
    sched._assign_work_unit(b)  # s2
    for index in (0, 1, 2):  # a finishes s1 and is topped up with s3 and s4
        sched.mark_test_complete(a, index)
    sched.mark_test_complete(b, 3)  # b runs t4, then dies on t5
    assert sched.remove_node(b) == "t5"
    assert list(sched.workqueue.values()) == [{"t4": True, "t5": True, "t6": False}]
    replacement = Worker("gw2")
    sched.assigned_work[replacement] = {}
    sched.registered_collections[replacement] = list(sched.collection)
    sched._reschedule(replacement)
    assert replacement.queue == [5, "shutdown"]  # t6 alone, then the end: it can start
    assert _runnable(replacement)


def test_finished_shards_of_a_dead_worker_are_not_requeued_as_empty_work() -> None:
    a, b = Worker("gw0"), Worker("gw1")
    sched = _scheduler({"s1": ["t1", "t2"], "s2": ["t3", "t4"], "s3": ["t5", "t6"]}, [a, b])
    sched._assign_work_unit(a)
    sched._assign_work_unit(b)
    for index in (2, 3, 4):
        sched.mark_test_complete(b, index)  # b finishes s2, takes s3, runs t5, dies on t6
    assert sched.remove_node(b) == "t6"
    assert not sched.workqueue  # xdist 3.8 re-queued s2 and s3: a replacement got []
