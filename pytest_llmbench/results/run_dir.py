"""The run directory: ``<output>/<run_id>/`` with run.json, records.jsonl and reports.

Records are appended and flushed one by one as they arrive, so a crash or
Ctrl-C loses nothing that completed. A ``latest`` symlink names the newest run.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

from pytest_llmbench.results.jsonl import dump_line

RUN_FILE = "run.json"
RECORDS_FILE = "records.jsonl"
_VERSIONED = ("pytest-llmbench", "pytest", "pytest-xdist", "openai", "anthropic", "boto3", "httpx")


def new_run_id() -> str:
    """Time-sortable to the millisecond and unique: ``20261123-142530.123-3f9a``.

    Milliseconds keep runs started within one second (``llmbench watch`` with a
    short interval, CI matrix jobs) in the order they started.
    """
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"{stamp}.{int(now * 1000) % 1000:03d}-{secrets.token_hex(2)}"


def resolve_run(base: Path, name: str) -> Path:
    """A run folder by id, ``latest`` or a path."""
    candidate = Path(name)
    if candidate.is_dir() and (candidate / RUN_FILE).exists():
        return candidate
    path = base / name
    if path.is_dir():
        return path.resolve()
    raise FileNotFoundError(f"no run {name!r} under {base}")


class RunDir:
    def __init__(self, base: Path, run_id: str, folder: str | None = None) -> None:
        self.base = base
        self.run_id = run_id
        self.folder = folder or run_id
        self.path = base / self.folder
        self._records: IO[bytes] | None = None
        self.info: dict[str, Any] = {}

    @property
    def started(self) -> bool:
        return self._records is not None

    def start(self, info: dict[str, Any]) -> None:
        """Create the folder, write run.json and open records.jsonl for appending."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.info = {"run_id": self.run_id, "status": "running", **info}
        self.write_info()
        self._records = (self.path / RECORDS_FILE).open("ab")
        self._point_latest()

    def append(self, record: dict[str, Any]) -> None:
        assert self._records is not None
        self._records.write(dump_line(record))
        self._records.flush()

    def close(self) -> None:
        if self._records is not None:
            self._records.close()

    def write_info(self) -> None:
        from pytest_llmbench.report.scrub import scrub_value  # noqa: PLC0415

        # pytest_args may hold a URL's password, a hook may add anything
        write_json(self.path / RUN_FILE, scrub_value(self.info))

    def _point_latest(self) -> None:
        link = self.base / "latest"
        tmp = self.base / f".latest-{self.folder}"
        try:
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            tmp.symlink_to(self.folder, target_is_directory=True)
            os.replace(tmp, link)
        except OSError:  # file systems without symlinks: a plain text pointer instead
            (self.base / "LATEST").write_text(self.folder + "\n", encoding="utf-8")


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)


def read_records(path: Path) -> list[dict[str, Any]]:
    """Every record in a run folder (a torn last line from a crash is skipped)."""
    out = []
    with (path / RECORDS_FILE).open(encoding="utf-8") as handle:
        for line in handle:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


def environment_info(rootdir: Path) -> dict[str, Any]:
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    versions["python"] = sys.version.split()[0]
    return {
        "versions": versions,
        "git": _git(rootdir),
        "machine": {"platform": platform.platform(), "machine": platform.machine(),
                    "node": platform.node(), "cpus": os.cpu_count(),
                    "python_implementation": platform.python_implementation()},
    }


def _git(rootdir: Path) -> dict[str, Any] | None:
    def run(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=rootdir, capture_output=True, text=True,
                                 timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = run("rev-parse", "HEAD")
    if commit is None:
        return None
    return {"commit": commit, "branch": run("rev-parse", "--abbrev-ref", "HEAD"),
            "dirty": bool(run("status", "--porcelain", "--untracked-files=no"))}
