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


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    from pytest_llmbench.plugin.option_paths import restore_rootdir

    restore_rootdir(early_config, args)
    from pytest_llmbench.plugin.early_engine import maybe_spawn

    maybe_spawn(early_config)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_llmbench.plugin import hookspecs as hooks

    pluginmanager.add_hookspecs(hooks)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Configure a run that may benchmark now; any other run stays dormant (only the
    fixtures are registered, nothing heavy is imported) until a suite file, a benchmark
    function or a benchmark fixture asks for the session (:func:`_wake`)."""
    config.addinivalue_line(
        "markers", "llmbench(suite=None, rows=None, **suite_options): run this test once per "
        "(case x model) of the named suite (a YAML path, a Suite, or inline rows)")
    if getattr(config, "workerinput", None) is None and not _distributed(config) \
            and not _may_benchmark(config):
        from pytest_llmbench.plugin import fixtures
        from pytest_llmbench.plugin.stash import WAKE

        config.stash[WAKE] = lambda: _wake(config)
        config.pluginmanager.register(fixtures, "llmbench-fixtures")
        return
    _configure_now(config)


def _wake(config: pytest.Config) -> None:
    from pytest_llmbench.plugin.stash import SESSION, WAKE

    if SESSION not in config.stash:
        del config.stash[WAKE]
        _configure_now(config)


def _configure_now(config: pytest.Config) -> None:
    from pytest_llmbench.errors import LLMBenchError
    from pytest_llmbench.plugin import fixtures, lifecycle
    from pytest_llmbench.plugin import targets as target_plugin
    from pytest_llmbench.plugin.controller import LLMBenchController, is_controller
    from pytest_llmbench.plugin.session import LLMBenchSession
    from pytest_llmbench.plugin.stash import SESSION
    from pytest_llmbench.plugin.worker import LLMBenchWorker
    from pytest_llmbench.results.run_dir import new_run_id

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
    if bench.engine_mode == "process" and (workerinput is not None or not _distributed(config)) \
            and not config.option.collectonly:  # its SDK imports overlap pytest's start-up
        bench.engine.start([model.provider for model in bench.models])  # type: ignore[union-attr]
    config.pluginmanager.register(target_plugin, "llmbench-targets")
    if workerinput is not None:
        from pytest_llmbench.plugin.xdist_glue import CONTEXT, RUN_ID

        bench.run_id = workerinput[RUN_ID]
        bench.context.update(workerinput.get(CONTEXT, {}))
        target_plugin.bind(bench)
    else:
        bench.run_id = _run_id(config, bench.shard) or new_run_id()
        lifecycle.prepare(config, bench)  # resume reuses a run's id; replay needs no simulator
        _check_credentials(config, bench)
        try:
            from pytest_llmbench.plugin.option_paths import check_output

            check_output(config, bench)
            target_plugin.start(config, bench)
        except LLMBenchError as exc:
            raise pytest.UsageError(str(exc)) from None
        target_plugin.bind(bench)
        try:
            from pytest_llmbench.plugin.variants import resolve_reuse

            resolve_reuse(bench, options.resolve(config, "fitted"))
        except LLMBenchError as exc:
            raise pytest.UsageError(str(exc)) from None
        if _distributed(config) and _may_benchmark(config):  # workers need the URL now
            _start_sim(config, bench)
        try:
            _coordinate(config, bench)
        except LLMBenchError as exc:
            raise pytest.UsageError(str(exc)) from None
        bench.share_rate_limits()
        config.pluginmanager.register(target_plugin.RunInfo(bench), "llmbench-target-info")
    if not config.pluginmanager.has_plugin("llmbench-fixtures"):
        config.pluginmanager.register(fixtures, "llmbench-fixtures")
    sharded = False
    if config.pluginmanager.hasplugin("xdist") and (
            workerinput is not None or _distributed(config)):  # xdist's scheduler costs imports
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
        from pytest_llmbench.plugin.agent_report import AgentReport

        config.pluginmanager.register(AgentReport(config), "llmbench-agent-report")
        if config.getoption("xmlpath", None):
            from pytest_llmbench.plugin.junit import JUnitFigures

            config.pluginmanager.register(JUnitFigures(config), "llmbench-junit")
        config.pluginmanager.register(serving_plugin.ServingReport(config),
                                      "llmbench-serving-report")
    lifecycle.register(config, bench, is_controller(config))
    from pytest_llmbench.plugin import batch as batch_plugin

    batch_plugin.configure(config, bench, is_controller(config))


def _check_credentials(config: pytest.Config, bench: Any) -> None:
    """A model without its key is one usage error before the run, not one error per item
    (not when answers come from a recording, nor when pytest only lists tests)."""
    from pytest_llmbench.calls.layers import REPLAY_DIR
    from pytest_llmbench.providers.credentials import missing_credentials

    if bench.context.get(REPLAY_DIR) or config.option.collectonly:
        return
    judges = [bench.judge] if bench.judge is not None else []
    missing = dict.fromkeys(m for m in map(missing_credentials, [*bench.models, *judges]) if m)
    if missing:
        raise pytest.UsageError("\n".join(missing))


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
    from pytest_llmbench.redaction import strip_userinfo

    strip_userinfo(str(url))  # its password is a secret of the run from now on
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


def _distributed(config: pytest.Config) -> bool:
    """Will xdist workers run the tests (they are configured before anything is collected)?"""
    return bool(getattr(config.option, "numprocesses", None) or getattr(config.option, "tx", None))


def _may_benchmark(config: pytest.Config) -> bool:
    """Whether this run is likely to benchmark, known before collection: llmbench options
    or env vars, a models config, suites on the command line or in a configured folder.
    (Under xdist the controller never sees the items: it starts the simulator on this.)"""
    import os  # noqa: PLC0415

    for option in options.OPTIONS:  # any llmbench option asked for: configure (and check) now
        if config.getoption("llmbench_" + option.name) is not None or (
                option.env and os.environ.get(option.env)) or config.getini(option.ini):
            return True
    if os.environ.get("BENCHMARK_MODELS"):
        return True
    root = config.rootpath
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.llmbench" in pyproject.read_text(errors="replace"):
        return True
    places = [root / p for p in config.getini(options.SUITES_INI)] + [
        Path(a.split("::")[0]) for a in config.args]
    return any(p.suffix in (".yaml", ".yml") or (p.is_dir() and any(p.glob("*.y*ml")))
               for p in places if p.exists()) or (root / "llmbench.yaml").exists()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """A plain run starts its simulator only once it knows it collected benchmark items:
    a run without any costs nothing."""
    from pytest_llmbench.plugin.stash import SESSION

    config = session.config
    bench = config.stash.get(SESSION, None)
    if bench is None:
        return
    from pytest_llmbench.plugin.controller import is_controller

    if bench.inferred_models and session.items:
        _drop_uncollected_models(bench, session.items)
    if not is_controller(config) or _distributed(config) or config.option.collectonly:
        return
    if any(item.get_closest_marker("llmbench") is not None
           or not _BENCH_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
           for item in session.items):
        _start_sim(config, bench)


def _drop_uncollected_models(bench: Any, items: list[pytest.Item]) -> None:
    """Of the models read off node ids (two readings of an id with a ``/``), keep those
    that collected items, so run.json lists what ran."""
    from pytest_llmbench.plugin.fixtures import item_params

    used = {model.name for model in (item_params(item)[0] for item in items) if model}
    kept = [m for m in bench.models if m.name not in bench.inferred_models or m.name in used]
    if kept:
        bench.models = kept


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
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    from pytest_llmbench.suites.discovery import declares_serving, read_head

    if declares_serving(read_head(file_path)):
        from pytest_llmbench.plugin.serving import ServingFile

        if not parent.config.pluginmanager.has_plugin(SERVING_RUNNER):  # only runs that load
            from pytest_llmbench.plugin.serving import ServingRunner

            parent.config.pluginmanager.register(ServingRunner(parent.config), SERVING_RUNNER)
        return ServingFile.from_parent(parent, path=file_path)
    from pytest_llmbench.suites.discovery import configured, declares_suite, is_suite_file

    config = parent.config
    explicit = parent.session.isinitpath(file_path)
    patterns = config.getini(options.SUITES_INI)
    if explicit or configured(file_path, config.rootpath, patterns) or declares_suite(
            read_head(file_path)):
        from pytest_llmbench.agents.suite import is_task_suite

        if file_path.suffix in (".yaml", ".yml") and is_task_suite(file_path):
            from pytest_llmbench.plugin.agents import collect_task_file  # the runner's imports

            task_file = collect_task_file(file_path, parent)
            if task_file is not None:
                return task_file
    if is_suite_file(file_path, explicit=explicit, rootdir=config.rootpath, patterns=patterns):
        from pytest_llmbench.plugin.collect import SuiteFile

        return SuiteFile.from_parent(parent, path=file_path)
    return None


_BENCH_FIXTURES = frozenset({"llm_model", "bench_case", "serving_point"})


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if _BENCH_FIXTURES.isdisjoint(metafunc.fixturenames):
        return  # not a benchmark function: nothing to import
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
    if bench is not None and bench.variants:
        from pytest_llmbench.suites.variants import unknown_names

        unknown = unknown_names(bench.suites_by_name.values(), bench.variants)
        if unknown:
            import warnings

            warnings.warn(pytest.PytestConfigWarning(unknown), stacklevel=1)
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
    from pytest_llmbench.plugin import early_engine, signals

    early_engine.discard()

    signals.uninstall(config)
