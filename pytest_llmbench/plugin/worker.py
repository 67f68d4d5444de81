"""Worker side: turn each benchmark test's outcome into a Record on its report.

Runs in every process that executes tests (an xdist worker or a plain run).
The record travels as plain builtins on ``report.llmbench``, so xdist ships it
to the controller with the report and nothing can break execnet.
"""

from __future__ import annotations

import gc
from collections.abc import Generator
from typing import Any

import pytest

from pytest_llmbench.calls.prefetch import Prefetcher, lookahead
from pytest_llmbench.errors import LLMBenchError, ProviderError, WrongAnswer
from pytest_llmbench.plugin import batch as batch_plugin
from pytest_llmbench.plugin.fixtures import (
    fetch_response,
    item_params,
    item_variant,
    recorder_for,
    suite_test,
)
from pytest_llmbench.plugin.session import LLMBenchSession
from pytest_llmbench.plugin.sharding import assign_shards, shard_size
from pytest_llmbench.plugin.stash import RECORDER
from pytest_llmbench.providers.base import Completion
from pytest_llmbench.redaction import scrub, scrub_value


class LLMBenchWorker:
    def __init__(self, session: LLMBenchSession, sharded: bool) -> None:
        self.session = session
        self.sharded = sharded
        self.outermost = not _RUNNING  # not a run started inside another (pytester inline)
        _RUNNING.append(self)

    @pytest.hookimpl
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        _RUNNING.remove(self)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Feed the simulator its answers, then plan prefetching: one lane per shard
        (xdist) or one for the whole process."""
        sim_url = self.session.context.get("sim_url")
        if sim_url and self.session.suites_by_name:
            from pytest_llmbench.plugin.sim_link import post_answer_key  # noqa: PLC0415

            post_answer_key(sim_url, self.session.suites_by_name.values())
        planned = [item for item in session.items
                   if _runs_suite_prompt(item) and item.get_closest_marker("skip") is None]
        if not planned:
            return
        bench = self.session
        calls: Any = bench.engine
        ahead = lookahead(bench.concurrency)
        if batch_plugin.wanted(bench):  # every planned item's request goes out at once
            calls, ahead = batch_plugin.start(bench, planned), len(planned) + 1
        prefetcher = Prefetcher(calls, lambda item: bench.requests_for(
            *item_params(item), item_variant(item)),  # type: ignore[arg-type] # planned: both set
            lookahead=ahead)
        if self.sharded:
            scopes = assign_shards((i.nodeid for i in planned), bench.model_names,
                                   shard_size(bench.concurrency))
            lanes: dict[str, list[pytest.Item]] = {}
            for item in planned:
                lanes.setdefault(scopes[item.nodeid], []).append(item)
            for lane in lanes.values():
                prefetcher.add_lane(lane)
        else:
            prefetcher.add_lane(planned)
        bench.prefetcher = prefetcher
        if self.outermost:
            _freeze_collected()

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """A YAML suite item's response, fetched after its fixtures are set up."""
        if _is_suite_item(item):
            recorder = recorder_for(item)
            assert recorder is not None
            item.stash[RESPONSE] = fetch_response(item, recorder)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        """A YAML suite item's test body: score the response; a wrong answer fails."""
        if not _is_suite_item(pyfuncitem):
            return None
        recorder = recorder_for(pyfuncitem)
        assert recorder is not None
        completion = pyfuncitem.stash[RESPONSE]
        del pyfuncitem.stash[RESPONSE]
        recorder.check(completion)
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "teardown" or (call.when == "setup" and report.passed):
            return report
        recorder = recorder_for(item)
        if recorder is None:
            return report
        excinfo = call.excinfo
        exc = excinfo.value if excinfo is not None else None
        if report.skipped:
            outcome, error, kind = "skipped", _skip_reason(report), None
        elif report.passed:
            outcome, error, kind = "passed", None, None
        elif isinstance(exc, ProviderError):
            outcome, error, kind = "error", exc.one_line(), exc.kind
            report.longrepr = exc.one_line()
        elif isinstance(exc, LLMBenchError):  # a known error: its one line, no traceback
            kind = "harness" if call.when == "call" else "setup"
            outcome, error = "error", _one_line(exc)
            report.longrepr = f"{type(exc).__name__}: {exc}"
        elif isinstance(exc, AssertionError) and call.when == "call":
            outcome, error, kind = "failed", None, None
            if isinstance(exc, WrongAnswer):
                report.longrepr = str(exc)
        else:
            kind = "harness" if call.when == "call" else "setup"
            outcome, error = "error", scrub(_one_line(exc) or "") or None
        record = recorder.record(outcome, error, kind, item.nodeid, report.duration)
        del item.stash[RECORDER]  # the record holds what is kept; free the calls
        data = record.to_dict()
        item.config.hook.pytest_llmbench_update_record(record=data, item=item)
        report.llmbench = scrub_value(data)  # type: ignore[attr-defined]
        scrub_longrepr(report)
        return report


RESPONSE = pytest.StashKey[Completion]()


_RUNNING: list[LLMBenchWorker] = []
"""The workers of the pytest runs alive in this process (more than one: a nested run)."""


def _freeze_collected() -> None:
    """Move what collection made (items, suites, cases: alive all session) out of the
    garbage collector's sight. Each item allocates a record and its calls, so collections
    run often, and every full one (pytest's own at exit too) would walk all the items
    again: about a sixth of a 10,000-item run. Objects made by the tests themselves are
    collected as usual (pytest's unraisable-exception checks see them). What an earlier
    run in this process froze is released first (``pytest.main`` called repeatedly)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _is_suite_item(item: pytest.Item) -> bool:
    return getattr(item, "obj", None) is suite_test


def _runs_suite_prompt(item: pytest.Item) -> bool:
    """Whether the item sends its suite's own prompt (so its call can be prefetched)."""
    if _is_suite_item(item):
        return True
    return ("bench_response" in getattr(item, "fixturenames", ())
            and getattr(item, "callspec", None) is not None)


def scrub_longrepr(report: pytest.TestReport) -> None:
    """The failure text the terminal and JUnit XML show, with known secrets redacted (a
    traceback may quote a response or an error that echoes a key)."""
    if report.longrepr is None:
        return
    text = str(report.longrepr)
    clean = scrub(text)
    if clean != text:
        report.longrepr = clean


def _skip_reason(report: pytest.TestReport) -> str | None:
    longrepr: Any = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return None


def _one_line(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
