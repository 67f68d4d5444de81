"""An event a signal handler may set.

``threading.Event.set`` takes the lock that ``Event.wait`` holds for a moment in the same
(main) thread, so a signal landing at that moment deadlocks the process or recurses in the
handler; CI saw ``llmbench watch`` ignore a SIGTERM that way. Setting this event writes one
byte to a socket, which holds no lock; waiting is a ``select`` on the other end. Once set it
stays set, as an Event does.
"""

from __future__ import annotations

import select
import socket


class SignalEvent:
    def __init__(self) -> None:
        self._read, self._write = socket.socketpair()
        self._write.setblocking(False)

    def set(self) -> None:
        try:
            self._write.send(b"x")
        except BlockingIOError:  # set many times over: the buffer is full, it is set
            pass

    def wait(self, timeout: float | None = None) -> bool:
        ready, _, _ = select.select([self._read], [], [], timeout)
        return bool(ready)

    def is_set(self) -> bool:
        return self.wait(0)
