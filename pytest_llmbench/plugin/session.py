"""LLMBenchSession: the per-process state of a run, kept on ``config.stash``.

It resolves options and models once, loads each suite once, owns the engine
and the prefetcher, and builds requests. It is plain Python the pytest hooks
delegate to (the syrupy "thin adapter" shape).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmbench.calls.batch import batch_models
from pytest_llmbench.calls.engine import LIMITS_DIR, Engine
from pytest_llmbench.calls.engine_process import EngineSpec, ProcessEngine
from pytest_llmbench.calls.layers import COORDINATOR
from pytest_llmbench.calls.prefetch import Prefetcher
from pytest_llmbench.calls.ratelimit import RateLimit, RateLimits, bucket_for, provider_limits
from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.config import (
    ModelsConfig,
    ModelSpec,
    load_models_config,
    node_id_models,
    select_models,
)
from pytest_llmbench.errors import ConfigError, SuiteError
from pytest_llmbench.plugin import options
from pytest_llmbench.plugin.variants import FITTED_FROM, VariantFitter
from pytest_llmbench.providers.base import ChatRequest, Completion, check_provider, known_providers
from pytest_llmbench.providers.batch_base import check_batch_models
from pytest_llmbench.redaction import remember_secret, remember_settings, strip_userinfo
from pytest_llmbench.results.gates import Gate, parse_gate
from pytest_llmbench.scoring.base import Scorer
from pytest_llmbench.scoring.context import ScoringContext
from pytest_llmbench.scoring.registry import make_scorer
from pytest_llmbench.suites.loader import load_suite_file
from pytest_llmbench.suites.model import Case, Suite
from pytest_llmbench.suites.partition import Shard
from pytest_llmbench.suites.sampling import parse_sample, sample
from pytest_llmbench.suites.variants import Variant

DEFAULT_MODEL = "sim:default"
TEST_MODE_ITEMS = 5


def remember_run_secrets(models_config: ModelsConfig, models: list[ModelSpec],
                         ingest_url: str | None) -> None:
    """Every credential the run knows, in every process, before anything is written: keys
    and tokens of the models config and of the models, the ingest key, URL passwords."""
    remember_settings(models_config.settings)
    for spec in [*models_config.models, *models]:
        remember_settings(spec.settings)
    remember_secret(os.environ.get("INGEST_API_KEY"))
    if ingest_url:
        strip_userinfo(str(ingest_url))


@dataclass
class LLMBenchSession:
    rootdir: Path
    models_config: ModelsConfig
    models: list[ModelSpec]
    seed: int
    sample: int | float | None
    concurrency: int
    timeout: float
    score_only: bool
    gates: list[Gate]
    output: Path
    engine_mode: str = "process"  # --llmbench-engine
    samples: int | None = None
    judge: ModelSpec | None = None
    sandbox: str | None = None
    require_docker: bool = False
    variants: list[str] | None = None  # --llmbench-variants
    batch: bool = False  # --llmbench-batch: every model's calls as provider batches
    batch_poll: float = 30.0
    inferred_models: set[str] = field(default_factory=set)  # read off node ids on the CLI
    run_id: str = ""
    shard: Shard | None = None  # --llmbench-shard: this process runs one part of the items
    worker: str = field(default_factory=lambda: os.environ.get("PYTEST_XDIST_WORKER", "main"))
    suites_by_path: dict[Path, Suite] = field(default_factory=dict)
    suites_by_name: dict[str, Suite] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    suite_errors: set[str] = field(default_factory=set)
    scorers: dict[str, Scorer] = field(default_factory=dict)
    discovered: dict[str, list[str]] = field(default_factory=dict)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rate_limits: dict[str, RateLimit] = field(default_factory=dict)
    _engine: Engine | ProcessEngine | None = None
    _owned_limits_dir: str | None = None
    prefetcher: Prefetcher | None = None
    _scoring: ScoringContext | None = None
    _fitter: VariantFitter | None = None

    @classmethod
    def from_config(cls, config: Any) -> LLMBenchSession:
        rootdir = Path(config.rootpath)
        models_config = load_models_config(rootdir, options.resolve(config, "config"))
        settings = models_config.settings

        def get(name: str) -> Any:
            return options.resolve(config, name, settings)

        provider = get("provider")
        if provider and provider not in known_providers():
            raise ConfigError(f"--llmbench-provider: unknown provider {provider!r} "
                              f"(known: {', '.join(known_providers())})")
        named = get("models")
        inferred: list[str] = []
        if not named:  # a printed node id re-runs as printed, without --llmbench-models
            inferred = [m for m in node_id_models(getattr(config, "args", ()))
                        if m.partition(":")[0] in known_providers()]
            named = ",".join(inferred) or None
        models = select_models(named, get("category"), models_config, DEFAULT_MODEL,
                               source=_models_source(config), default_provider=provider,
                               providers=known_providers() if provider else ())
        retry = RetryPolicy(get("max_retries"), get("retry_max_wait"))
        limits = provider_limits(settings, str(models_config.path))
        for spec in models:
            check_provider(spec, source=_models_source(config))
            try:  # bad retry or rate-limit settings fail now, once
                retry.for_model(spec)
                bucket_for(spec, limits)
            except ConfigError as exc:
                raise ConfigError(f"{models_config.path}: {exc}") from None
        amount = TEST_MODE_ITEMS if get("test_mode") else parse_sample(get("sample"))
        output = Path(get("output"))
        judge = (_find_or_parse(models_config, get("judge"), "--llmbench-judge")
                 if get("judge") else models_config.judge)
        if judge is not None:
            check_provider(judge, source="judge model")
        batch = bool(get("batch"))
        check_batch_models(batch_models(models, batch),
                           "--llmbench-batch" if batch else f"{models_config.path}: batch: true")
        remember_run_secrets(models_config, [*models, *([judge] if judge else [])],
                             get("ingest_url"))
        return cls(rootdir=rootdir, models_config=models_config, models=models, seed=get("seed"),
                   inferred_models=set(inferred),
                   sample=amount, concurrency=get("concurrency"), timeout=get("timeout"),
                   engine_mode=get("engine"),
                   score_only=bool(get("score_only")),
                   gates=[parse_gate(g) for g in get("gate") or []],
                   output=output if output.is_absolute() else rootdir / output,
                   retry=retry, rate_limits=limits, samples=get("samples"), judge=judge,
                   sandbox=get("sandbox"), require_docker=bool(get("require_docker")),
                   variants=[v.strip() for v in str(get("variants")).split(",") if v.strip()]
                   if get("variants") else None, batch=batch, batch_poll=get("batch_poll"))

    def expand_models(self, listed: dict[str, list[str]] | None) -> None:
        """Expand ``provider:*`` models: the controller asks the servers (``listed`` None),
        workers use the controller's lists. A listed model that has its own config entry
        keeps that entry's params and settings."""
        if listed is None and not any(m.model == "*" for m in self.models):
            return
        from pytest_llmbench.providers import discovery  # noqa: PLC0415 - only with wildcards

        self.discovered = discovery.discover(self.models) if listed is None else listed
        expanded = discovery.expand(self.models, self.discovered)
        self.models = [self.models_config.find(m.name) or m for m in expanded]

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]

    def model(self, name: str) -> ModelSpec:
        return next(m for m in self.models if m.name == name)

    # Suites -------------------------------------------------------------

    def load_suite(self, path: Path) -> Suite:
        path = path.resolve()
        suite = self.suites_by_path.get(path)
        if suite is None:
            suite = self.register_suite(load_suite_file(path))
            self.suites_by_path[path] = suite
        return suite

    def register_suite(self, suite: Suite) -> Suite:
        """Apply sampling once and index by name; two different suites may not share a name."""
        known = self.suites_by_name.get(suite.name)
        if known is suite or (known is not None and known.path is not None
                              and known.path == suite.path):
            return known
        if known is not None:
            raise SuiteError(suite.path or suite.name, f"suite name {suite.name!r} is already "
                             f"used by {known.path or 'another suite'}")
        amount = self.sample if self.sample is not None else parse_sample(
            suite.sample, source=f"{suite.path}: sample")
        suite.cases = sample(suite.cases, [c.id for c in suite.cases], amount, self.seed,
                             suite.name)
        self.suites_by_name[suite.name] = suite
        return suite

    def scorer_for(self, suite: Suite) -> Scorer:
        """The suite's scorer, built once per process."""
        scorer = self.scorers.get(suite.name)
        if scorer is None:
            scorer = self.scorers[suite.name] = make_scorer(
                suite.scorer, source=str(suite.path or suite.name), context=self.scoring)
        return scorer

    @property
    def scoring(self) -> ScoringContext:
        """What scorers may use: model calls through this engine, the judge, settings."""
        if self._scoring is None:
            self._scoring = ScoringContext(
                call_many=self._call_many, judge=self.judge,
                resolve_model=lambda name: _find_or_parse(self.models_config, name, "judge model"),
                prompt_of=lambda case: self.suite_of(case).messages(case)[-1]["content"],
                settings={"sandbox": self.sandbox, "require_docker": self.require_docker})
        return self._scoring

    def _call_many(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return [future.result() for future in self.engine.submit_many(requests)]

    def samples_for(self, suite: Suite) -> int:
        """Completions per item: --llmbench-samples, else the suite's ``samples:``, else 1."""
        return self.samples or suite.samples or 1

    def suite_of(self, case: Case) -> Suite:
        return self.suites_by_name[case.suite]

    # Calls --------------------------------------------------------------

    @property
    def engine(self) -> Engine | ProcessEngine:
        if self._engine is None:
            self._engine = self._thread_engine() if self.engine_mode == "thread" else \
                ProcessEngine(self._engine_spec, self._thread_engine)
        return self._engine

    def _thread_engine(self) -> Engine:
        return Engine(self.concurrency, self.timeout, self.context, retry=self.retry,
                      limits=RateLimits(self.rate_limits, self.context.get(LIMITS_DIR),
                                        self._bucket_maker()))

    def _engine_spec(self) -> EngineSpec:
        coordinator = self.context.get(COORDINATOR)
        return EngineSpec(self.concurrency, self.timeout, dict(self.context), self.retry,
                          rate_limits=self.rate_limits,
                          limits_folder=self.context.get(LIMITS_DIR),
                          coordinator=(coordinator, self.run_id) if coordinator else None,
                          log_level=logging.getLogger("pytest_llmbench").getEffectiveLevel())

    def request_for(self, model: ModelSpec, case: Case, sample: int = 0,
                    variant: Variant | None = None) -> ChatRequest:
        suite = asked = self.suite_of(case)
        overrides: dict[str, Any] = {}
        if variant is not None:  # its prompt settings; its params go over the model's
            asked, overrides = self.fitter.view(suite, variant, model)
        metadata = {"suite": suite.name, "case_id": case.id, "expected": case.expected}
        if sample:
            metadata["sample"] = sample
        if variant is not None:
            metadata["variant"] = variant.name
        return ChatRequest(model=model, messages=asked.messages(case),
                           params={**suite.params, **model.params, **overrides},
                           metadata=metadata)

    def requests_for(self, model: ModelSpec, case: Case,
                     variant: Variant | None = None) -> list[ChatRequest]:
        """One request per sample of the item (``metadata["sample"]`` tells them apart)."""
        return [self.request_for(model, case, i, variant)
                for i in range(self.samples_for(self.suite_of(case)))]

    @property
    def fitter(self) -> VariantFitter:
        """Settings of each (suite, variant, model); optimizer variants fitted once per run."""
        if self._fitter is None:
            reuse = self.context.get(FITTED_FROM)
            self._fitter = VariantFitter(run_path=lambda: self.run_path,
                                         call=lambda r: self.engine.submit_many([r])[0].result(),
                                         scorer_for=self.scorer_for,
                                         reuse_from=Path(reuse) if reuse else None)
        return self._fitter

    def _bucket_maker(self) -> Any:
        """Buckets in the coordinator when the run has one (shards on several machines)."""
        if not self.context.get(COORDINATOR):
            return None
        from pytest_llmbench.calls.coordinator import bucket_maker

        return bucket_maker(self.context[COORDINATOR], self.run_id)

    @property
    def run_folder(self) -> str:
        """The run directory's name: the run id, plus the shard for one shard of a run (shards
        of one run id may share a file system, and are merged into ``<run_id>``)."""
        return f"{self.run_id}.{self.shard.folder_suffix}" if self.shard else self.run_id

    @property
    def run_path(self) -> Path:
        return self.output / self.run_folder

    def share_rate_limits(self) -> None:
        """On the controller: make the folder every worker's rate limiters share, when a
        model of the run is limited (handed to workers in ``context``)."""
        if LIMITS_DIR not in self.context and any(
                bucket_for(m, self.rate_limits) for m in self.models):
            self.context[LIMITS_DIR] = tempfile.mkdtemp(prefix="llmbench-limits-")
            self._owned_limits_dir = self.context[LIMITS_DIR]

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
        if self._owned_limits_dir:
            shutil.rmtree(self._owned_limits_dir, ignore_errors=True)


def _find_or_parse(config: ModelsConfig, name: str, source: str) -> ModelSpec:
    """A model named in the models config (with its settings), else parsed as a spec."""
    return config.find(name) or ModelSpec.parse(config.aliases.get(name, name), source=source)


def _models_source(config: Any) -> str:
    if config.getoption("llmbench_models"):
        return "--llmbench-models"
    if os.environ.get("BENCHMARK_MODELS"):
        return "$BENCHMARK_MODELS"
    return "models config"
