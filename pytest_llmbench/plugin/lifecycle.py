"""pytest glue of the run lifecycle: resume, cache/replay options, budget skips, progress.

``prepare`` runs on the controller before the run id and the controller's run
directory are fixed (resume reuses an earlier run's directory), and writes the
cache, recording and budget settings into the run context every process shares.
``register`` installs the hooks: deselection and budget skips in every process,
progress and the closing lines on the controller only.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.calls import layers
from pytest_llmbench.calls.budget import SKIP_PREFIX, BudgetExhausted, totals
from pytest_llmbench.calls.store import ResponseStore
from pytest_llmbench.errors import ConfigError, LLMBenchError
from pytest_llmbench.plugin import options
from pytest_llmbench.plugin.progress import (
    Display,
    PlainProgress,
    RichProgress,
    Tally,
    choose_mode,
    write_between_lines,
)
from pytest_llmbench.plugin.resume import ResumePlan, plan
from pytest_llmbench.plugin.session import LLMBenchSession
from pytest_llmbench.plugin.terminal_width import terminal_width

RESUME = "llmbench_resume"
DEBUG_LOG = "debug.log"
PLAN = pytest.StashKey[ResumePlan | None]()
log = logging.getLogger("pytest_llmbench")


def prepare(config: pytest.Config, bench: LLMBenchSession) -> None:
    """On the controller: resolve the lifecycle options once for the whole run."""
    try:
        _prepare(config, bench)
    except LLMBenchError as exc:
        raise pytest.UsageError(str(exc)) from None


def _prepare(config: pytest.Config, bench: LLMBenchSession) -> None:
    settings = bench.models_config.settings

    def get(name: str) -> Any:
        return options.resolve(config, name, settings)

    replay, record = get("replay"), get("record")
    if replay:
        folder = _absolute(bench.rootdir, replay)
        if not folder.is_dir():
            raise ConfigError(f"--llmbench-replay: no recording folder {folder}")
        bench.context[layers.REPLAY_DIR] = str(folder)
    if record:
        bench.context[layers.RECORD_DIR] = str(_absolute(bench.rootdir, record))
    mode = get("cache")
    if mode != "off" and not replay:
        bench.context[layers.CACHE_MODE] = mode
        bench.context[layers.CACHE_DIR] = str(_absolute(bench.rootdir, get("cache_dir")))
    resume, retry = get("resume"), get("retry_errors")
    if resume and retry:
        raise ConfigError("--llmbench-resume and --llmbench-retry-errors exclude each other")
    config.stash[PLAN] = None
    if resume or retry:
        resumed = plan(bench.output, resume or retry, "resume" if resume else "retry-errors",
                       bench.models, bench.seed, bench.sample)
        suffix = f".{bench.shard.folder_suffix}" if bench.shard else ""
        bench.run_id = resumed.path.name.removesuffix(suffix) if suffix else resumed.path.name
        bench.output = resumed.path.parent
        config.stash[PLAN] = resumed
        log.debug("resume: %s keeps %d records", resumed.path, len(resumed.kept))
    budget = get("budget")
    if budget is not None and not replay:
        bench.context[layers.BUDGET] = budget
        bench.context[layers.BUDGET_DIR] = tempfile.mkdtemp(prefix="llmbench-budget-")


def _absolute(rootdir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else rootdir / path


def register(config: pytest.Config, bench: LLMBenchSession, controller: bool) -> None:
    settings = bench.models_config.settings
    try:
        debug = options.resolve(config, "debug", settings)
        progress = (options.resolve(config, "progress", settings),
                    options.resolve(config, "progress_interval", settings))
    except LLMBenchError as exc:
        raise pytest.UsageError(str(exc)) from None
    handlers = _debug_logging(bench.run_path / DEBUG_LOG,
                              to_stderr=config.getoption("capture", None) == "no") if debug else []
    workerinput = getattr(config, "workerinput", None)
    resumed = config.stash.get(PLAN, None)
    if workerinput is not None and workerinput.get(RESUME):
        resumed = ResumePlan.from_dict(workerinput[RESUME])
    config.pluginmanager.register(ItemLifecycle(resumed, handlers), "llmbench-lifecycle")
    if layers.BUDGET in bench.context:
        config.pluginmanager.register(BudgetSkips(), "llmbench-budget-skips")
    if controller:
        config.pluginmanager.register(RunLifecycle(config, bench, resumed, *progress),
                                      "llmbench-lifecycle-controller")


def _scrub_log_record(record: logging.LogRecord) -> bool:
    """Known secrets never reach debug.log: the message is rendered and redacted."""
    from pytest_llmbench.redaction import scrub  # noqa: PLC0415

    record.msg, record.args = scrub(record.getMessage()), None
    return True


def _debug_logging(path: Path, to_stderr: bool) -> list[logging.Handler]:
    """Every process appends to the run's debug.log (pytest captures stderr while tests
    run); with ``-s`` the lines go to stderr too."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    formatter = logging.Formatter(f"%(asctime)s [%(levelname)s] %(name)s [{worker}]: "
                                  "%(message)s", "%H:%M:%S")
    path.parent.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    if to_stderr:
        handlers.append(logging.StreamHandler(sys.__stderr__))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(_scrub_log_record)
        log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    return handlers


class ItemLifecycle:
    """In every process that runs tests: deselect what an earlier run holds."""

    def __init__(self, resumed: ResumePlan | None, handlers: list[logging.Handler]) -> None:
        self.resumed = resumed
        self.handlers = handlers

    @pytest.hookimpl
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        for handler in self.handlers:
            log.removeHandler(handler)
            handler.close()
        if self.handlers:
            log.setLevel(logging.NOTSET)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        if self.resumed is None:
            return
        keep = [item for item in items if self.resumed.wanted(item.nodeid)]
        gone = [item for item in items if not self.resumed.wanted(item.nodeid)]
        if gone:
            config.hook.pytest_deselected(items=gone)
            items[:] = keep


