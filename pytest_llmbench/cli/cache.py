"""``llmbench cache info|clear``: the size of the response cache, and emptying it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pytest_llmbench.calls.store import ResponseStore

DEFAULT_DIR = ".llmbench/cache"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("info", "clear"),
                        help="info: entries and size; clear: remove every entry")
    parser.add_argument("--dir", default=os.environ.get("LLMBENCH_CACHE_DIR") or DEFAULT_DIR,
                        help="cache folder, or a --llmbench-record folder (default: "
                             "$LLMBENCH_CACHE_DIR or .llmbench/cache)")


def run(args: argparse.Namespace) -> int:
    store = ResponseStore(Path(args.dir))
    if args.action == "clear":
        print(f"removed {store.clear()} entries from {store.folder}")
        return 0
    info = store.info()
    print(f"{store.folder}: {info.entries} entries, {info.bytes} bytes")
    return 0
