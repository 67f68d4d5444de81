"""After the run, on the controller: compare with a baseline run, check regression gates,
write a signed export, and post to an ingest endpoint.

Runs after the controller has written the run directory (its sessionfinish is
``tryfirst``), so everything here works from files that are already safe on disk:
a failed comparison, signature or post never loses a result. Option values are
checked when pytest starts, so a typo fails before any model is called.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.plugin import options
from pytest_llmbench.plugin.session import LLMBenchSession
from pytest_llmbench.plugin.terminal_width import terminal_width
from pytest_llmbench.results.regression import RegressionGate, parse_regression


@dataclass
class PostRun:
    config: pytest.Config
    bench: LLMBenchSession
    baseline: str | None
    regressions: list[RegressionGate]
    ingest_url: str | None
    sign_key: Path | None
    compare_doc: dict[str, Any] | None = None
    lines: list[tuple[str, dict[str, bool]]] = field(default_factory=list)
    annotations: list[str] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: pytest.Config, bench: LLMBenchSession) -> PostRun:
        settings = bench.models_config.settings

        def get(name: str) -> Any:
            return options.resolve(config, name, settings)

        try:
            regressions = [parse_regression(text) for text in get("regression") or []]
            baseline = get("baseline")
            if regressions and not baseline:
                raise LLMBenchError("--llmbench-regression needs a baseline: pass "
                                    "--llmbench-baseline RUN|latest")
            if baseline and baseline != "latest":
                _resolve_baseline(bench.output, baseline)
            if get("ingest_url"):
                from pytest_llmbench.report.ingest import check_url

                check_url(get("ingest_url"), "--llmbench-ingest-url / $INGEST_API_URL",
                          os.environ.get("INGEST_API_KEY"))
            for name in ("ingest_header", "ingest_batch_size", "ingest_timeout", "ingest_required"):
                get(name)
            _check_ingest(config, get("ingest_url"), bool(get("ingest_required")))
            sign = get("sign")
            if sign:
                from pytest_llmbench.report.signing import load_private_key

                load_private_key(_rooted(bench, sign))
        except LLMBenchError as exc:
            raise pytest.UsageError(str(exc)) from None
        return cls(config, bench, baseline, regressions, get("ingest_url"),
                   _rooted(bench, sign) if sign else None)

    def get(self, name: str) -> Any:
        return options.resolve(self.config, name, self.bench.models_config.settings)

    def say(self, text: str, **markup: bool) -> None:
        self.lines.append((text, markup))

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        controller = self.config.pluginmanager.get_plugin("llmbench-controller")
        if controller is None or not controller.run_dir.started:
            return
        run_dir = controller.run_dir
        failed = False
        if getattr(controller, "write_error", None):  # a full disk: these would write too
            if self.baseline or self.sign_key is not None or self.ingest_url:
                self.say("llmbench: compare, signed export and ingest skipped (the run "
                         "directory could not be written); after --llmbench-resume they run",
                         yellow=True)
            return
        try:
            if self.baseline:
                failed |= self._compare(run_dir)
            if self.sign_key is not None:
                self._export(run_dir.path)
            if self.ingest_url:
                failed |= self._ingest(run_dir, controller.rows)
        except OSError as exc:  # the records are on disk; what failed can be redone by hand
            self.say(f"llmbench: post-run step failed: {exc}", red=True)
            failed = True
        self._github(controller, run_dir.path)
        self._benchmark_json(controller.rows)
        if failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _compare(self, run_dir: Any) -> bool:
        from pytest_llmbench.report.compare import COMPARE_FILE, compare, previous_run, side_from_path
        from pytest_llmbench.report.compare_table import compare_table, gate_lines
        from pytest_llmbench.results.run_dir import write_json

        assert self.baseline is not None
        if self.baseline == "latest":
            base_path = previous_run(self.bench.output, self.bench.run_id)
            if base_path is None:
                self.say(f"no earlier run in {self.bench.output} to compare with; "
                         "regression gates not checked", yellow=True)
                return False
        else:
            base_path = _resolve_baseline(self.bench.output, self.baseline)
        try:
            doc = compare([side_from_path(base_path), side_from_path(run_dir.path)],
                          self.regressions, seed=self.bench.seed)
        except LLMBenchError as exc:
            self.say(f"--llmbench-baseline: {exc}", red=True)
            return bool(self.regressions)
        self.compare_doc = doc
        write_json(run_dir.path / COMPARE_FILE, doc)
        run_dir.info["baseline"] = doc["baseline"]["run_id"]
        run_dir.info["regression_failures"] = doc["gate_failures"]
        run_dir.write_info()
        for line in compare_table(doc, terminal_width(self.config.pluginmanager.get_plugin(
                "terminalreporter"))):
            self.say(line)
        for line in gate_lines(doc):
            self.say(line, red=line.startswith("FAIL"), green=not line.startswith("FAIL"),
                     bold=line.startswith("FAIL"))
        return bool(doc["gate_failures"])

    def _github(self, controller: Any, run_path: Path) -> None:
        """Under GitHub Actions: the job summary and one annotation per failed gate."""
        from pytest_llmbench.report import github

        if not github.active():
            return
        regressions = list(self.compare_doc["gate_failures"]) if self.compare_doc else []
        try:
            lines = github.write(controller.rows, controller.gate_failures, regressions,
                                 run_path, len(controller.gates) + len(self.regressions))
        except OSError as exc:
            self.say(f"GITHUB_STEP_SUMMARY not written: {exc}", yellow=True)
            return
        self.annotations = lines

    def _benchmark_json(self, rows: list[dict[str, Any]]) -> None:
        """--llmbench-benchmark-json: the two files github-action-benchmark reads."""
        folder = self.get("benchmark_json")
        if not folder:
            return
        from pytest_llmbench.report.benchmark_json import write_benchmark_json

        try:
            paths = write_benchmark_json(_rooted(self.bench, folder), rows, self.bench.run_id)
        except OSError as exc:
            self.say(f"--llmbench-benchmark-json: not written: {exc}", red=True)
            return
        self.say(f"github-action-benchmark JSON: {paths[0]} and {paths[1].name}")

    def _export(self, run_path: Path) -> None:
        from pytest_llmbench.report.export import export_run

        assert self.sign_key is not None
        try:
            bundle = export_run(run_path, key_file=self.sign_key)
        except LLMBenchError as exc:
            self.say(f"--llmbench-sign: {exc}", red=True)
            return
        self.say(f"signed export: {bundle}")

    def _ingest(self, run_dir: Any, rows: list[dict[str, Any]]) -> bool:
        from pytest_llmbench.redaction import scrub_value
        from pytest_llmbench.report.ingest import KEY_ENV, IngestTarget, ingest_payload
        from pytest_llmbench.report.ingest_spool import build_payload
        from pytest_llmbench.results.run_dir import read_records

        assert self.ingest_url is not None
        payload = build_payload(run_dir.info, rows, read_records(run_dir.path), self.compare_doc)
        self.config.hook.pytest_llmbench_ingest_payload(payload=payload, config=self.config)
        payload = scrub_value(payload)  # what a user hook added too
        target = IngestTarget(url=self.ingest_url, key=os.environ.get(KEY_ENV) or None,
                              header=self.get("ingest_header"), timeout=self.get("ingest_timeout"))
        try:
            result = ingest_payload(run_dir.path, payload, target, self.get("ingest_batch_size"))
        except OSError as exc:
            result_ok, message = False, f"ingest: cannot spool the payload ({exc})"
        else:
            result_ok, message = result.ok, "\n".join(result.messages)
        required = bool(self.get("ingest_required"))
        for line in message.splitlines():
            self.say(line, red=not result_ok and required, yellow=not result_ok and not required)
        return not result_ok and required

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for line in self.annotations:  # GitHub reads workflow commands off stdout
            terminalreporter.write_line(line)
        if not self.lines:
            return
        terminalreporter.write_sep("=", "llmbench compare / export / ingest")
        for text, markup in self.lines:
            terminalreporter.write_line(text, **markup)


def _check_ingest(config: pytest.Config, url: str | None, required: bool) -> None:
    """Requiring an ingest with nowhere to send it is a usage error; a URL without a key
    warns once (an open endpoint is allowed)."""
    if required and not url:
        raise LLMBenchError("--llmbench-ingest-required needs an ingest URL: pass "
                            "--llmbench-ingest-url URL or set $INGEST_API_URL")
    if not url:
        return  # no HTTP client to import (~0.1 s of start-up)
    from pytest_llmbench.report.ingest import KEY_ENV  # noqa: PLC0415

    if not os.environ.get(KEY_ENV):
        config.issue_config_time_warning(pytest.PytestConfigWarning(
            f"llmbench: ingest URL set but ${KEY_ENV} is not: results are posted without a key"),
            stacklevel=2)


def _rooted(bench: LLMBenchSession, path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else bench.rootdir / candidate


def _resolve_baseline(base: Path, name: str) -> Path:
    from pytest_llmbench.results.run_dir import resolve_run

    try:
        return resolve_run(base, name)
    except FileNotFoundError as exc:
        raise LLMBenchError(f"--llmbench-baseline: {exc}") from None
