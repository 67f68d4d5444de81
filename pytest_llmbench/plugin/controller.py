"""Controller side: append each arriving Record to the run directory, then summarise.

Registered only where results are gathered (the xdist controller, or the one
process of a plain run). Records are written as they arrive, so a crash or a
killed worker loses only the item that was running.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
import time
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.config import redact
from pytest_llmbench.plugin.session import LLMBenchSession
from pytest_llmbench.plugin.terminal_width import terminal_width
from pytest_llmbench.plugin.variants import read_fits
from pytest_llmbench.report.files import RecordsCsv, write_summary
from pytest_llmbench.report.html import HtmlReport, page_template
from pytest_llmbench.report.terminal import summary_table
from pytest_llmbench.report.text_table import fit_table
from pytest_llmbench.results.compare_targets import add_target_columns
from pytest_llmbench.results.gates import Gate, evaluate, parse_gate
from pytest_llmbench.results.run_dir import RunDir, environment_info
from pytest_llmbench.results.summary import SummaryBuilder
from pytest_llmbench.results.variant_compare import (
    VariantScores,
    add_fit_columns,
    comparison_cells,
    fit_lines,
    mark_best,
)


class LLMBenchController:
    def __init__(self, config: pytest.Config, session: LLMBenchSession) -> None:
        self.config = config
        self.bench = session
        self.run_dir = RunDir(session.output, session.run_id, session.run_folder)
        self.records_csv: RecordsCsv | None = None
        self.summary = SummaryBuilder()
        self.html = HtmlReport()
        self.html_error: str | None = None
        self.suite_gates: dict[str, list[Gate]] = {}
        self.rows: list[dict[str, Any]] = []
        self.gates: list[Gate] = []
        self.gate_failures: list[str] = []
        self.variant_scores = VariantScores()
        self.variant_comparison: list[dict[str, Any]] = []
        self.fits: list[dict[str, Any]] = []
        self.started = time.time()
        self.crashed: list[str] = []
        self.skipped_suites: list[dict[str, str]] = []  # suites asked for that could not run
        self.write_error: str | None = None  # the run directory could not be written
        self.session: pytest.Session | None = None
        self.environment: concurrent.futures.Future[dict[str, Any]] | None = None
        if not config.option.collectonly:
            self.environment = concurrent.futures.Future()
            threading.Thread(target=self._prefetch, name="llmbench-prefetch", daemon=True).start()

    def _prefetch(self) -> None:
        """What the run directory and the page need anyway (git and uname subprocesses,
        jinja2's compile), done while pytest waits for the first answers, not after them."""
        assert self.environment is not None
        try:
            self.environment.set_result(environment_info(self.bench.rootdir))
        except Exception as exc:  # noqa: BLE001 - raised where the run info is built
            self.environment.set_exception(exc)
        with contextlib.suppress(Exception):  # a template error shows when the page is written
            page_template()

    @pytest.hookimpl
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    def _run_info(self) -> dict[str, Any]:
        bench = self.bench
        return {
            **(self.environment.result() if self.environment is not None
               else environment_info(bench.rootdir)),
            "started_at": self.started, "started_at_iso": _iso(self.started),
            "pytest_args": list(self.config.invocation_params.args),
            "models": [{"name": m.name, "params": redact(dict(m.params)), "label": m.label,
                        "categories": list(m.categories), "target": m.target}
                       for m in bench.models],
            "seed": bench.seed, "sample": bench.sample, "concurrency": bench.concurrency,
            "workers": getattr(self.config.option, "numprocesses", None) or 0,
        }

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and report.nodeid.endswith(UNAVAILABLE_SUFFIX):
            self.skipped_suites.append(_skipped_suite(report))
        payload = getattr(report, "llmbench", None)
        if not isinstance(payload, dict) or str(report.outcome) == "rerun" or self.write_error:
            return
        try:
            if not self.run_dir.started:
                self._start()
            self.run_dir.append(payload)
            self.records_csv.append(payload)  # type: ignore[union-attr]
        except OSError as exc:
            self._stop_on_write_error(exc)
            return
        if payload.get("error_kind") == "crash":  # a worker died running it (plugin/crash.py)
            self.crashed.append(report.nodeid)
        self.summary.add(payload)
        self.variant_scores.add(payload)
        self.html.add(payload)

    def _start(self) -> None:
        info = self._run_info()
        self.config.hook.pytest_llmbench_update_run_info(info=info)
        self.run_dir.start(info)
        self.records_csv = RecordsCsv(self.run_dir.path)

    def _stop_on_write_error(self, exc: OSError) -> None:
        """Disk full, read-only or gone: stop the run at once; what is on disk stays whole
        and ``--llmbench-resume`` finishes the run once the cause is fixed."""
        self.write_error = f"cannot write the run directory: {exc}"
        reason = f"llmbench: {self.write_error}; resume with --llmbench-resume {self.bench.run_id}"
        dsession = self.config.pluginmanager.get_plugin("dsession")
        if dsession is not None:
            dsession.shouldstop = reason
        if self.session is not None:
            self.session.shouldstop = reason

    def carry_over(self, records: list[dict[str, Any]]) -> None:
        """Records an earlier run of this directory already wrote (resume): they count in
        the summary and the HTML report; the record files already hold them."""
        if not self.run_dir.started:
            self._start()
        for record in records:
            self.summary.add(record)
            self.html.add(record)

    def _gates(self) -> list[Gate]:
        gates = list(self.bench.gates)
        for suite in self.bench.suites_by_name.values():
            source = str(suite.path or suite.name)
            gates += [parse_gate(g, source=f"{source}: gates", suite=suite.name)
                      for g in suite.gates]
        return gates

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.bench.close()
        if not self.run_dir.started:
            return
        self.run_dir.close()
        try:
            self._finish(session, exitstatus)
        except OSError as exc:  # the records are whole on disk; the summaries can be rebuilt
            self.write_error = self.write_error or f"cannot write the run directory: {exc}"
            self._write_stopped_info(exitstatus)
        if self.write_error and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.INTERRUPTED

    def _write_stopped_info(self, exitstatus: int) -> None:
        info = self.run_dir.info
        info.update(status="stopped", error=self.write_error, finished_at=time.time(),
                    exitstatus=int(exitstatus))
        try:
            self.run_dir.write_info()
        except OSError:
            pass

    def _finish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.records_csv is not None:
            self.records_csv.close()
        self.rows = add_target_columns(self.summary.rows(), self.bench.context.get("targets", {}),
                                       self.bench.context.get("baselines"))
        labels = {m.name: m.label for m in self.bench.models if m.label}
        for row in self.rows:
            if labels.get(str(row.get("model"))):
                row["label"] = labels[str(row.get("model"))]
        path = self.run_dir.path
        self.fits = read_fits(path)
        add_fit_columns(self.rows, self.fits)
        self.variant_comparison = self.variant_scores.compare(mark_best(self.rows),
                                                              self.bench.seed)
        self.gates = self._gates()
        self.gate_failures = evaluate(self.gates, self.rows)
        write_summary(path, self.rows, {"run_id": self.bench.run_id,
                                        "gate_failures": self.gate_failures,
                                        "variant_comparison": self.variant_comparison,
                                        "fitted_prompts": self.fits,
                                        "skipped_suites": self.skipped_suites})
        info = self.run_dir.info
        info.update(status=run_status(exitstatus, self.crashed), crashed=self.crashed,
                    finished_at=(finished := time.time()),
                    finished_at_iso=_iso(finished), exitstatus=int(exitstatus),
                    suites=sorted({r["suite"] for r in self.rows}),
                    skipped_suites=self.skipped_suites,
                    gate_failures=self.gate_failures)
        if self.write_error:
            info.update(status="stopped", error=self.write_error)
        self.run_dir.write_info()
        self._write_html(info)
        if self.gate_failures and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _write_html(self, info: dict[str, Any]) -> None:
        sections = [_skipped_section(self.skipped_suites)] if self.skipped_suites else []
        sections += [section for result in self.config.hook.pytest_llmbench_html_sections(
            rows=self.rows, info=info) for section in result or ()]
        try:
            self.html.write(self.run_dir.path, summary=self.summary, rows=self.rows, info=info,
                            sections=sections)
        except OSError as exc:  # results are already on disk; a report is not worth a crash
            self.html_error = f"report.html not written: {exc}"

    def _write_skipped(self, tr: Any) -> None:
        for skipped in self.skipped_suites:
            tr.write_line(f"skipped suite {skipped['suite']} ({skipped['path']}): "
                          f"{skipped['reason']}", yellow=True)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        if self.write_error:
            tr.write_line(f"llmbench: {self.write_error}; records.jsonl keeps every record "
                          f"written; finish with --llmbench-resume {self.bench.run_id}",
                          red=True, bold=True)
        if not self.rows:
            if self.skipped_suites:  # nothing ran: still say what was asked for and why not
                tr.write_sep("=", "llmbench summary")
                self._write_skipped(tr)
            return
        tr.write_sep("=", "llmbench summary")
        width = terminal_width(tr)
        for line in summary_table(self.rows, width):
            tr.write_line(line)
        if self.variant_comparison:
            tr.write_sep("-", "variants against the best variant (paired, same cases)")
            for line in fit_table(comparison_cells(self.variant_comparison), 4, width,
                                  last=1).lines:
                tr.write_line(line)
        for line in fit_lines(self.fits):
            tr.write_line(line)
        self._write_skipped(tr)
        for failure in self.gate_failures:
            tr.write_line(f"FAIL gate {failure}", red=True, bold=True)
        if self.gates and not self.gate_failures:
            tr.write_line("all llmbench gates passed", green=True)
        tr.write_line(f"run directory: {self.run_dir.path}")
        if self.html_error:
            tr.write_line(f"llmbench: {self.html_error}", red=True)


def run_status(exitstatus: int, crashed: list[str]) -> str:
    """run.json's ``status``: ``interrupted`` (Ctrl-C, SIGTERM), ``crashed`` (a worker died
    while running an item; each such item is an error record) or ``completed``."""
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return "interrupted"
    return "crashed" if crashed else "completed"


UNAVAILABLE_SUFFIX = "::dataset_unavailable"  # the placeholder item of an unavailable suite


def _skipped_suite(report: pytest.TestReport) -> dict[str, str]:
    path = report.nodeid.split("::")[0]
    longrepr: Any = report.longrepr
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else "skipped"
    return {"suite": Path(path).stem, "path": path, "reason": reason.removeprefix("Skipped: ")}


def _skipped_section(skipped: list[dict[str, str]]) -> tuple[str, str]:
    items = "".join(f"<li><b>{escape(s['suite'])}</b> <code>{escape(s['path'])}</code>: "
                    f"{escape(s['reason'])}</li>" for s in skipped)
    return f"Skipped suites ({len(skipped)})", f"<ul>{items}</ul>"


def _iso(seconds: float) -> str:
    """ISO 8601 in UTC with milliseconds, beside the unix seconds readers compute with."""
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="milliseconds")


def is_controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


__all__ = ["LLMBenchController", "is_controller"]
