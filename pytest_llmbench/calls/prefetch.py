"""Keep the calls of the items this process will run next in flight.

Items are grouped into lanes (one per shard under xdist, one per process
otherwise). When an item asks for its response, requests for the next
``lookahead`` items of its lane are submitted too, so while pytest runs one
test at a time, up to ``concurrency`` calls overlap underneath. An item may
need several calls (``--llmbench-samples``): ``build`` returns all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from typing import Any

from pytest_llmbench.calls.engine import Engine
from pytest_llmbench.providers.base import ChatRequest, Completion

Pending = tuple[list[ChatRequest], list[Future[Completion]]]

MIN_LOOKAHEAD = 256
"""Items submitted ahead at the least, whatever the concurrency. Each top-up is one hop to
the engine thread, which then has to win the GIL from pytest's thread a few times (up to
the 5 ms switch interval each) to start and settle the batch; with small batches of fast
calls pytest ends up waiting for those hand-offs. Queued requests wait for a concurrency
slot, so only ``concurrency`` calls are ever in flight."""


def lookahead(concurrency: int) -> int:
    """Enough queued to keep ``concurrency`` calls busy, in batches big enough to be cheap."""
    return max(4 * concurrency, MIN_LOOKAHEAD)


class Prefetcher:
    def __init__(self, engine: Engine, build: Callable[[Any], list[ChatRequest]],
                 lookahead: int) -> None:
        self.engine = engine
        self.build = build
        self.lookahead = lookahead
        self._lanes: list[Sequence[Any]] = []
        self._position: dict[Hashable, tuple[int, int]] = {}
        self._submitted_upto: list[int] = []
        self._futures: dict[Hashable, Pending] = {}

    def add_lane(self, items: Sequence[Any]) -> None:
        lane = len(self._lanes)
        self._lanes.append(items)
        self._submitted_upto.append(0)
        for index, item in enumerate(items):
            self._position[item] = (lane, index)

    def response(self, item: Any) -> Pending:
        """This item's requests and the futures of their calls, submitting them (and
        the items that follow) if not yet done."""
        where = self._position.get(item)
        if where is None:
            return self._submit_one(item)
        lane, index = where
        items = self._lanes[lane]
        upto = self._submitted_upto[lane]
        # Top the window up in batches: only once fewer than lookahead/2 items after this
        # one are submitted (lookahead is at least 4 x concurrency: the engine stays saturated).
        # One thread hop per batch instead of one per item; never submits more, or earlier,
        # than topping up on every item would.
        if upto <= index + self.lookahead // 2 and upto < len(items):
            end = min(len(items), index + 1 + self.lookahead)
            batch = items[max(upto, index):end]
            requests = [self.build(m) for m in batch]
            futures = iter(self.engine.submit_many([r for rs in requests for r in rs]))
            for member, calls in zip(batch, requests, strict=True):
                self._futures[member] = (calls, [next(futures) for _ in calls])
            self._submitted_upto[lane] = end
        pending = self._futures.pop(item, None)
        return pending if pending is not None else self._submit_one(item)

    def _submit_one(self, item: Any) -> Pending:
        requests = self.build(item)
        return requests, self.engine.submit_many(requests)
