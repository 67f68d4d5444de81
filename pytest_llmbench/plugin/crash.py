"""The record of an item whose xdist worker died while running it.

xdist reports such an item as a failed ``???`` phase with no record on it, so the run's
summary, report and run.json never heard of it (n=199, 0 errors, "completed") while JUnit
counted an error. :class:`CrashRecords` (on the controller, with xdist) gives that report
an error record, so every executed item is counted, and remembers the crash for run.json.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from pytest_llmbench.plugin.session import LLMBenchSession
from pytest_llmbench.redaction import scrub_value
from pytest_llmbench.results.record import Record

CRASH_KIND = "crash"


def split_nodeid(nodeid: str, model_names: list[str]) -> tuple[str, str, str]:
    """(function part, model, case id) of ``path::suite[model/case]`` (or ``model/variant/
    case``). Model names hold ``:`` and ``/``, so the longest known name wins; an id of
    another shape keeps the whole parameter as the case id."""
    head, _, param = nodeid.partition("[")
    param = param[:-1] if param.endswith("]") else param
    for name in sorted(model_names, key=len, reverse=True):
        if param.startswith(name + "/"):
            return head, name, param[len(name) + 1:].rsplit("/", 1)[-1]
    return head, "", param or head.rsplit("::", 1)[-1]


class CrashRecords:
    """Learns each test function's suite from the records that arrive, and turns a crash
    report into an error record of that suite and model."""

    def __init__(self, bench: LLMBenchSession) -> None:
        self.bench = bench
        self.suites: dict[str, str] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        payload = getattr(report, "llmbench", None)
        if isinstance(payload, dict) and payload.get("error_kind") != CRASH_KIND:
            self.suites.setdefault(report.nodeid.partition("[")[0], str(payload.get("suite")))

    @pytest.hookimpl
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport,
                               sched: Any) -> None:
        head, model, case_id = split_nodeid(crashitem, self.bench.model_names)
        suite = self.suites.get(head) or head.rsplit("::", 1)[-1]
        node = getattr(report, "node", None)
        worker = str(getattr(getattr(node, "gateway", None), "id", "") or "?")
        error = f"{model or crashitem} - WorkerCrashed: {report.longrepr}"
        record = Record(run_id=self.bench.run_id, nodeid=crashitem, suite=suite,
                        case_id=case_id, model=model, provider=model.partition(":")[0],
                        outcome="error", error=error, error_kind=CRASH_KIND,
                        finished_at=time.time(), worker=worker)
        report.llmbench = scrub_value(record.to_dict())  # type: ignore[attr-defined]
