"""Live progress on the controller: done/total, outcomes, tokens/s, cost so far and ETA.

The controller sees every item's report (from every xdist worker), so counting
there is exact under ``-n N``. ``Tally`` is the arithmetic; ``PlainProgress``
prints a line every ``interval`` seconds for CI logs; ``RichProgress`` draws a
live bar on a terminal.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from pytest_llmbench.results.throughput import Throughput

PROGRESS_MODES = ("auto", "rich", "plain", "off")


@dataclass
class Tally:
    total: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("passed", "failed", "error", "skipped"), 0))
    output_tokens: int = 0
    throughput: Throughput = field(default_factory=Throughput)
    cost: float = 0.0
    cost_unknown: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def add(self, outcome: str, record: dict[str, Any] | None) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if record is None or not record.get("calls"):
            return
        self.output_tokens += record.get("output_tokens") or 0
        self.throughput.add_record(record)
        cost = record.get("cost_usd")
        if cost is None:
            self.cost_unknown = True
        elif not record.get("cached_calls"):  # answers from the cache cost nothing now
            self.cost += cost

    def tps_text(self, digits: int) -> str:
        """Output tokens / generation time so far (``results.throughput``), or ``- tok/s``."""
        tps = self.throughput.tps
        return f"{tps:.{digits}f} tok/s" if tps is not None else "- tok/s"

    def eta_s(self, now: float | None = None) -> float | None:
        done = self.done
        if not done or not self.total or done >= self.total:
            return None
        elapsed = (now or time.monotonic()) - self.started
        return elapsed / done * (self.total - done)

    def line(self, now: float | None = None) -> str:
        now = now or time.monotonic()
        c = self.counts
        total = self.total or "?"
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        cost = f"${self.cost:.4f}" + (" (unpriced)" if self.cost_unknown else "")
        eta = self.eta_s(now)
        return (f"llmbench progress: {self.done}/{total}{pct} passed={c['passed']} "
                f"failed={c['failed']} errors={c['error']} skipped={c['skipped']} | "
                f"{self.tps_text(1)} | cost {cost} | "
                f"ETA {_clock(eta) if eta is not None else '-'}")


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Display(Protocol):
    def update(self, tally: Tally) -> None: ...

    def close(self, tally: Tally) -> None: ...


class PlainProgress:
    """One line every ``interval`` seconds, for logs."""

    def __init__(self, write_line: Any, interval: float) -> None:
        self.write_line = write_line
        self.interval = interval
        self._last = time.monotonic()

    def update(self, tally: Tally) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self.write_line(tally.line(now))

    def close(self, tally: Tally) -> None:
        """The last line comes with the terminal summary."""


class RichProgress:
    """A live bar on the terminal (stderr), kept below pytest's own output: pytest's
    terminal writer is pointed at a proxy that prints whole lines above the bar."""

    def __init__(self, terminal_writer: Any = None) -> None:
        from rich.console import Console  # noqa: PLC0415 - only on a terminal
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = Console(file=sys.stderr)
        self.progress = Progress(TextColumn("llmbench"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"),
                                 TextColumn("{task.fields[detail]}"), TimeRemainingColumn(),
                                 console=self.console, transient=True, redirect_stdout=False,
                                 redirect_stderr=False)
        self.task = self.progress.add_task("run", total=None, detail="")
        self.progress.start()
        self._writer = terminal_writer
        self._original = getattr(terminal_writer, "_file", None)
        if self._original is not None:
            terminal_writer._file = _LineProxy(self.console, self._original)

    def update(self, tally: Tally) -> None:
        c = tally.counts
        detail = (f"✓{c['passed']} ✗{c['failed']} !{c['error']} "
                  f"{tally.tps_text(0)} ${tally.cost:.4f}")
        self.progress.update(self.task, completed=tally.done, total=tally.total or None,
                             detail=detail)

    def close(self, tally: Tally) -> None:
        if self._original is not None:
            proxy = self._writer._file
            self._writer._file = self._original
            proxy.flush_all()
        self.progress.stop()


class _LineProxy:
    """A file whose complete lines are printed through a rich console (above a live bar);
    a partial line (pytest's dots) waits for its end."""

    def __init__(self, console: Any, original: Any) -> None:
        from rich.text import Text  # noqa: PLC0415

        self._console = console
        self._original = original
        self._text = Text
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        if "\n" in self._buffer:
            lines, _, self._buffer = self._buffer.rpartition("\n")
            self._console.print(self._text.from_ansi(lines), highlight=False)
        return len(text)

    def flush(self) -> None:
        """Partial lines are kept until their newline."""

    def flush_all(self) -> None:
        if self._buffer:
            self._console.print(self._text.from_ansi(self._buffer), highlight=False)
            self._buffer = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


def choose_mode(mode: str, isatty: bool, env: dict[str, str]) -> str:
    """``auto``: a live bar on an interactive terminal, plain lines in CI and pipes."""
    if mode != "auto":
        return mode
    if env.get("CI") or not isatty or env.get("TERM") == "dumb":
        return "plain"
    return "rich"
