"""pytest glue of ``--llmbench-batch``: start the batch coordinator, show batch progress.

The domain work is in
:mod:`pytest_llmbench.calls.batch`. Each process that runs tests
plans the whole run's batch requests from its collection (all processes collect
the same items); the first one submits, the others wait on the same batch ids.
The controller shows the batches' state from ``<run dir>/batches/status.json``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.calls.batch import (
    FOLDER,
    LEDGER,
    STATUS,
    BatchCoordinator,
    batch_models,
)
from pytest_llmbench.plugin import options
from pytest_llmbench.plugin.fixtures import item_params, item_variant
from pytest_llmbench.plugin.progress import write_between_lines
from pytest_llmbench.plugin.session import LLMBenchSession

SESSION_KEY = "batch_session"
RETRY_KEY = "batch_retry_errors"
_COORDINATORS: dict[int, BatchCoordinator] = {}


def wanted(bench: LLMBenchSession) -> bool:
    return bool(batch_models(bench.models, bench.batch))


def start(bench: LLMBenchSession, planned: list[pytest.Item]) -> BatchCoordinator:
    """This process's coordinator, with every planned item's requests in batches."""
    coordinator = BatchCoordinator(
        bench.engine, bench.run_path, batch_models(bench.models, bench.batch),
        bench.context, poll_s=bench.batch_poll,
        retry_errors=bool(bench.context.get(RETRY_KEY)),
        session=str(bench.context.get(SESSION_KEY) or ""))
    old = _COORDINATORS.pop(id(bench), None)
    if old is not None:
        old.close()
    _COORDINATORS[id(bench)] = coordinator
    coordinator.plan([request for item in planned
                      for request in bench.requests_for(
                          *item_params(item), item_variant(item))])  # type: ignore[arg-type]
    return coordinator


def configure(config: pytest.Config, bench: LLMBenchSession, controller: bool) -> None:
    """Register the glue when a model of the run is batched (on every process)."""
    if not wanted(bench):
        return
    if controller:
        bench.context.setdefault(SESSION_KEY, uuid.uuid4().hex)
        bench.context[RETRY_KEY] = bool(options.resolve(
            config, "retry_errors", bench.models_config.settings))
        config.pluginmanager.register(BatchProgress(config, bench), "llmbench-batch-progress")
    config.pluginmanager.register(BatchGlue(bench), "llmbench-batch")


class BatchGlue:
    def __init__(self, bench: LLMBenchSession) -> None:
        self.bench = bench

    @pytest.hookimpl
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Stop polling; the provider keeps the batches (``--llmbench-resume`` finds them)."""
        coordinator = _COORDINATORS.pop(id(self.bench), None)
        if coordinator is not None:
            coordinator.close()


class BatchProgress:
    """On the controller: a line whenever a batch changes state or progress, and the
    batches in the closing summary."""

    def __init__(self, config: pytest.Config, bench: LLMBenchSession) -> None:
        self.config = config
        self.bench = bench
        self.quiet = options.resolve(config, "progress", bench.models_config.settings) == "off"
        self.interval = min(float(bench.batch_poll), 5.0)
        self._seen: dict[str, tuple[Any, ...]] = {}
        self._first: dict[str, tuple[float, int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._last_report = time.monotonic()

    @property
    def status_path(self) -> Path:
        return self.bench.run_path / FOLDER / STATUS

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _ledger(self) -> dict[str, str]:
        path = self.status_path.with_name(LEDGER)
        out: dict[str, str] = {}
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return out
        for raw in lines:
            try:
                entry = json.loads(raw)
                out[entry["batch_id"]] = entry["model"]
            except (ValueError, KeyError, TypeError):
                continue
        return out

    @pytest.hookimpl
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not self.quiet:
            self._thread = threading.Thread(target=self._watch, name="llmbench-batch-progress",
                                            daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        """Lines are handed to the main thread, which writes them between pytest's lines;
        only while it is stalled (every item waits on a batch) does this thread write."""
        while not self._stop.wait(self.interval):
            lines = self.lines(changed_only=True)
            with self._lock:
                self._pending += lines
                stalled = time.monotonic() - self._last_report >= self.interval
            if stalled:
                self._flush()

    @pytest.hookimpl(trylast=True)  # after pytest's reporter wrote the item's dot
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._last_report = time.monotonic()
        if self._pending:
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if lines and reporter is not None:
            write_between_lines(reporter, "\n".join(lines))

    def lines(self, changed_only: bool) -> list[str]:
        out = []
        for batch_id, status in sorted(self._read().items()):
            done = int(status.get("done") or 0) + int(status.get("failed") or 0)
            state = (status.get("state"), done, status.get("provider_status"))
            if changed_only and self._seen.get(batch_id) == state:
                continue
            self._seen[batch_id] = state
            out.append(describe(batch_id, status, self._eta(batch_id, status, done)))
        return out

    def _eta(self, batch_id: str, status: dict[str, Any], done: int) -> float | None:
        """Seconds left at the rate seen so far (providers give a deadline, not an ETA)."""
        now = time.time()
        first = self._first.setdefault(batch_id, (now, done))
        total = int(status.get("total") or 0)
        if status.get("state") == "ended" or done <= first[1] or now <= first[0]:
            return None
        rate = (done - first[1]) / (now - first[0])
        return max(0.0, (total - done) / rate)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """A run interrupted before its first answer still gets its run directory (run.json,
        records.jsonl), so ``--llmbench-resume`` can find the batches it submitted."""
        controller = self.config.pluginmanager.get_plugin("llmbench-controller")
        if (controller is not None and self._ledger()
                and not controller.run_dir.started):
            controller.carry_over([])
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        batches = self._read()
        for batch_id, model in self._ledger().items():  # submitted, not yet asked about
            batches.setdefault(batch_id, {"model": model, "state": "submitted"})
        if not batches:
            return
        tr = terminalreporter
        for batch_id, status in sorted(batches.items()):
            tr.write_line(describe(batch_id, status, None))
        running = [b for b, s in batches.items() if s.get("state") != "ended"]
        if running:
            tr.write_line(f"llmbench batch: {len(running)} batch(es) still running at the "
                          f"provider; --llmbench-resume {self.bench.run_id} picks them up "
                          "(nothing is sent or paid twice)", yellow=True)
        tr.write_line("llmbench batch: latency, TTFT and tokens/s are not measured for batch "
                      "answers; costs are at batch prices (records' cost_basis says how)")


def describe(batch_id: str, status: dict[str, Any], eta: float | None) -> str:
    """``llmbench batch batch_abc (openai:gpt-4o-mini): in_progress 40/100, 2 failed ...``."""
    total = int(status.get("total") or 0)
    done = int(status.get("done") or 0)
    failed = int(status.get("failed") or 0)
    state = status.get("state")
    text = f"llmbench batch {batch_id} ({status.get('model')}): {state}"
    if status.get("provider_status"):
        text += f" [{status['provider_status']}] {done}/{total} done"
    if failed:
        text += f", {failed} failed"
    if eta is not None:
        text += f", ETA ~{_duration(eta)}"
    expires = status.get("expires_at")
    if expires and state != "ended":
        text += f", expires {datetime.fromtimestamp(expires, UTC):%Y-%m-%d %H:%M} UTC"
    if status.get("message") and state == "ended":
        text += f" - {status['message']}"
    return text


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
