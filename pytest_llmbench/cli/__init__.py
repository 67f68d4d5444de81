"""The ``llmbench`` command: one subcommand per function, each a thin front to a module.

Subcommands import their module lazily so ``llmbench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmbench", description="pytest-llmbench tools: the local LLM API simulator, "
        "scheduled runs, run comparison, exports and ingest. Benchmarks themselves run under "
        "pytest (pytest bench_suites --llmbench-models ...).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, summary, description in MODULE_COMMANDS[:3]:
        add_module_command(sub, name, module, summary, description)
    add_sandbox_image(sub)
    from pytest_llmbench.cli.results import add_commands

    add_commands(sub)
    add_report(sub)
    add_targets(sub)
    add_module_command(sub, *MODULE_COMMANDS[3])
    return parser


MODULE_COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("sim", "pytest_llmbench.sim.cli", "run the local LLM API simulator",
     "Serve simulated models on the OpenAI (/v1/chat/completions, /v1/responses), Anthropic "
     "(/v1/messages) and Bedrock (/model/ID/converse[-stream]) wire formats."),
    ("cache", "pytest_llmbench.cli.cache", "show the size of the response cache or clear it",
     "Show how many answers the response cache (--llmbench-cache) holds and its size, or "
     "empty it."),
    ("watch", "pytest_llmbench.cli.watch", "run a benchmark repeatedly (a scheduled runner)",
     "Run pytest with the given arguments every --interval, each cycle in a fresh process "
     "with its own run directory, logging one line per model."),
    ("server", "pytest_llmbench.cli.server", "run the results server, or manage its database",
     "Store runs in SQLite or PostgreSQL, take ingest posts and serve pages to browse, "
     "compare and follow them."),
)
"""Subcommands whose module has ``add_arguments(parser)`` and ``run(args)``:
(name, module, one-line help, description)."""


def add_module_command(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
                       module: str, summary: str, description: str) -> None:
    commands = importlib.import_module(module)
    parser = sub.add_parser(name, help=summary, description=description)
    commands.add_arguments(parser)
    parser.set_defaults(func=commands.run)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest-llmbench")
    except PackageNotFoundError:
        return "unknown"


def add_report(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``llmbench report RUN``: (re)build report.html from a run directory."""
    parser = sub.add_parser(
        "report", help="(re)build report.html of a run directory",
        description="Rebuild RUN/report.html from its run.json and records.jsonl (conftest "
                    "report sections are added only by pytest runs).",
    )
    parser.add_argument("run", metavar="RUN", nargs="?", default="latest",
                        help="run directory, run id or 'latest' (default: latest)")
    parser.add_argument("--runs", metavar="DIR", default=None,
                        help="folder of run directories (default: $LLMBENCH_OUTPUT or "
                             ".llmbench/runs)")
    parser.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from pytest_llmbench.report.html import write_report
    from pytest_llmbench.results.run_dir import resolve_run

    base = Path(args.runs or os.environ.get("LLMBENCH_OUTPUT") or ".llmbench/runs")
    try:
        path = write_report(resolve_run(base, args.run))
    except (OSError, ValueError) as exc:
        print(f"llmbench report: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def add_sandbox_image(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``llmbench sandbox-image``: build the code sandbox's Docker image (no registry)."""
    parser = sub.add_parser(
        "sandbox-image", help="build the Docker image the code sandbox runs in",
        description="docker import a root file system holding this Python and its standard "
                    "library; needs a running Docker engine, no registry.")
    parser.add_argument("--tag", default=None, help="image tag (default llmbench-sandbox:pyX.Y)")
    parser.set_defaults(func=cmd_sandbox_image)


def cmd_sandbox_image(args: argparse.Namespace) -> int:
    from pytest_llmbench.scoring.sandbox.image import DEFAULT_IMAGE, build_image

    print(build_image(args.tag or DEFAULT_IMAGE))
    return 0


def add_targets(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``llmbench targets cleanup``: remove Docker targets a killed run left behind."""
    parser = sub.add_parser("targets", help="manage Docker targets",
                            description="Remove target containers whose run is gone.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    cleanup = actions.add_parser("cleanup", help="remove leftover target containers",
                                 description="Remove the Docker target containers of runs "
                                 "that are gone (a killed pytest leaves them running).")
    cleanup.add_argument("--all", action="store_true",
                         help="remove every llmbench target container, even of running runs")
    cleanup.set_defaults(func=cmd_targets_cleanup)


def cmd_targets_cleanup(args: argparse.Namespace) -> int:
    from pytest_llmbench.targets.base import TargetUnavailable
    from pytest_llmbench.targets.docker import client, remove_leftovers

    try:
        docker_client = client()
    except TargetUnavailable as exc:
        print(f"llmbench targets cleanup: {exc}", file=sys.stderr)
        return 1
    removed = remove_leftovers(docker_client, everything=args.all)
    print("\n".join(removed) if removed else "no leftover target containers")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command is None:  # bare `llmbench`: the list of commands
        parser.print_help()
        return 0
    func: Command = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
