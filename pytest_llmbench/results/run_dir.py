"""The run directory: ``<output>/<run_id>/`` with run.json, records.jsonl and reports.

Records are appended and flushed one by one as they arrive, so a crash or
Ctrl-C loses nothing that completed. A ``latest`` symlink names the newest run.
"""

from __future__ import annotations

import errno
import json
import os
import platform
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

from pytest_llmbench.results.jsonl import dump_line
from pytest_llmbench.results.record_check import record_problem

RUN_FILE = "run.json"
RECORDS_FILE = "records.jsonl"
RESERVED_IDS = ("latest", "LATEST")
_RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@+=-]{0,199}")
_VERSIONED = ("pytest-llmbench", "pytest", "pytest-xdist", "openai", "anthropic", "boto3", "httpx")


def new_run_id() -> str:
    """Time-sortable to the millisecond and unique: ``20261123-142530.123-3f9a``.

    Milliseconds keep runs started within one second (``llmbench watch`` with a
    short interval, CI matrix jobs) in the order they started.
    """
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return f"{stamp}.{int(now * 1000) % 1000:03d}-{secrets.token_hex(2)}"


class RunWriteError(OSError):
    """Writing the run directory failed (disk full, read-only, quota): the run stops and
    every record written so far is kept whole."""

    def __str__(self) -> str:
        return str(self.strerror)


def check_run_id(run_id: str, source: str = "--llmbench-run-id") -> str:
    """A run id is one plain folder name: never a path, ``.``, ``..`` or ``latest``."""
    if run_id in RESERVED_IDS or not _RUN_ID.fullmatch(run_id) or set(run_id) == {"."}:
        raise ValueError(f"{source} {run_id!r}: a run id is one folder name of letters, digits "
                         "and . _ - @ + = (not a path, '.', '..' or 'latest')")
    return run_id


def check_output_folder(base: Path, source: str = "--llmbench-output",
                        shown: str | None = None) -> None:
    """Fail before any call when run directories cannot be made under ``base``: a part of the
    path is a regular file, or the nearest existing folder is not writable. Creates nothing."""
    source = f"{source} {shown or base}"
    probe = base
    while not probe.exists():
        if probe.is_symlink():  # a dangling link: mkdir would fail on it
            raise ValueError(f"{source}: {probe} is a broken symbolic link")
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"{source}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        why = "read-only file system" if _read_only_fs(probe) else "not writable"
        raise ValueError(f"{source}: {probe} is {why}")


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


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
        self._records = (self.path / RECORDS_FILE).open("ab", buffering=0)
        self._point_latest()

    def append(self, record: dict[str, Any]) -> None:
        """Append one whole line; on a failed write the partial line is cut off again, so
        records.jsonl always ends on a complete record, and RunWriteError is raised."""
        assert self._records is not None
        handle = self._records
        end = handle.tell()
        try:
            _write(handle, dump_line(record))
        except OSError as exc:
            _cut_back(handle, end)
            raise RunWriteError(exc.errno or errno.EIO, f"{self.path / RECORDS_FILE}: "
                                f"{exc.strerror or exc}") from exc

    def close(self) -> None:
        if self._records is not None:
            self._records.close()

    def write_info(self) -> None:
        from pytest_llmbench.redaction import scrub_value  # noqa: PLC0415

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


def _write(handle: IO[bytes], data: bytes) -> None:
    """The one place a record's bytes are written (unbuffered: what returns is on disk)."""
    view = memoryview(data)
    while view:
        written = handle.write(view)
        if not written:
            raise OSError(errno.EIO, "write returned 0")
        view = view[written:]


def _cut_back(handle: IO[bytes], end: int) -> None:
    """Drop a partly written line: truncate the file back to ``end``."""
    try:
        os.ftruncate(handle.fileno(), end)
    except (OSError, ValueError):
        pass


def write_json(path: Path, data: Any) -> None:
    """Write atomically (temporary file, then rename); on a full disk rewrite in place, as
    overwriting the blocks the file already holds needs little or no new space."""
    text = (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        tmp.write_bytes(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not path.is_file():
            raise
        with path.open("r+b") as handle:
            handle.write(text)
            handle.truncate()


def read_records(path: Path, warn: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Every record in a run folder. A line that is not a record (invalid UTF-8 or JSON,
    not an object, missing or mistyped fields) is skipped with a warning naming the file and
    line; a torn last line from a crash is skipped quietly."""
    return list(iter_records(path, warn))


def iter_records(path: Path, warn: Callable[[str], None] | None = None,
                 rejected: list[bytes] | None = None,
                 required: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """The records of a run folder, lazily; lines skipped go to ``rejected`` when given."""
    warn = warn or _warn
    file = path / RECORDS_FILE
    with file.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                problem: str | None = f"invalid UTF-8 at byte {exc.start}"
            except json.JSONDecodeError as exc:
                if not raw.endswith(b"\n"):  # a torn last line: the crash it shows is known
                    continue
                problem = f"invalid JSON ({exc.msg})"
            else:
                problem = record_problem(value, required)
            if problem is None:
                yield value
            else:
                warn(f"{file}:{number}: {problem}; line skipped")
                if rejected is not None:
                    rejected.append(raw if raw.endswith(b"\n") else raw + b"\n")


def _warn(message: str) -> None:
    print(f"llmbench: warning: {message}", file=sys.stderr)


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
