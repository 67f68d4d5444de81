"""Task suites as pytest items: one Function per (task x model), passed = solved.

A YAML file with a top-level ``tasks:`` key is collected like a suite file; each item
carries its model and a Case for the task (so the worker's recorder makes its Record)
plus the task itself. The item's call runs the attempts (``agents.runner``) and fails
when no attempt solved the task; a provider error, a broken sandbox or an unusable task
folder is an error with one line. The transcript goes to a per-worker artefact file the
record points to.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.agents.figures import call_figures
from pytest_llmbench.agents.perf import PerfTimer, speedup_score
from pytest_llmbench.agents.runner import (
    Attempt,
    NeedsDocker,
    default_image,
    run_attempt,
    sandbox_spec,
)
from pytest_llmbench.agents.suite import TaskSuite, load_task_suite
from pytest_llmbench.agents.task import BadTask, Task, TaskError
from pytest_llmbench.errors import LLMBenchError, ProviderError, WrongAnswer
from pytest_llmbench.plugin.collect import synthetic_module
from pytest_llmbench.plugin.fixtures import SUITE_ITEM, SuiteItem, recorder_for
from pytest_llmbench.plugin.stash import bench_session
from pytest_llmbench.providers.base import ChatRequest
from pytest_llmbench.scoring.passk import pass_at_k
from pytest_llmbench.suites.model import Case, Suite

AGENT_TASK = pytest.StashKey[tuple[Any, TaskSuite]]()
RUNNER = "llmbench-agents"
TRANSCRIPTS = "agents"


def agent_test() -> None:
    """The test function of every agent task item (run by :class:`AgentRunner`)."""
    raise RuntimeError("agent task items run under the llmbench plugin")


class TaskSuiteFile(pytest.Module):
    """A task suite file, collected like a test module with one test function."""

    suite: TaskSuite | None = None

    def _getobj(self) -> Any:
        session = bench_session(self.config)
        try:
            self.suite = load_task_suite(self.path)
        except LLMBenchError as exc:
            session.suite_errors.add(self.nodeid)
            raise self.CollectError(str(exc)) from None
        cases = [Case(suite=self.suite.name, id=t.id,
                      row={"prompt": t.instruction if isinstance(t, Task) else t.reason})
                 for t in self.suite.tasks]
        registered = session.register_suite(Suite(name=self.suite.name, cases=cases,
                                                  path=self.path, expected_field=None,
                                                  scorer="exact"))
        keep = {c.id for c in registered.cases}  # --llmbench-sample applies to tasks too
        self.suite.tasks = [t for t in self.suite.tasks if t.id in keep]
        return synthetic_module(self.path, self.suite.name, agent_test)

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        self.obj  # noqa: B018 - loads the suite
        assert self.suite is not None
        session = bench_session(self.config)
        suite = session.suites_by_name[self.suite.name]
        cases = suite.case_by_id()
        mark = pytest.mark.llmbench(suite=self.suite.name).mark
        items: list[pytest.Item | pytest.Collector] = []
        fixtureinfo = None
        for model in session.models:
            for task in self.suite.tasks:
                item = pytest.Function.from_parent(
                    self, name=f"{self.suite.name}[{model.name}/{task.id}]", callobj=agent_test,
                    fixtureinfo=fixtureinfo)
                fixtureinfo = item._fixtureinfo
                item.originalname = self.suite.name
                item.own_markers.append(mark)
                item.stash[SUITE_ITEM] = SuiteItem(model, cases[task.id])
                item.stash[AGENT_TASK] = (task, self.suite)
                items.append(item)
        return items

    def istestfunction(self, obj: object, name: str) -> bool:
        return self.suite is not None and name == self.suite.name

    def istestclass(self, obj: object, name: str) -> bool:
        return False


class AgentRunner:
    """Runs agent task items (registered once the first task suite is collected)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.lines = 0
        self.timers: dict[tuple[str, str, str | None], PerfTimer] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Hand the run's simulator the bundled tasks' solution scripts."""
        bench = bench_session(self.config)
        url = bench.context.get("sim_url")
        tasks = {id(t): t for item in session.items
                 if (pair := item.stash.get(AGENT_TASK, None)) for t in [pair[0]]}
        if url and tasks:
            from pytest_llmbench.agents.solutions import post_solutions  # noqa: PLC0415

            post_solutions(url, tasks.values())

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        pair = item.stash.get(AGENT_TASK, None)
        if pair is not None:
            recorder = recorder_for(item)
            if recorder is not None:
                recorder.metrics["kind"] = "agent"
                recorder.single_call_figures = False
            if isinstance(pair[0], BadTask):
                raise TaskError(pair[0].reason)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        pair = pyfuncitem.stash.get(AGENT_TASK, None)
        if pair is None:
            return None
        task, suite = pair
        self.run_item(pyfuncitem, task, suite)
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        exc = call.excinfo.value if call.excinfo is not None else None
        if AGENT_TASK in item.stash and isinstance(exc, LLMBenchError) \
                and not isinstance(exc, ProviderError):
            report.longrepr = f"{type(exc).__name__}: {exc}"
        return report

    def run_item(self, item: pytest.Function, task: Task, suite: TaskSuite) -> None:
        bench = bench_session(self.config)
        recorder = recorder_for(item)
        assert recorder is not None and recorder.model is not None
        recorder.metrics["kind"] = "agent"
        recorder.single_call_figures = False
        samples = bench.samples or suite.samples or 1
        try:
            spec = sandbox_spec(task, suite.sandbox if bench.sandbox in (None, "auto")
                                else bench.sandbox, default_image)
        except NeedsDocker as exc:
            if bench.require_docker:
                raise
            pytest.skip(str(exc))
        if suite.agent is not None and suite.agent.get("proxy"):
            spec.network = True  # the external agent reaches the recording proxy
        perf = None
        if task.perf is not None:  # an optimisation task: baseline measured once per process
            key = (str(task.path), spec.backend, spec.image)
            perf = self.timers.setdefault(key, PerfTimer(task, spec))
        attempts: list[Attempt] = []
        for sample in range(samples):
            model = None
            external = None
            if suite.agent is not None:
                from pytest_llmbench.agents.external import external_runner  # noqa: PLC0415

                external = external_runner(suite.agent, recorder.model, bench.context,
                                           bench.retry, bench.timeout)
            else:
                from pytest_llmbench.agents.wire import make_tool_model  # noqa: PLC0415

                model = make_tool_model(recorder.model, bench.context, bench.retry,
                                        bench.timeout, engine=bench.engine,
                                        metadata={"suite": suite.name, "case_id": task.id,
                                                  **({"sample": sample} if sample else {})})
            try:
                attempt = run_attempt(task, spec, model, external=external, perf=perf)
            finally:
                if model is not None:
                    model.close()
            attempts.append(attempt)
            self._record_calls(recorder, attempt, task)
        metrics = self._metrics(item, attempts, samples)
        recorder.metrics.update(metrics)
        errors = [a.error for a in attempts if a.error is not None]
        solved = sum(a.solved for a in attempts)
        if errors and not solved:
            error = errors[0]
            if isinstance(error, ProviderError):
                recorder.error = error
            raise error
        timed = {}
        if task.perf is not None:
            timed = speedup_score([(a.solved, a.perf) for a in attempts if a.error is None],
                                  task.perf.min_speedup)
        recorder.set_score(solved > 0, reason=metrics["reason"], **timed)
        if not solved and not bench.score_only:
            raise WrongAnswer(f"not solved: {metrics['reason']}")

    @staticmethod
    def _record_calls(recorder: Any, attempt: Attempt, task: Task) -> None:
        if attempt.loop is None:
            return
        prompt = attempt.loop.messages[:2]
        for turn in attempt.loop.model_turns:
            recorder.add_call(ChatRequest(model=recorder.model, messages=prompt,
                                          metadata={"case_id": task.id}), turn.completion)

    def _metrics(self, item: pytest.Item, attempts: list[Attempt], samples: int
                 ) -> dict[str, Any]:
        best = next((a for a in attempts if a.solved), attempts[-1])
        loop = best.loop
        data: dict[str, Any] = {"kind": "agent", "solved": best.solved,
                                **call_figures(t.completion for a in attempts if a.loop
                                               for t in a.loop.model_turns),
                                "stop_reason": loop.stop_reason if loop else None,
                                "turns": loop.turns if loop else None,
                                "model_calls": len(loop.model_turns)
                                if loop and (loop.turns is not None or loop.model_turns)
                                else None,
                                "tool_calls": dict(loop.tool_calls)
                                if loop and loop.turns is not None else None,
                                "tool_errors": loop.tool_errors if loop else None,
                                "malformed_tool_calls": loop.malformed_calls if loop else None,
                                "model_time_s": round(loop.model_time_s, 4)
                                if loop and loop.turns is not None else None,
                                "tool_time_s": round(loop.tool_time_s, 4) if loop else None,
                                "agent_wall_s": round(loop.wall_s, 4) if loop else None,
                                "wall_s": round(best.wall_s, 4),
                                "sandbox_start_s": round(best.start_s, 4)
                                if best.start_s is not None else None,
                                "sandbox": best.sandbox}
        if best.diff is not None:
            data.update(best.diff.to_dict())
            data["diff"] = best.diff.diff
        if best.check is not None:
            data["check"] = best.check.to_dict()
        if best.perf is not None:
            data["perf"] = best.perf
        data["reason"] = _reason(best)
        if samples > 1:
            judged = [a for a in attempts if a.error is None]
            correct = sum(a.solved for a in judged)
            data["attempts"] = [{"solved": a.solved, "stop_reason": a.loop.stop_reason
                                 if a.loop else None, "error": str(a.error) if a.error else None,
                                 **({"speedup": a.perf.get("speedup")} if a.perf else {})}
                                for a in attempts]
            data["pass_at"] = {f"pass@{k}": pass_at_k(len(judged), correct, k)
                               for k in (1, samples) if judged and k <= len(judged)}
        data["transcript"] = self._write_transcript(item, attempts)
        return data

    def _write_transcript(self, item: pytest.Item, attempts: list[Attempt]) -> dict[str, Any]:
        """One JSON line per item in ``agents/transcripts-<worker>.jsonl`` of the run."""
        bench = bench_session(self.config)
        folder = bench.run_path / TRANSCRIPTS
        folder.mkdir(parents=True, exist_ok=True)
        name = f"transcripts-{bench.worker}.jsonl"
        entry = {"nodeid": item.nodeid, "attempts": [
            {"messages": a.loop.messages if a.loop else [],
             "events": a.loop.events if a.loop else [],
             "agent_output": a.agent_output,
             "diff": a.diff.diff if a.diff else None,
             "check_output": a.check.output if a.check else None} for a in attempts]}
        path = folder / name
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")
        self.lines += 1
        return {"file": f"{TRANSCRIPTS}/{name}", "nodeid": item.nodeid}


def _reason(attempt: Attempt) -> str:
    if attempt.error is not None:
        return f"{type(attempt.error).__name__}: {attempt.error}"
    loop = attempt.loop
    stop = f"agent stopped: {loop.stop_reason} after {loop.turns} turns" if loop else ""
    check = attempt.check.reason if attempt.check else "not checked"
    malformed = (f", {loop.malformed_calls} malformed tool calls"
                 if loop and loop.malformed_calls else "")
    return f"{check} ({stop}{malformed})"


def collect_task_file(file_path: Path, parent: pytest.Collector) -> TaskSuiteFile | None:
    """The collector for a task suite file (and the runner, on first use); else None."""
    from pytest_llmbench.agents.suite import is_task_suite  # noqa: PLC0415

    if file_path.suffix not in (".yaml", ".yml") or not is_task_suite(file_path):
        return None
    manager = parent.config.pluginmanager
    if not manager.has_plugin(RUNNER):
        manager.register(AgentRunner(parent.config), RUNNER)
    return TaskSuiteFile.from_parent(parent, path=file_path)


__all__ = ["AgentRunner", "TaskSuiteFile", "collect_task_file"]
