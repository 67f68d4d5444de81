"""pytest wiring of targets: start them once on the controller, hand endpoints to workers,
fail or skip the items of a target that is down, the ``gpu`` marker and ``llm_target``.

The controller starts every target the run's models name in ``pytest_configure``
(before collection, once for all xdist workers, which get the endpoints through
the run context like the simulator's URL) and stops them in
``pytest_unconfigure``; the :class:`TargetSet` also stops them on SIGTERM and at
exit. Registered as a plugin module in every process.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from pytest_llmbench.errors import ConfigError, ProviderError
from pytest_llmbench.plugin import options
from pytest_llmbench.plugin.fixtures import item_params
from pytest_llmbench.plugin.session import LLMBenchSession
from pytest_llmbench.plugin.stash import bench_session
from pytest_llmbench.targets import binding, gpu
from pytest_llmbench.targets.base import Endpoint, TargetError
from pytest_llmbench.targets.spec import TargetsConfig, parse_commits, parse_targets

TARGETS = "targets"
"""Run-context key: endpoint dicts by target name (controller -> workers)."""
BASELINE = "baseline_target"
BASELINES = "baselines"
"""Run-context key: each target's baseline target (its commit's own, in a multi-commit run)."""
TARGET_SET = pytest.StashKey[Any]()
TELEMETRY = pytest.StashKey[Any]()
DOWN = pytest.StashKey[dict[str, str]]()
ITEM_ERROR = pytest.StashKey[str]()
_CONFIG = pytest.StashKey[TargetsConfig]()
_TELEMETRY_SUMMARY = pytest.StashKey[Any]()
_DOWN_KINDS = {"connection", "server_error", "timeout"}
_ERROR_LIMIT = 4000


class TargetDown(TargetError):
    """The item's target is down or never came up; the message quotes its log tail."""


def resolve_models(config: pytest.Config, bench: LLMBenchSession) -> None:
    """Resolve each model's target (same result in every process)."""
    where = str(bench.models_config.path)
    targets = parse_targets(bench.models_config.targets, where)
    commits = parse_commits(options.resolve(config, "commits", bench.models_config.settings))
    bench.models = binding.resolve(bench.models, targets, commits, where)
    config.stash[_CONFIG] = targets


def start(config: pytest.Config, bench: LLMBenchSession) -> None:
    """On the controller: start the targets the models name and share their endpoints
    (not when pytest only lists things: --help, --collect-only, --fixtures, --markers)."""
    from pytest_llmbench.targets.lifecycle import TargetSet  # noqa: PLC0415

    if _only_listing(config):
        return
    specs = binding.used_targets(bench.models, config.stash[_CONFIG])
    if specs and TARGETS not in bench.context:
        settings = bench.models_config.settings
        explicit = options.resolve(config, "baseline_target", settings)
        bench.context[BASELINE] = ",".join(binding.baseline_names(
            [s.name for s in specs], {s.template for s in specs if s.template}, explicit))
        bench.context[BASELINES] = binding.baselines(specs, explicit)
        target_set = TargetSet(specs, bench.run_id, bench.run_path / "targets",
                               require_docker=bool(options.resolve(config, "require_docker")))
        config.stash[TARGET_SET] = target_set
        try:
            endpoints = target_set.start()
        except TargetError as exc:
            raise ConfigError(str(exc)) from None
        bench.context[TARGETS] = {name: e.to_dict() for name, e in endpoints.items()}
    interval = options.resolve(config, "gpu_telemetry", bench.models_config.settings)
    if interval:
        sampler = gpu.TelemetrySampler(bench.run_path / "gpu_telemetry.csv", interval)
        if sampler.start():
            config.stash[TELEMETRY] = sampler


def _only_listing(config: pytest.Config) -> bool:
    option = config.option
    return any(getattr(option, name, False) for name in (
        "help", "version", "collectonly", "showfixtures", "show_fixtures_per_test", "markers"))


def bind(bench: LLMBenchSession) -> None:
    """Point the models at their running targets (every process)."""
    bench.models = binding.bind(bench.models, bench.context.get(TARGETS, {}))


