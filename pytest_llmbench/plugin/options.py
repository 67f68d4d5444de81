"""Every ``--llmbench-*`` option, ini key and env var in one table.

Resolution order: command line > environment variable > ini / pyproject
``[tool.pytest.ini_options]`` > the models config file's ``settings:`` > default.
The table is shared with the ``llmbench`` CLI so names never drift.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_llmbench.errors import ConfigError


def _bounded(kind: Callable[[str], Any], minimum: float, strict: bool) -> Callable[[str], Any]:
    """A parser of ``kind`` values above ``minimum`` (or at least it, unless ``strict``)."""
    def parse(text: str) -> Any:
        value = kind(text)
        if value < minimum or (strict and value == minimum):
            raise ValueError(f"must be {'>' if strict else '>='} {minimum:g}")
        return value

    return parse


_positive_int = _bounded(int, 1, strict=False)
_non_negative_int = _bounded(int, 0, strict=False)
_positive_float = _bounded(float, 0, strict=True)
_non_negative_float = _bounded(float, 0, strict=False)


def _sandbox(text: str) -> str:
    if text not in ("auto", "docker", "subprocess"):
        raise ValueError("expected auto, docker or subprocess")
    return text


def _bool(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true/false")


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = str(text).strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value
    return parse


def _processes(text: str) -> int | str:
    value = str(text).strip().lower()
    if value == "auto":
        return value
    return int(_positive_int(value))


def _usd(text: str) -> float:
    value = float(str(text).strip().lstrip("$"))
    if value <= 0:
        raise ValueError("must be > 0 (USD)")
    return value


@dataclass(frozen=True)
class Option:
    name: str  # dest and ini key suffix: llmbench_<name>
    help: str
    default: Any = None
    parse: Callable[[str], Any] | None = None
    env: str | None = None
    metavar: str | None = None
    flag: bool = False  # store_true
    multiple: bool = False  # repeatable (append)

    @property
    def cli(self) -> str:
        return "--llmbench-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "llmbench_" + self.name


OPTIONS: tuple[Option, ...] = (
    Option("models", "comma-separated models as provider:model (split on the first colon)",
           env="BENCHMARK_MODELS", metavar="SPECS"),
    Option("provider", "default provider of bare model ids in --llmbench-models / "
           "$BENCHMARK_MODELS (an id whose text before the first colon is no provider, e.g. "
           "'amazon.nova-pro-v1:0' with provider bedrock)", env="BENCHMARK_PROVIDER",
           metavar="NAME"),
    Option("category", "run only config-file models in these categories (comma-separated)",
           metavar="NAMES"),
    Option("config", "models config file (default: llmbench.yaml in the rootdir, "
           "else [tool.llmbench] in pyproject.toml)", env="LLMBENCH_CONFIG", metavar="PATH"),
    Option("sample", "deterministic subset per suite: a count (50) or a percentage (5%)",
           metavar="N|P%"),
    Option("seed", "seed for sampling (identical across runs and xdist workers)", default=42,
           parse=int, metavar="INT"),
    Option("test_mode", "run only 5 items per suite", default=False, flag=True),
    Option("concurrency", "model calls kept in flight per process", default=8,
           parse=_positive_int, metavar="N"),
    Option("engine", "where model calls run: process (a child process with its own GIL, "
           "so pytest's work does not skew timings) or thread (in pytest's process)",
           default="process", parse=_one_of("process", "thread"), env="LLMBENCH_ENGINE",
           metavar="process|thread"),
    Option("timeout", "timeout of each attempt of a call, in seconds", default=120.0, parse=_positive_float,
           metavar="SECONDS"),
    Option("max_retries", "retries of a call that failed transiently (429, 5xx, timeout, "
           "dropped connection); a model's max_retries setting overrides", default=3,
           parse=_non_negative_int, env="LLMBENCH_MAX_RETRIES", metavar="N"),
    Option("retry_max_wait", "longest single wait before a retry, in seconds (caps "
           "retry-after too)", default=30.0, parse=_positive_float, metavar="SECONDS"),
    Option("output", "folder holding run directories", default=".llmbench/runs",
           env="LLMBENCH_OUTPUT", metavar="DIR"),
    Option("run_id", "name of this run's directory (default: time-sortable id; shards of a "
           "Slurm array or GitHub run share one derived from the job)", env="LLMBENCH_RUN_ID",
           metavar="ID"),
    Option("shard", "run one part of the items, INDEX/COUNT (0-based), e.g. 2/4; default: "
           "$LLMBENCH_SHARD, or a Slurm array's or Kubernetes Indexed Job's index",
           metavar="INDEX/COUNT"),
    Option("coordinator", "share rate limits and the budget with every shard of the run "
           "through this server: redis://HOST:PORT/DB", env="LLMBENCH_COORDINATOR",
           metavar="URL"),
    Option("serving_hosts", "with --llmbench-shard: every shard runs every serving point with "
           "its part of the load, starting together (needs --llmbench-coordinator); merge pools "
           "them", default=False, flag=True),
    Option("gate", "suite-level gate deciding the exit status, e.g. 'accuracy>=0.8' or "
           "'gsm8k:latency_p95<=2s' (repeatable)", multiple=True, metavar="EXPR"),
    Option("score_only", "record wrong answers without failing their tests "
           "(exit status then comes from errors and gates)", default=False, flag=True),
    Option("samples", "completions per (case x model) item, for pass@k (default: the suite's "
           "'samples:', else 1)", parse=_positive_int, env="LLMBENCH_SAMPLES", metavar="N"),
    Option("judge", "judge model for 'judge' scorers that name none (default: the models "
           "config's 'judge:')", env="LLMBENCH_JUDGE", metavar="SPEC"),
    Option("sandbox", "where code scorers run generated code: auto (Docker when an engine "
           "answers, else a restricted subprocess), docker or subprocess",
           parse=_sandbox, env="LLMBENCH_SANDBOX", metavar="auto|docker|subprocess"),
    Option("require_docker", "fail instead of falling back or skipping when no Docker engine "
           "answers (code sandboxes; Docker tests)", default=False, flag=True,
           env="LLMBENCH_REQUIRE_DOCKER"),
    Option("dist", "xdist scheduling of benchmark items: 'shard' hands each worker whole "
           "model x chunk shards so it can keep calls in flight; 'off' keeps --dist",
           default="shard", metavar="shard|off"),
    Option("resume", "finish an earlier run (an id, 'latest' or a path) in its own directory: "
           "items it recorded are kept, the rest run", metavar="RUN_ID"),
    Option("retry_errors", "rerun only the items of an earlier run that errored, into its "
           "directory (their error records are superseded)", metavar="RUN_ID"),
    Option("batch", "send the run's model calls as provider batches (OpenAI Batch, Anthropic "
           "Message Batches, Bedrock batch inference): about half the price, answers within "
           "the provider's window, no latency figures; 'batch: true' in a model's config "
           "entry does it for that model only", default=False, flag=True, env="LLMBENCH_BATCH"),
    Option("batch_poll", "seconds between asking the provider about a batch", default=30.0,
           parse=_positive_float, metavar="SECONDS"),
    Option("cache", "response cache keyed by provider, model, params and messages",
           default="off", parse=_one_of("off", "read", "write", "readwrite"),
           env="LLMBENCH_CACHE", metavar="off|read|write|readwrite"),
    Option("cache_dir", "folder of the response cache", default=".llmbench/cache",
           env="LLMBENCH_CACHE_DIR", metavar="DIR"),
    Option("record", "store every exchange in DIR (replay it with --llmbench-replay)",
           metavar="DIR"),
    Option("replay", "answer every call from a recording in DIR: no network; a request "
           "not recorded is an error naming its key", metavar="DIR"),
    Option("progress", "live progress on the controller: a bar on a terminal, plain lines "
           "in CI logs", default="auto", parse=_one_of("auto", "rich", "plain", "off"),
           env="LLMBENCH_PROGRESS", metavar="auto|rich|plain|off"),
    Option("progress_interval", "seconds between plain progress lines", default=10.0,
           parse=_non_negative_float, metavar="SECONDS"),
    Option("budget", "stop starting calls when the projected cost would pass this many USD; "
           "items not started are skipped", parse=_usd, env="LLMBENCH_BUDGET", metavar="USD"),
    Option("debug", "debug logging of pytest_llmbench to stderr", default=False, flag=True,
           env="LLMBENCH_DEBUG"),
    Option("baseline", "compare this run with a baseline run (a run id, a path, or 'latest': the "
           "newest earlier run in the output folder); writes compare.json", env="LLMBENCH_BASELINE",
           metavar="RUN|latest"),
    Option("regression", "regression gate against the baseline deciding the exit status, e.g. "
           "'accuracy -2pt', 'latency_p95 +20%' (repeatable)", multiple=True, metavar="EXPR"),
    Option("ingest_url", "POST the results to this ingest endpoint at the end of the run "
           "(the key comes from $INGEST_API_KEY)", env="INGEST_API_URL", metavar="URL"),
    Option("ingest_header", "header carrying $INGEST_API_KEY: Authorization sends 'Bearer KEY', "
           "any other header the bare key", default="Authorization", metavar="NAME"),
    Option("ingest_batch_size", "records per ingest batch", default=1000, parse=_positive_int,
           metavar="N"),
    Option("ingest_timeout", "longest total time spent posting, retries included, in seconds",
           default=60.0, parse=_positive_float, metavar="SECONDS"),
    Option("ingest_required", "a failed ingest fails the session (by default it warns; "
           "'llmbench ingest RUN' resends)", default=False, flag=True),
    Option("benchmark_json", "write github-action-benchmark custom JSON into this folder at the "
           "end of the run: benchmark-bigger-is-better.json (accuracy, pass@k, output tok/s) and "
           "benchmark-smaller-is-better.json (latency, TTFT, cost); measured figures only",
           env="LLMBENCH_BENCHMARK_JSON", metavar="DIR"),
    Option("sign", "write a signed export bundle <run_id>.zip into the run directory at the end "
           "of the run, signed with this Ed25519 private key file", env="LLMBENCH_SIGNING_KEY",
           metavar="KEYFILE"),
    Option("commits", "commits to expand target templates over ({commit} in a target's "
           "image or command): 'a1b2c3,d4e5f6' or 'baseline=a1b2c3,agent=d4e5f6'",
           env="LLMBENCH_COMMITS", metavar="LIST"),
    Option("baseline_target", "the target (or template) others are compared with (speedup "
           "columns); comma-separated names give each commit its own baseline; default: the "
           "target or template named 'baseline', else the first target", metavar="NAMES"),
    Option("variants", "run only these prompt variants of suites that declare variants "
           "(comma-separated names)", env="LLMBENCH_VARIANTS", metavar="NAMES"),
    Option("fitted", "reuse the fitted prompts of optimizer variants from this earlier run "
           "(a run id, a path or 'latest') instead of fitting again", metavar="RUN|latest"),
    Option("serving_processes", "load processes per serving point (a count or auto), "
           "overriding the suites' 'processes:'", parse=_processes,
           env="LLMBENCH_SERVING_PROCESSES", metavar="N|auto"),
    Option("gpu_telemetry", "sample GPU utilisation, memory, power and clocks with nvidia-smi "
           "every SECONDS into the run directory (0: off)", default=0.0,
           parse=float, metavar="SECONDS"),
)

BY_NAME = {option.name: option for option in OPTIONS}
SUITES_INI = "llmbench_suites"  # ini only: where YAML suites are looked for


def add_options(parser: Any) -> None:
    """Register the table on a pytest parser (options and ini keys)."""
    group = parser.getgroup("llmbench", "LLM benchmarks (pytest-llmbench)")
    for option in OPTIONS:
        kwargs: dict[str, Any] = {"dest": "llmbench_" + option.name,
                                  "help": option.help.replace("%", "%%")}  # argparse formats help
        if option.flag:
            kwargs.update(action="store_true", default=None)
        elif option.multiple:
            kwargs.update(action="append", default=None, metavar=option.metavar)
        else:
            kwargs.update(action="store", default=None, metavar=option.metavar)
        group.addoption(option.cli, **kwargs)
        parser.addini(option.ini, f"default for {option.cli}",
                      type="linelist" if option.multiple else "string", default=None)
    parser.addini(SUITES_INI, "folders or globs (relative to the rootdir) whose YAML files with "
                  "a suite's keys are benchmark suites (files named on the command line and "
                  "files declaring 'kind: suite' always are)", type="linelist",
                  default=["bench_suites"])


def resolve(config: Any, name: str, file_settings: dict[str, Any] | None = None) -> Any:
    """The effective value of option ``name`` (CLI > env > ini > config file > default)."""
    option = BY_NAME[name]
    raw: Any = config.getoption("llmbench_" + name)
    source = option.cli
    if raw is None and option.env:
        raw = os.environ.get(option.env) or None
        source = f"${option.env}"
    if raw is None:
        raw = config.getini(option.ini) or None
        source = f"ini {option.ini}"
    if raw is None and file_settings and name in file_settings:
        raw = file_settings[name]
        source = f"config settings.{name}"
    if raw is None:
        return option.default
    if option.multiple:
        values = raw if isinstance(raw, list) else [raw]
        return [str(v) for v in values]
    if option.flag:
        return raw if isinstance(raw, bool) else _parse(option, _bool, raw, source)
    if option.parse is not None and isinstance(raw, str | int | float):
        return _parse(option, option.parse, str(raw), source)
    return raw


def _parse(option: Option, parse: Callable[[str], Any], raw: Any, source: str) -> Any:
    try:
        return parse(str(raw))
    except ValueError as exc:
        raise ConfigError(f"{source}: invalid value {raw!r} for {option.cli}: {exc}") from None


def add_argument(parser: Any, name: str, *flags: str, help: str | None = None) -> None:
    """Register table option ``name`` on an argparse parser of the ``llmbench`` CLI, with the
    same env var as in pytest and its help (or ``help``, worded for the command); read back
    with :func:`resolve_args`."""
    option = BY_NAME[name]
    env = f" [env ${option.env}]" if option.env else ""
    default = f" [default {option.default}]" if option.default not in (None, False) else ""
    kwargs: dict[str, Any] = {"dest": name, "default": None,
                              "help": (help or option.help) + env + default}
    if option.flag:
        kwargs["action"] = "store_true"
    else:
        kwargs.update(action="append" if option.multiple else "store", metavar=option.metavar)
    parser.add_argument(*(flags or ("--" + option.cli.removeprefix("--llmbench-"),)), **kwargs)


def resolve_args(args: Any, name: str) -> Any:
    """The effective value of a table option on the CLI (argument > env var > default)."""
    option = BY_NAME[name]
    raw: Any = getattr(args, name, None)
    source = "--" + option.cli.removeprefix("--llmbench-")
    if raw in (None, False) and option.env and os.environ.get(option.env):
        raw, source = os.environ[option.env], f"${option.env}"
    if raw is None:
        return option.default
    if option.flag:
        return raw if isinstance(raw, bool) else _parse(option, _bool, raw, source)
    if option.parse is not None and not option.multiple:
        return _parse(option, option.parse, raw, source)
    return raw
