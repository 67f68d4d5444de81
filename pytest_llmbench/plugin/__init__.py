"""pytest11 entry point: options, hook specs, role-based registration and collection.

Hooks here only wire; the work happens in session, collect, worker and
controller objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.plugin import options


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_llmbench.plugin import hookspecs as hooks

    pluginmanager.add_hookspecs(hooks)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    from pytest_llmbench.errors import LLMBenchError
    from pytest_llmbench.plugin import fixtures, lifecycle
    from pytest_llmbench.plugin import targets as target_plugin
    from pytest_llmbench.plugin.controller import LLMBenchController, is_controller
    from pytest_llmbench.plugin.session import LLMBenchSession
    from pytest_llmbench.plugin.stash import SESSION
    from pytest_llmbench.plugin.worker import LLMBenchWorker
    from pytest_llmbench.results.run_dir import new_run_id

    config.addinivalue_line(
        "markers", "llmbench(suite=None, rows=None, **suite_options): run this test once per "
        "(case x model) of the named suite (a YAML path, a Suite, or inline rows)")
    workerinput = getattr(config, "workerinput", None)
    from pytest_llmbench.plugin import signals

    signals.install(config)  # SIGTERM winds the run down as Ctrl-C does (workers too)
    try:
        bench = LLMBenchSession.from_config(config)
        dist_mode = options.resolve(config, "dist", bench.models_config.settings)
        options.resolve(config, "serving_processes", bench.models_config.settings)  # fail early
        bench.shard = _shard(config)
        bench.expand_models(_discovered(workerinput))
        target_plugin.resolve_models(config, bench)
    except LLMBenchError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SESSION] = bench
    config.pluginmanager.register(target_plugin, "llmbench-targets")
    if workerinput is not None:
        from pytest_llmbench.plugin.xdist_glue import CONTEXT, RUN_ID

        bench.run_id = workerinput[RUN_ID]
        bench.context.update(workerinput.get(CONTEXT, {}))
        target_plugin.bind(bench)
    else:
        bench.run_id = _run_id(config, bench.shard) or new_run_id()
        lifecycle.prepare(config, bench)  # resume reuses a run's id; replay needs no simulator
        try:
            target_plugin.start(config, bench)
        except LLMBenchError as exc:
            raise pytest.UsageError(str(exc)) from None
        target_plugin.bind(bench)
        try:
            from pytest_llmbench.plugin.variants import resolve_reuse

            resolve_reuse(bench, options.resolve(config, "fitted"))
        except LLMBenchError as exc:
            raise pytest.UsageError(str(exc)) from None
        _start_sim(config, bench)
        try:
            _coordinate(config, bench)
        except LLMBenchError as exc:
            raise pytest.UsageError(str(exc)) from None
        bench.share_rate_limits()
        config.pluginmanager.register(target_plugin.RunInfo(bench), "llmbench-target-info")
    config.pluginmanager.register(fixtures, "llmbench-fixtures")
    sharded = False
    if config.pluginmanager.hasplugin("xdist"):
        from pytest_llmbench.plugin.xdist_glue import XdistGlue, sharding_active

        sharded = sharding_active(config)
        if is_controller(config):
            from pytest_llmbench.plugin.crash import CrashRecords

            config.pluginmanager.register(XdistGlue(bench, dist_mode), "llmbench-xdist")
            config.pluginmanager.register(CrashRecords(bench), "llmbench-crash-records")
    if bench.shard is not None:
        from pytest_llmbench.plugin.partition import ShardSelection

        first = workerinput is None or workerinput.get("workerid") == "gw0"
        every_shard = bool(options.resolve(config, "serving_hosts", bench.models_config.settings))
        config.pluginmanager.register(ShardSelection(bench.shard, bench.run_path, first,
                                                     every_shard), "llmbench-shard")
    config.pluginmanager.register(LLMBenchWorker(bench, sharded), "llmbench-worker")
    if is_controller(config):
        config.pluginmanager.register(LLMBenchController(config, bench), "llmbench-controller")
        from pytest_llmbench.plugin import serving as serving_plugin
        from pytest_llmbench.plugin.postrun import PostRun

        config.pluginmanager.register(PostRun.from_config(config, bench), "llmbench-postrun")
        config.pluginmanager.register(serving_plugin.ServingReport(config),
                                      "llmbench-serving-report")
    lifecycle.register(config, bench, is_controller(config))


def _shard(config: pytest.Config) -> Any:
    """This process's shard: ``--llmbench-shard``, else what a scheduler's variables say."""
    from pytest_llmbench.suites.partition import Shard, shard_from_env

    given = options.resolve(config, "shard")
    return Shard.parse(given) if given else shard_from_env()


def _run_id(config: pytest.Config, shard: Any) -> str | None:
    """The run id given, else for a shard the one its whole job shares (Slurm array job id,
    GitHub run, $LLMBENCH_RUN_ID); without one each shard is a run of its own, and says so."""
    given = options.resolve(config, "run_id")
    if given or shard is None:
        return str(given) if given else None
    from pytest_llmbench.suites.partition import shared_run_id

    shared = shared_run_id()
    if shared is None:
        config.issue_config_time_warning(pytest.PytestConfigWarning(
            f"llmbench shard {shard.label}: no shared run id (--llmbench-run-id, "
            "$LLMBENCH_RUN_ID, a Slurm array or a GitHub run); this shard gets a run id of "
            "its own, so merge its directory by path"), stacklevel=2)
    return shared


def _coordinate(config: pytest.Config, bench: Any) -> None:
    """With ``--llmbench-coordinator``: check it answers now, and hand it to every process."""
    url = options.resolve(config, "coordinator", bench.models_config.settings)
    hosts = options.resolve(config, "serving_hosts", bench.models_config.settings)
    if hosts and (not url or bench.shard is None):
        from pytest_llmbench.errors import ConfigError

        raise ConfigError("--llmbench-serving-hosts needs --llmbench-shard (or a scheduler's "
                          "index) and --llmbench-coordinator: the hosts start together through it")
    if not url:
        return
    from pytest_llmbench.calls.coordinator import connect
    from pytest_llmbench.calls.layers import COORDINATOR, RUN_ID
    from pytest_llmbench.errors import ConfigError

    if bench.shard is not None and not (options.resolve(config, "run_id") or _shared_id()):
        raise ConfigError("--llmbench-coordinator: the shards of a run share limits by run id; "
                          "give one with --llmbench-run-id or $LLMBENCH_RUN_ID")
    connect(str(url)).close()
    bench.context[COORDINATOR] = str(url)
    bench.context[RUN_ID] = bench.run_id
    if options.resolve(config, "serving_hosts", bench.models_config.settings):
        from pytest_llmbench.plugin.serving import SERVING_HOSTS

        bench.context[SERVING_HOSTS] = True


def _shared_id() -> str | None:
    from pytest_llmbench.suites.partition import shared_run_id

    return shared_run_id()


def _discovered(workerinput: dict[str, Any] | None) -> dict[str, list[str]] | None:
    """A worker's model lists from the controller; None on the controller (it asks)."""
    if workerinput is None:
        return None
    from pytest_llmbench.plugin.xdist_glue import DISCOVERED

    return dict(workerinput.get(DISCOVERED, {}))


