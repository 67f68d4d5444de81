"""The llmbench command: --version, bare prints commands, described subcommands (point 12)."""

from __future__ import annotations

import argparse
import subprocess
import sys

from pytest_llmbench.cli import build_parser


def _llmbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", *args],
                          capture_output=True, text=True, timeout=60)


def test_version_and_bare_command() -> None:
    version = _llmbench("--version")
    assert version.returncode == 0 and version.stdout.startswith("llmbench 0.")
    bare = _llmbench()
    assert bare.returncode == 0
    for command in ("sim", "watch", "compare", "merge", "ingest", "export", "report"):
        assert f"    {command}" in bare.stdout


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {k}": v for k, v in _subcommands(sub).items()})
    return found


def test_every_subcommand_is_described_and_names_runs_folder_alike() -> None:
    commands = _subcommands(build_parser())
    assert {name for name, sub in commands.items() if not sub.description} == set()
    for name, sub in commands.items():
        help_text = sub.format_help()
        assert "xdist" not in help_text and "at the end of the run" not in help_text, name
        flags = {s for a in sub._actions for s in a.option_strings}
        if "--output" in flags:
            assert "--runs" in flags, name  # one visible name for the runs folder
