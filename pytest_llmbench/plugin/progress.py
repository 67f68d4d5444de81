"""Live progress on the controller: done/total, outcomes, tokens/s, cost so far and ETA.

The controller sees every item's report (from every xdist worker), so counting
there is exact under ``-n N``; the counts are pytest's own categories. ``Tally`` is the
arithmetic; ``PlainProgress`` prints a line every ``interval`` seconds for CI logs;
``RichProgress`` draws a live bar on a terminal.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from pytest_llmbench.results.throughput import Throughput

PROGRESS_MODES = ("auto", "rich", "plain", "off")


# pytest's own order and words for its closing counts ("3 failed, 10 passed, 1 error")
_CATEGORIES = (("failed", "failed", "failed"), ("passed", "passed", "passed"),
               ("skipped", "skipped", "skipped"), ("xfailed", "xfailed", "xfailed"),
               ("xpassed", "xpassed", "xpassed"), ("error", "error", "errors"))


@dataclass
class Tally:
    """Items done and pytest's own counts (what its closing line will say), plus the
    benchmark figures so far. ``counts`` holds pytest's report categories, so a
    ``--llmbench-score-only`` wrong answer is ``passed`` here as it is for pytest; such
    answers are counted apart in ``scored_wrong``."""

    total: int = 0
    done: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    scored_wrong: int = 0
    output_tokens: int = 0
    throughput: Throughput = field(default_factory=Throughput)
    cost: float = 0.0
    cost_unknown: bool = False
    started: float = field(default_factory=time.monotonic)

    def count(self, category: str) -> None:
        """One report of pytest's ``category`` (``pytest_report_teststatus``)."""
        if category:
            self.counts[category] = self.counts.get(category, 0) + 1

    def add(self, record: dict[str, Any] | None, passed: bool = False) -> None:
        """One item finished (its benchmark record, when it has one)."""
        self.done += 1
        if record is None:
            return
        if passed and record.get("outcome") == "failed":  # --llmbench-score-only
            self.scored_wrong += 1
        if not record.get("calls"):
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

    def cost_text(self) -> str:
        """``$0.0123``; ``unknown`` when no call was priced; ``$0.0123 + unknown`` when some
        were (an unpriced call is never counted as free)."""
        if not self.cost_unknown:
            return f"${self.cost:.4f}"
        return f"${self.cost:.4f} + unknown" if self.cost else "unknown"

    def counts_text(self, wrong: str = "scored wrong") -> str:
        """pytest's words: ``10 failed, 9 passed (3 scored wrong), 1 error``."""
        parts = []
        for key, one, many in _CATEGORIES:
            n = self.counts.get(key, 0)
            if n:
                note = f" ({self.scored_wrong} {wrong})" if key == "passed" and \
                    self.scored_wrong else ""
                parts.append(f"{n} {one if n == 1 else many}{note}")
        return ", ".join(parts) or "no tests ran"

    def eta_s(self, now: float | None = None) -> float | None:
        done = self.done
        if not done or not self.total or done >= self.total:
            return None
        elapsed = (now or time.monotonic()) - self.started
        return elapsed / done * (self.total - done)

    def line(self, now: float | None = None, width: int = 100) -> str:
        """Lines of at most ``width`` columns where they can be: throughput, then the ETA
        give way first; with counts too long for one line, the cost goes to a second."""
        now = now or time.monotonic()
        total = self.total or "?"
        pct = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        eta = self.eta_s(now)
        head = f"llmbench progress: {self.done}/{total}{pct} {self.counts_text()}"
        cost = f"cost {self.cost_text()}"
        eta_text = f"ETA {_clock(eta) if eta is not None else '-'}"
        for parts in ([head, self.tps_text(1), cost, eta_text], [head, cost, eta_text],
                      [head, cost]):
            line = " | ".join(parts)
            if len(line) <= width:
                return line
        short = f"llmbench: {self.done}/{total}{pct} {self.counts_text('wrong')}"
        return f"{short}\nllmbench: {cost} | {eta_text}"


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Display(Protocol):
    def update(self, tally: Tally) -> None: ...

    def close(self, tally: Tally) -> None: ...


class PlainProgress:
    """A line every ``interval`` seconds, for logs, written only at a line boundary of
    pytest's output: after a finished verbose line, at the start of a line, or after
    ending pytest's line of dots as pytest does at the right edge (with its ``[ 40%]``),
    so no log line mixes pytest's dots with a progress line."""

    def __init__(self, reporter: Any, interval: float, width: int = 100) -> None:
        self.reporter = reporter
        self.interval = interval
        self.width = width
        self._last = time.monotonic()

    def update(self, tally: Tally) -> None:
        now = time.monotonic()
        if now - self._last < self.interval or (tally.total and tally.done >= tally.total):
            return  # the last line comes with the terminal summary
        self._last = now
        write_between_lines(self.reporter, tally.line(now, self.width))

    def close(self, tally: Tally) -> None:
        """The last line comes with the terminal summary."""


def write_between_lines(reporter: Any, text: str, **markup: bool) -> None:
    """Write ``text`` as lines of their own through pytest's terminal reporter (called after
    the reporter handled an item's report, or while the main thread waits in a test)."""
    tw = reporter._tw
    if not tw.width_of_current_line:
        tw.line(text, **markup)
        return
    if reporter.currentfspath == -2:  # a verbose line, finished but for its newline
        reporter.write_line(text, **markup)
        return
    if getattr(reporter, "_show_progress_info", False):
        reporter._write_progress_information_filling_space()  # pytest's "[ 40%]"
    tw.line()
    reporter.currentfspath = None  # the next dot starts a line with its file name
    tw.line(text, **markup)


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
        detail = (f"✓{c.get('passed', 0)} ✗{c.get('failed', 0)} !{c.get('error', 0)} "
                  f"{tally.tps_text(0)} {tally.cost_text()}")
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
