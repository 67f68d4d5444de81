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
