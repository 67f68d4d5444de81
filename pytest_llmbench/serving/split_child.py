"""One load process of a split point (``python -m pytest_llmbench.serving.split_child I N``).

Reads its settings from stdin (a pickle from ``serving.split``, so API keys
never appear on a command line), warms up, says ``ready``, waits for the
common start instant, runs its part of the point and writes back its samples
and harness figures as plain builtins. Its stdout carries only these
messages; anything printed goes to stderr.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
import time
from typing import IO, Any

from pytest_llmbench.serving.load import LoadRunner


class ChildRunner(LoadRunner):
    """A ``LoadRunner`` that waits for the parent's start instant after its warm-up."""

    def __init__(self, *args: Any, inbox: IO[bytes], outbox: IO[bytes], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inbox, self.outbox = inbox, outbox

    async def until_start(self) -> None:
        send(self.outbox, "ready", True)
        go = await asyncio.to_thread(pickle.load, self.inbox)
        await asyncio.sleep(max(0.0, go - time.time()))


def send(outbox: IO[bytes], kind: str, payload: Any) -> None:
    pickle.dump((kind, payload), outbox)
    outbox.flush()


def main(argv: list[str]) -> int:
    index, count = int(argv[0]), int(argv[1])
    outbox = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the pipe
    inbox = sys.stdin.buffer
    spec, context, timeout, suite, point = pickle.load(inbox)
    runner = ChildRunner(spec, context, timeout, part=(index, count), inbox=inbox, outbox=outbox)
    try:
        result = runner.run(suite, point)
    except Exception as exc:  # noqa: BLE001 - the parent reports it in one line
        text = str(exc).strip().splitlines()
        send(outbox, "error", f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": "))
        return 1
    send(outbox, "done", {"started_at": result.started_at,
                          "duration_s": result.window.duration_s,
                          "harness": {**result.harness, "pid": os.getpid()},
                          "samples": [s.to_dict() for s in result.window.samples]})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