def _start_sim(config: pytest.Config, bench: Any) -> None:
    """One simulator per run (shared by xdist workers) when a sim: model (or judge) has no
    base_url."""
    from pytest_llmbench.calls.layers import REPLAY_DIR

    judges = [bench.judge] if bench.judge is not None else []
    wanted = any(m.provider == "sim" and not m.settings.get("base_url")
                 for m in [*bench.models, *judges])
    if not wanted or "sim_url" in bench.context or bench.context.get(REPLAY_DIR):
        return
    from pytest_llmbench.plugin.sim_link import start_for_run
    from pytest_llmbench.plugin.stash import SIM_PROCESS

    url, process = start_for_run(bench.seed)
    bench.context["sim_url"] = url
    if process is not None:
        config.stash[SIM_PROCESS] = process


SERVING_RUNNER = "llmbench-serving"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    from pytest_llmbench.plugin.collect import SuiteFile, is_suite_file
    from pytest_llmbench.plugin.serving import ServingFile, is_serving_file

    if is_serving_file(file_path):
        if not parent.config.pluginmanager.has_plugin(SERVING_RUNNER):  # only runs that load
            from pytest_llmbench.plugin.serving import ServingRunner

            parent.config.pluginmanager.register(ServingRunner(parent.config), SERVING_RUNNER)
        return ServingFile.from_parent(parent, path=file_path)
    if file_path.suffix in (".yaml", ".yml") and is_suite_file(
            file_path, parent.session.isinitpath(file_path)):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    from pytest_llmbench.plugin.collect import generate_tests
    from pytest_llmbench.plugin.serving import generate_tests as generate_serving_tests

    if not generate_serving_tests(metafunc):
        generate_tests(metafunc)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config) -> None:
    """Broken suites must not stop the others: let the run go on past their
    collection errors when every collection error is a suite's own."""
    from pytest_llmbench.plugin.stash import SESSION

    bench = config.stash.get(SESSION, None)
    if bench is None or not bench.suite_errors:
        return
    failed = _failed_collectors(session)
    if failed and all(nodeid in bench.suite_errors for nodeid in failed):
        config.option.continue_on_collection_errors = True


def _failed_collectors(session: pytest.Session) -> set[str]:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return set()
    return {rep.nodeid for rep in reporter.stats.get("error", [])
            if isinstance(rep, pytest.CollectReport)}


def pytest_unconfigure(config: pytest.Config) -> None:
    from pytest_llmbench.plugin.stash import SESSION, SIM_PROCESS

    bench = config.stash.get(SESSION, None)
    if bench is not None:
        bench.close()
    process = config.stash.get(SIM_PROCESS, None)
    if process is not None:
        process.stop()
    from pytest_llmbench.plugin import signals

    signals.uninstall(config)
