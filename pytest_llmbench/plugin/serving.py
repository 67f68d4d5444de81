"""pytest wiring of serving suites: collection, one test per (model x point), records.

A ``kind: serving`` YAML file is collected like a module with one test
function parametrized over (model x scenario point): ``chat_load[sim:fast/c16]``.
The test body runs the point's load, writes the raw samples to the run
directory (so figures can be recomputed and merged exactly) and fails when an
SLO does not hold; the record travels on the report like every other. The
controller writes ``benchmarks.json`` (pytest-benchmark's format) at the end.
"""

from __future__ import annotations

import time
import types
import warnings
from collections.abc import Generator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.plugin import options
from pytest_llmbench.plugin.collect import synthetic_module
from pytest_llmbench.plugin.stash import bench_session
from pytest_llmbench.plugin.terminal_width import terminal_width
from pytest_llmbench.plugin.worker import scrub_longrepr
from pytest_llmbench.redaction import scrub_value
from pytest_llmbench.report.text_table import fit_table
from pytest_llmbench.results.record import Record
from pytest_llmbench.results.serving_speedup import (
    SPEEDUPS,
    serving_figures,
    serving_speedups,
)
from pytest_llmbench.serving.export import write_benchmarks
from pytest_llmbench.serving.metrics import check_slos, summarize
from pytest_llmbench.serving.samples import PointSamples, write_samples
from pytest_llmbench.serving.scenario import Point, ServingSuite, is_serving_text, load_serving_suite

if TYPE_CHECKING:
    from pytest_llmbench.serving.load import PointResult


class UnreliableMeasurement(pytest.PytestWarning):
    """The load generator, not the server, limited a serving point's figures."""


@dataclass(frozen=True, slots=True, eq=False)
class ServingPoint:
    """The one parameter of a serving test: which model gets which load."""

    model: ModelSpec
    point: Point


SERVING_HOSTS = "llmbench_serving_hosts"


def _host_runner(bench: Any, nodeid: str, model: ModelSpec, point: Point) -> Any:
    """This shard's part of a point split over every shard (``--llmbench-serving-hosts``)."""
    from pytest_llmbench.calls.coordinator import connect, run_key, start_barrier  # noqa: PLC0415
    from pytest_llmbench.calls.layers import COORDINATOR  # noqa: PLC0415
    from pytest_llmbench.serving.hosts import HostRunner  # noqa: PLC0415

    client = connect(bench.context[COORDINATOR])
    key = run_key(bench.run_id, "start", nodeid)
    shard = bench.shard
    return HostRunner(model, bench.context, bench.timeout, (shard.index, shard.count),
                      lambda: start_barrier(client, key, shard.count, max(600.0, bench.timeout)))


def is_serving_file(file_path: Path) -> bool:
    if file_path.suffix not in (".yaml", ".yml"):
        return False
    try:
        return is_serving_text(file_path.read_bytes()[:65536])
    except OSError:
        return False


def serving_test(serving_point: ServingPoint) -> None:
    """Each serving point's test; the plugin runs it in ``pytest_pyfunc_call``."""
    raise RuntimeError("serving tests run under the llmbench plugin")


class ServingFile(pytest.Module):
    suite: ServingSuite | None = None

    def _getobj(self) -> types.ModuleType:
        session = bench_session(self.config)
        try:
            self.suite = load_serving_suite(self.path)
        except LLMBenchError as exc:
            session.suite_errors.add(self.nodeid)
            raise self.CollectError(str(exc)) from None
        return synthetic_module(self.path, self.suite.name, serving_test)

    def istestfunction(self, obj: object, name: str) -> bool:
        return self.suite is not None and name == self.suite.name

    def istestclass(self, obj: object, name: str) -> bool:
        return False


def generate_tests(metafunc: pytest.Metafunc) -> bool:
    """Parametrize a serving file's test over (model x point); False for other tests."""
    parent = metafunc.definition.parent
    if not isinstance(parent, ServingFile) or metafunc.function is not serving_test:
        return False
    assert parent.suite is not None
    models = bench_session(metafunc.config).models
    points = parent.suite.points
    metafunc.parametrize("serving_point", [ServingPoint(m, p) for m in models for p in points],
                         ids=[f"{m.name}/{p.id}" for m in models for p in points])
    return True


RESULT = pytest.StashKey["PointResult"]()
WALL = pytest.StashKey[tuple[float, float]]()  # the point's unix start and end