class BudgetSkips:
    """With a budget: turn a call the budget did not start into a skip with its reason
    (registered only then, so a run without a budget pays nothing per item)."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            return (yield)
        except BudgetExhausted as exc:
            raise pytest.skip.Exception(str(exc), _use_item_location=True) from None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            return (yield)
        except BudgetExhausted as exc:
            raise pytest.skip.Exception(str(exc), _use_item_location=True) from None


class RunLifecycle:
    """On the controller: carry resumed records over, show progress, report the cache and
    the budget, and fail the session when the budget stopped it."""

    def __init__(self, config: pytest.Config, bench: LLMBenchSession,
                 resumed: ResumePlan | None, progress: str, interval: float) -> None:
        self.config = config
        self.bench = bench
        self.resumed = resumed
        self.tally = Tally()
        self.display: Display | None = None
        self.budget_skips = 0
        self.cached_calls = 0
        self.calls = 0
        self.mode = choose_mode(progress, sys.stdout.isatty(), dict(os.environ))
        self.interval = interval
        self.shown = False
        self.started = time.time()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self.resumed is not None:
            node.workerinput[RESUME] = self.resumed.as_dict()

    @pytest.hookimpl
    def pytest_llmbench_update_run_info(self, info: dict[str, Any]) -> None:
        if self.resumed is not None:
            info["resumed"] = {"mode": self.resumed.mode, "records_kept": len(self.resumed.kept)}
        context = self.bench.context
        for key, name in ((layers.REPLAY_DIR, "replay"), (layers.RECORD_DIR, "record"),
                          (layers.CACHE_MODE, "cache"), (layers.BUDGET, "budget_usd")):
            if context.get(key):
                info[name] = context[key]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.resumed is not None and self.resumed.kept:
            controller = self.config.pluginmanager.get_plugin("llmbench-controller")
            if controller is not None:
                controller.carry_over(self.resumed.kept)

    def _start_display(self) -> None:
        """On the first benchmark record: runs without benchmarks show no progress."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if self.mode == "off" or reporter is None:
            return
        if self.mode == "rich":
            self.display = RichProgress(getattr(reporter, "_tw", None))
        else:
            self.display = PlainProgress(reporter, self.interval, terminal_width(reporter))
        self.shown = True

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.tally.total = len(session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.tally.total = len(ids)

    @pytest.hookimpl(trylast=True)  # after pytest's reporter wrote the item's dot
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if str(report.outcome) == "rerun":  # pytest-rerunfailures
            return
        status = self.config.hook.pytest_report_teststatus(report=report, config=self.config)
        self.tally.count(status[0] if status else "")
        final = report.when == "call" or (report.when == "setup" and not report.passed)
        if not final:
            return
        record = getattr(report, "llmbench", None)
        record = record if isinstance(record, dict) else None
        self.tally.add(record, passed=report.passed)
        if record is not None:
            if not self.shown:
                self._start_display()
            self.calls += record.get("calls") or 0
            self.cached_calls += record.get("cached_calls") or 0
            if record.get("outcome") == "skipped" and \
                    SKIP_PREFIX in str(record.get("error") or ""):
                if not self.budget_skips:
                    self._say(f"llmbench: {record['error']}; the items left are skipped")
                self.budget_skips += 1
        if self.display is not None:
            self.display.update(self.tally)

    def _say(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            write_between_lines(reporter, line, yellow=True)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.display is not None:
            self.display.close(self.tally)
            self.display = None
        if self.budget_skips and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        context = self.bench.context
        if self.shown:
            tr.write_line(self.tally.line(width=terminal_width(tr)))
        if self.resumed is not None:
            tr.write_line(f"llmbench {self.resumed.mode}: {len(self.resumed.kept)} records kept "
                          f"from {self.resumed.path}")
        if context.get(layers.CACHE_DIR) or context.get(layers.REPLAY_DIR):
            folder = context.get(layers.REPLAY_DIR) or context[layers.CACHE_DIR]
            info = ResponseStore(Path(folder)).info()
            tr.write_line(f"llmbench cache: {self.cached_calls} of {self.calls} calls answered "
                          f"from {folder} ({info.entries} entries, {_size(info.bytes)})")
            bad = ResponseStore(Path(folder)).set_aside_since(self.started)
            if bad:
                tr.write_line(f"llmbench cache: {len(bad)} unreadable entr"
                              f"{'y' if len(bad) == 1 else 'ies'}: {bad[0]}", yellow=True)
        if context.get(layers.RECORD_DIR):
            info = ResponseStore(Path(context[layers.RECORD_DIR])).info()
            tr.write_line(f"llmbench record: {info.entries} exchanges in "
                          f"{context[layers.RECORD_DIR]} (replay with --llmbench-replay)")
        if context.get(layers.BUDGET_DIR):
            spent, _, stopped = totals(Path(context[layers.BUDGET_DIR]))
            state = (f"stopped starting calls, {self.budget_skips} items skipped"
                     if stopped else "not reached")
            tr.write_line(f"llmbench budget: ${spent:.4f} spent of ${context[layers.BUDGET]:.2f}"
                          f"; {state}", yellow=bool(stopped), bold=bool(stopped))

    @pytest.hookimpl
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        folder = self.bench.context.get(layers.BUDGET_DIR)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def _size(count: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000  # type: ignore[assignment]
    return f"{count} B"