def _endpoint(config: pytest.Config, name: str | None) -> Endpoint | None:
    data = bench_session(config).context.get(TARGETS, {}).get(name or "")
    return Endpoint.from_dict(data) if data else None


# Hooks ----------------------------------------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gpu(count=1): needs NVIDIA GPUs (skipped without them)")
    config.stash[DOWN] = {}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Guard the items only where a model has a target or a test asks for a GPU, so a run
    without either pays nothing per item."""
    if any(m.target for m in bench_session(config).models) or any(
            item.get_closest_marker("gpu") is not None for item in items):
        config.pluginmanager.register(TargetGuard(), "llmbench-target-guard")


class TargetGuard:
    """Skip or fail items whose GPU or target is missing before anything runs, and turn a
    failed call to a target that is down into an error quoting the target's log."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        _check_gpu(item)
        model, _ = item_params(item)
        if model is not None and model.target:
            _check_target(item, model.target)

    @pytest.hookimpl(wrapper=True, specname="pytest_runtest_setup")
    def pytest_runtest_setup_converting(self, item: pytest.Item) -> Generator[None, None, None]:
        return (yield from _converting(item))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        return (yield from _converting(item))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.excinfo is not None and isinstance(call.excinfo.value, TargetDown):
            report.longrepr = str(call.excinfo.value)
        return report

    @pytest.hookimpl
    def pytest_llmbench_update_record(self, record: dict[str, Any], item: pytest.Item) -> None:
        message = item.stash.get(ITEM_ERROR, None)
        if message is not None and record.get("outcome") == "error":
            record["error"] = message[-_ERROR_LIMIT:]
            record["error_kind"] = "target"