class ServingError(LLMBenchError):
    """A serving point measured nothing: every request failed."""


class ServingRunner:
    """Runs serving items and attaches their records (every process that runs tests)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """A point whose target is down (or never came up) fails before sending load."""
        target = _point_of(item)
        if target is not None and target.model.target:
            from pytest_llmbench.plugin.targets import check_target  # noqa: PLC0415

            check_target(item, target.model.target)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        target = _point_of(pyfuncitem)
        if target is None:
            return None
        # the load generator's HTTP stack (~0.1 s of imports) only for a run that measures serving
        from pytest_llmbench.serving.split import SplitFailed, runner_for  # noqa: PLC0415

        suite = pyfuncitem.parent.suite  # type: ignore[union-attr]
        bench = bench_session(self.config)
        processes = options.resolve(self.config, "serving_processes", bench.models_config.settings)
        runner = (_host_runner(bench, pyfuncitem.nodeid, target.model, target.point)
                  if bench.context.get(SERVING_HOSTS) else
                  runner_for(target.model, bench.context, bench.timeout, suite, target.point,
                             processes))
        begun = time.time()
        try:
            result = runner.run(suite, target.point)
        except SplitFailed as exc:  # an error record keeping what the other processes measured
            if exc.partial is not None:
                pyfuncitem.stash[RESULT] = exc.partial
            raise
        finally:
            pyfuncitem.stash[WALL] = (begun, time.time())
        pyfuncitem.stash[RESULT] = result
        reason = result.harness.get("unreliable")
        if reason:
            warnings.warn(UnreliableMeasurement(f"{pyfuncitem.nodeid}: unreliable: {reason}"),
                          stacklevel=1)
        samples = result.window.samples
        if samples and not any(s.ok for s in samples):
            first = samples[0].error or "no answer"
            if target.model.target:
                from pytest_llmbench.plugin.targets import TargetDown, down_message  # noqa: PLC0415

                down = down_message(pyfuncitem, target.model.target, first)
                if down is not None:
                    raise TargetDown(down)
            raise ServingError(f"{target.model.name}: all {len(samples)} requests failed; "
                               f"first: {first}")
        failures = check_slos(summarize(result.window, target.point.slos), target.point.slos)
        if failures:
            raise AssertionError("\n".join(failures))
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        target = _point_of(item)
        # a record for the call, or for a setup that failed or skipped (a target that is
        # down, a fixture error): every point leaves one, as every suite case does
        if target is None or call.when == "teardown" or (call.when == "setup"
                                                         and report.passed):
            return report
        result = item.stash.get(RESULT, None)
        exc = call.excinfo.value if call.excinfo is not None else None
        if report.passed:
            outcome, error, kind = "passed", None, None
        elif report.skipped:
            longrepr: Any = report.longrepr
            outcome, kind = "skipped", None
            error = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else None
        elif isinstance(exc, AssertionError) and result is not None:
            outcome, error, kind = "failed", None, None
            report.longrepr = str(exc)
        else:
            outcome, error = "error", _one_line(exc)
            kind = ("setup" if call.when == "setup" else
                    "provider" if isinstance(exc, ServingError) else "harness")
            report.longrepr = error
        record = self._record(item, target, result, outcome, error, kind, report.duration)
        item.config.hook.pytest_llmbench_update_record(record=record, item=item)
        report.llmbench = scrub_value(record)  # type: ignore[attr-defined]
        scrub_longrepr(report)
        return report

    def _record(self, item: pytest.Item, target: ServingPoint, result: PointResult | None,
                outcome: str, error: str | None, error_kind: str | None, duration: float
                ) -> dict[str, Any]:
        bench = bench_session(self.config)
        suite = item.parent.suite  # type: ignore[union-attr]
        metrics: dict[str, Any] = {"kind": "serving", "point": asdict(target.point)}
        record = Record(run_id=bench.run_id, nodeid=item.nodeid, suite=suite.name,
                        case_id=target.point.id, model=target.model.name, outcome=outcome,
                        provider=target.model.provider, target=target.model.target,
                        error=error, error_kind=error_kind,
                        score=1.0 if outcome == "passed" else 0.0 if outcome == "failed" else None,
                        duration_s=duration, worker=bench.worker, metrics=metrics)
        if result is not None:
            summary = summarize(result.window, target.point.slos)
            record.started_at, record.finished_at = item.stash[WALL]
            metrics.update(serving=summary, harness=result.harness, warmup=result.warmup,
                           slo_failures=check_slos(summary, target.point.slos),
                           samples_file=write_samples(bench.run_path, item.nodeid,
                                                      PointSamples(result.window,
                                                                   result.started_at)))
            record.input_tokens, record.output_tokens = (summary["input_tokens"],
                                                         summary["output_tokens"])
        return record.to_dict()


def _point_of(item: pytest.Item) -> ServingPoint | None:
    callspec = getattr(item, "callspec", None)
    value = callspec.params.get("serving_point") if callspec is not None else None
    return value if isinstance(value, ServingPoint) else None


def _one_line(exc: BaseException | None) -> str:
    text = str(exc).strip().splitlines() if exc is not None else []
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class ServingReport:
    """Controller side: serving records in, ``benchmarks.json`` and a table out."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.records: list[dict[str, Any]] = []

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        payload = getattr(report, "llmbench", None)
        if isinstance(payload, dict) and payload.get("metrics", {}).get("kind") == "serving":
            self.records.append(payload)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.records:
            return
        bench = bench_session(self.config)
        write_benchmarks(bench.run_path, self.records)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        rows = [r for r in self.records if "serving" in r["metrics"]]
        if not rows:
            return
        tr = terminalreporter
        tr.write_sep("-", "llmbench serving")
        cells = [["test", "req/s", "out tok/s", "TTFT p50", "p99", "ITL p50", "TPOT p50", "CPU"]]
        notes = []
        for r in rows:
            s, h = r["metrics"]["serving"], r["metrics"]["harness"]
            name = r["model"] + "/" + r["case_id"]
            cells.append([name, f"{s['request_throughput']:.2f}", f"{s['output_throughput']:.1f}",
                          _ms(s["ttft_ms"], "p50"), _ms(s["ttft_ms"], "p99"),
                          _ms(s["itl_ms"], "p50"), _ms(s["tpot_ms"], "p50"),
                          f"{h['cpu_cores']:.2f}"])
            if h.get("unreliable"):
                notes.append(f"{name}  UNRELIABLE: {h['unreliable']}")
        for line in fit_table(cells, keys=1, width=terminal_width(tr)).lines:
            tr.write_line(line)
        for note in notes:
            tr.write_line(note, red=True)
        speedups = speedup_cells(rows, bench_session(self.config).context.get("baselines"))
        if speedups:
            tr.write_line("speedup against the baseline target (above 1 better; "
                          "throughputs new/baseline, times baseline/new):")
            for line in fit_table(speedups, keys=1, width=terminal_width(tr), left=2).lines:
                tr.write_line(line)


