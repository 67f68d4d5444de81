"""The ``llmbench`` command: one subcommand per function, each a thin front to a module.

Subcommands import their module lazily so ``llmbench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmbench", description="pytest-llmbench tools: the local LLM API simulator and more."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    add_sim(sub)
    add_cache(sub)
    add_watch(sub)
    add_sandbox_image(sub)
    from pytest_llmbench.cli.results import add_commands

    add_commands(sub)
    add_report(sub)
    add_targets(sub)
    return parser


def add_sim(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``llmbench sim``: run the local OpenAI / Anthropic / Bedrock simulator."""
    from pytest_llmbench.sim.cli import add_arguments

    parser = sub.add_parser(
        "sim", help="run the local LLM API simulator",
        description="Serve simulated models on the OpenAI (/v1/chat/completions), Anthropic "
                    "(/v1/messages) and Bedrock (/model/ID/converse[-stream]) wire formats.",
    )
    add_arguments(parser)
    parser.set_defaults(func=cmd_sim)


def cmd_sim(args: argparse.Namespace) -> int:
    from pytest_llmbench.sim.cli import run

    return run(args)


def add_cache(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``llmbench cache info|clear``: the response cache's size, or empty it."""
    from pytest_llmbench.cli.cache import add_arguments

    parser = sub.add_parser("cache", help="show the size of the response cache or clear it")
    add_arguments(parser)
    parser.set_defaults(func=cmd_cache)


def cmd_cache(args: argparse.Namespace) -> int:
    from pytest_llmbench.cli.cache import run

    return run(args)


def add_watch(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``llmbench watch``: run the benchmark every interval, one pytest process per cycle."""
    from pytest_llmbench.cli.watch import add_arguments

    parser = sub.add_parser(
        "watch", help="run a benchmark repeatedly (a scheduled runner)",
        description="Run pytest with the given arguments every --interval, each cycle in a "
                    "fresh process with its own run directory, logging one line per model.")
    add_arguments(parser)
    parser.set_defaults(func=cmd_watch)


def cmd_watch(args: argparse.Namespace) -> int:
    from pytest_llmbench.cli.watch import run

    return run(args)


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
    cleanup = actions.add_parser("cleanup", help="remove leftover target containers")
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
    func: Command = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