def _converting(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    except ProviderError as exc:
        model, _ = item_params(item)
        raise _down_or(item, model.target if model else None, exc) from exc


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Give simulator targets the suites' answers, as the run's own simulator gets them."""
    bench = bench_session(session.config)
    names = {m.target for m in bench.models if m.provider == "sim" and m.target}
    if not bench.suites_by_name or not names:
        return
    from pytest_llmbench.plugin.sim_link import post_answer_key  # noqa: PLC0415

    for name in names:
        endpoint = _endpoint(session.config, name)
        if endpoint is not None and endpoint.url and not (endpoint.error or endpoint.skip):
            try:
                post_answer_key(endpoint.url, bench.suites_by_name.values())
            except Exception:  # noqa: BLE001,S110 - a dead target fails its items anyway
                pass


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    """Stop sampling before the controller writes run.json and report.html, so both
    carry the telemetry summary."""
    sampler = session.config.stash.get(TELEMETRY, None)
    if sampler is not None:
        summary = sampler.stop()
        session.config.stash[_TELEMETRY_SUMMARY] = summary
        controller = session.config.pluginmanager.get_plugin("llmbench-controller")
        run_dir = getattr(controller, "run_dir", None)
        if summary is not None and run_dir is not None and run_dir.started:
            run_dir.info["gpu_telemetry"] = summary
    yield


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """One line per target (how it went, its log) and per sampled GPU."""
    endpoints = [Endpoint.from_dict(e) for e in
                 bench_session(config).context.get(TARGETS, {}).values()]
    telemetry = config.stash.get(_TELEMETRY_SUMMARY, None) or {}
    if not endpoints and not telemetry.get("gpus"):
        return
    terminalreporter.write_sep("-", "llmbench targets and GPUs")
    for e in endpoints:
        state = (f"healthy in {e.started_s:.1f}s" if e.started_s is not None
                 else "skipped" if e.skip else "failed")
        commit = f" @ {e.commit}" if e.commit else ""
        log = f", log {e.log}" if e.log else ""
        terminalreporter.write_line(f"{e.name} ({e.kind}{commit}) {e.url or '-'}: {state}{log}")
    for index, stats in telemetry.get("gpus", {}).items():
        def show(key: str, unit: str, stats: dict[str, Any] = stats) -> str:
            return "-" if stats[key] is None else f"{stats[key]:g}{unit}"

        terminalreporter.write_line(
            f"GPU {index}: utilisation mean {show('utilization_mean_pct', '%')} max "
            f"{show('utilization_max_pct', '%')}, memory max {show('memory_used_max_mib', ' MiB')}, "
            f"power mean {show('power_mean_w', ' W')} ({stats['samples']} samples)")


def pytest_unconfigure(config: pytest.Config) -> None:
    target_set = config.stash.get(TARGET_SET, None)
    if target_set is not None:
        target_set.stop()
    sampler = config.stash.get(TELEMETRY, None)
    if sampler is not None:
        sampler.stop()


class RunInfo:
    """On the controller: the GPU inventory and the targets (with commits) in run.json."""

    def __init__(self, bench: LLMBenchSession) -> None:
        self.bench = bench

    @pytest.hookimpl
    def pytest_llmbench_update_run_info(self, info: dict[str, Any]) -> None:
        endpoints = self.bench.context.get(TARGETS, {})
        info["gpus"] = gpu.inventory()
        if endpoints:
            info["targets"] = [{k: v for k, v in e.items() if v not in (None, {}, "")}
                               for e in endpoints.values()]
            info["baseline_target"] = self.bench.context.get(BASELINE)
            info["baselines"] = self.bench.context.get(BASELINES)


# Checks -----------------------------------------------------------------------

def _check_gpu(item: pytest.Item) -> None:
    marker = item.get_closest_marker("gpu")
    if marker is None:
        return
    wanted = int(marker.kwargs.get("count", marker.args[0] if marker.args else 1))
    found = len(_gpus(item.config))
    if found < wanted:
        reason = gpu.no_gpu_reason() if not found else f"needs {wanted} GPUs, {found} found"
        pytest.skip(reason or "no GPU")


_GPUS = pytest.StashKey[list[dict[str, Any]]]()


def _gpus(config: pytest.Config) -> list[dict[str, Any]]:
    if _GPUS not in config.stash:
        config.stash[_GPUS] = gpu.inventory()
    return config.stash[_GPUS]


def _check_target(item: pytest.Item, name: str) -> None:
    endpoint = _endpoint(item.config, name)
    if endpoint is None:
        return
    if endpoint.skip:
        pytest.skip(endpoint.skip)
    message = endpoint.error or item.config.stash[DOWN].get(name)
    if message:
        item.stash[ITEM_ERROR] = message
        raise TargetDown(message)


def _down_or(item: pytest.Item, name: str | None, exc: ProviderError) -> BaseException:
    """A TargetDown quoting the target's log when it is down, else the call's own error."""
    if name is None or exc.kind not in _DOWN_KINDS:
        return exc
    message = down_message(item, name, exc.one_line())
    return exc if message is None else TargetDown(message)


def check_target(item: pytest.Item, name: str) -> None:
    """Skip or fail an item that is no suite case (a serving point) like the others when
    its target is skipped or down."""
    _check_target(item, name)


def down_message(item: pytest.Item, name: str, request_error: str) -> str | None:
    """Why target ``name`` is down, quoting its log and the failed request (kept for the
    item's record); None while it answers (or is no target of this run)."""
    endpoint = _endpoint(item.config, name)
    if endpoint is None:
        return None
    down = item.config.stash[DOWN]
    if name not in down:
        from pytest_llmbench.targets.lifecycle import down_reason  # noqa: PLC0415

        reason = down_reason(endpoint)
        if reason is None:
            return None
        down[name] = reason
    message = f"{down[name]}\n(request: {request_error})"
    item.stash[ITEM_ERROR] = message
    return message


@pytest.fixture
def llm_target(request: pytest.FixtureRequest) -> Endpoint:
    """The running target of this test's model (or the run's only target): ``.url``,
    ``.name``, ``.commit``, ``.log``."""
    model, _ = item_params(request.node)
    endpoints = bench_session(request.config).context.get(TARGETS, {})
    name = model.target if model is not None and model.target else None
    if name is None and len(endpoints) == 1:
        name = next(iter(endpoints))
    endpoint = _endpoint(request.config, name)
    if endpoint is None:
        raise pytest.UsageError(f"{request.node.nodeid}: llm_target needs a model with a target "
                                f"(provider:model@target); targets of this run: "
                                f"{', '.join(endpoints) or 'none'}")
    _check_target(request.node, endpoint.name)
    return endpoint