_SPEEDUP_LABELS = {"request_throughput": "req/s", "output_throughput": "out tok/s",
                   "goodput": "goodput", "ttft_p50": "TTFT p50", "itl_p50": "ITL p50",
                   "tpot_p50": "TPOT p50", "e2e_p50": "E2E p50"}


def speedup_cells(records: list[dict[str, Any]],
                  baselines: dict[str, str] | None) -> list[list[str]]:
    """Each target's points against the same point of its baseline target (its commit's
    own in a multi-commit run), as table cells: above 1 is better, ``-`` where a figure is
    missing; no rows, no table."""
    def key(record: dict[str, Any], target: str) -> tuple[str, str, str]:
        model = str(record["model"]).removesuffix(f"@{target}")
        return (record["suite"], model, str(record["case_id"]))

    by_target = {(r.get("target"), key(r, str(r.get("target")))): r for r in records}
    rows = []
    for record in records:
        target = record.get("target")
        base = (baselines or {}).get(str(target))
        reference = by_target.get((base, key(record, str(target)))) if base != target else None
        if reference is None:
            continue
        ratios = serving_speedups(serving_figures(reference["metrics"]["serving"]),
                                  serving_figures(record["metrics"]["serving"]))
        rows.append([f"{record['model']}/{record['case_id']}", str(base),
                     *("-" if ratios.get(name) is None else f"{ratios[name]:.2f}x"
                       for name in SPEEDUPS)])
    if not rows:
        return []
    return [["test", "vs", *(_SPEEDUP_LABELS.get(name, name) for name in SPEEDUPS)], *rows]


def _ms(stats: dict[str, Any], key: str) -> str:
    value = stats.get(key)
    return f"{value:.1f}ms" if isinstance(value, int | float) else "-"
