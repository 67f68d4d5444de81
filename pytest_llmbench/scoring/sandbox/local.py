"""The subprocess sandbox: used where no Docker engine is.

Kernel-enforced, where the machine allows it (``notes`` in every result say what was
in force):

- identity: run as root, each sandbox gets its own uid (and gid) from a range locked
  across threads and processes (``UID_BASE``..), so concurrent sandboxes (threads,
  xdist workers, other runs) cannot read, write or signal each other's files or
  processes; otherwise every sandbox runs as the current user;
- namespaces (``unshare``): a user, pid, mount (private ``/proc``) and network
  namespace per run; the harness is pid 1, so the kernel kills every process the
  program left behind the moment it exits, and no process outside is visible; a
  private tmpfs ``/tmp`` (and ``/var/tmp``, ``/dev/shm``) holding only its folder,
  which the program (uid 65534 of a nested user namespace) cannot unmount;
- a private working directory with a random 128-bit name inside a per-run folder that
  others cannot list (0711), owned by the sandbox's uid, mode 0700, removed after the
  run; as root, files the sandbox's uid left in /tmp, /var/tmp and /dev/shm are removed
  and every process still running as that uid is killed before the uid is reused;
- resource limits (CPU time, address space, processes per uid, file size).

``python -I`` ignores the environment and user site, and the environment is scrubbed.
The guest's audit-hook guard (see guest.py) also refuses file access outside the
working directory, sockets and new processes; it stops mistakes, not a determined
attacker: without root the kernel does not keep a same-uid program out of the user's
other files (the home folder, the checkout). Use Docker (or run as root) for a hard
boundary.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_llmbench.scoring.sandbox import harness
from pytest_llmbench.scoring.sandbox.base import Limits, SandboxResult, run_bounded

NOBODY = 65534
UID_BASE = int(os.environ.get("LLMBENCH_SANDBOX_UID_BASE", "2000000000"))
UID_SLOTS = 4096
TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
_LOCKS = Path("/run/lock/llmbench-sandbox-uids")  # one place for every process, whatever TMPDIR
_GUEST = (Path(__file__).parent / "guest.py").read_text(encoding="utf-8")


class SubprocessSandbox:
    name = "subprocess"

    def __init__(self, python: str | None = None, guard: bool = True) -> None:
        self.python = python
        self.guard = guard  # off only to check what the kernel alone guarantees

    def run(self, program: str, limits: Limits, *, checks: str = "", bench: str | None = None,
            repeat: int = 1) -> SandboxResult:
        setup = _setup(self.python)
        run = harness.prepare(program, checks, bench, repeat)
        with _identity(setup.root) as uid:
            parent = Path(tempfile.mkdtemp(prefix="llmbench-sandbox-"))
            workdir = parent / secrets.token_hex(16)
            notes = dict(setup.notes)
            try:
                workdir.mkdir(mode=0o700)
                popen: dict[str, Any] = {"cwd": workdir,
                                         "env": _env(Path(setup.inside or workdir))}
                if uid is not None:
                    os.chown(workdir, uid, uid)
                    popen.update(user=uid, group=uid, extra_groups=[])
                    notes["user"] = f"uid {uid} (its own, from a locked range)"
                os.chmod(parent, 0o711)
                settings = {"guard": self.guard, "cpu_s": int(limits.timeout_s) + 1,
                            "memory_mb": limits.memory_mb, "processes": limits.processes,
                            "file_size_mb": limits.file_size_mb}
                cmd = [*setup.prefix, setup.python, "-I", "-B", "-c", _GUEST,
                       json.dumps(settings)]
                ended = run_bounded(cmd, run.stdin, limits.timeout_s, limits.output_chars,
                                    marker=run.marker, kill_group_after="--pid" not in cmd,
                                    **popen)
            finally:
                if uid is not None:
                    _kill_uid(uid)
                shutil.rmtree(parent, ignore_errors=True)
                if uid is not None:
                    _sweep_temp(uid)
        return harness.result(ended, run, backend=self.name, expect_checks=bool(checks),
                              notes=notes)


@dataclass(frozen=True)
class _Setup:
    """How this process runs sandboxed programs (probed once)."""

    python: str
    root: bool
    prefix: list[str]
    notes: dict[str, Any]
    inside: str | None = None  # the working folder's path inside a private /tmp


def _env(workdir: Path) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(workdir), "TMPDIR": str(workdir),
            "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}


# Run by sh as root of a fresh user namespace (in its own mount namespace): a private
# tmpfs on /tmp holding only the working folder (bind-mounted at /tmp/w), private
# /var/tmp and /dev/shm, then a nested user namespace as uid 65534, which owns no mount
# namespace and so can unmount none of this. "$@" is the harness command.
_PRIVATE_TMP = """set -e
W=$(pwd)
mkdir "$W/.t"
{mount} -n -t tmpfs -o mode=1777,size=16m tmpfs "$W/.t"
mkdir "$W/.t/w"
{mount} -n --bind "$W" "$W/.t/w"
{mount} -n --move "$W/.t" /tmp
cd /tmp/w
rmdir .t
for d in /var/tmp /dev/shm; do
  if [ -d "$d" ]; then {mount} -n -t tmpfs -o mode=1777,size=16m tmpfs "$d"; fi
done
exec {unshare} --user --map-user=65534 --map-group=65534 "$@"
"""
_INSIDE = "/tmp/w"
_NS = ["--pid", "--fork", "--kill-child", "--mount-proc", "--net"]
# The strongest namespace set this machine allows first, then weaker fallbacks:
# (unshare flags, words for the notes, whether /tmp is private).
_NAMESPACES = (
    (["--user", "--map-root-user", *_NS], "own user, pid, mount and network namespaces "
     "(unshare): pid 1 is the harness, so every process left behind dies with it; no other "
     "process is visible; a private /tmp, /var/tmp and /dev/shm (tmpfs) holding only its "
     "folder; no network", True),
    (["--user", "--map-user=65534", "--map-group=65534", *_NS],
     "own user, pid, mount and network namespaces (unshare): pid 1 is the harness, so "
     "every process left behind dies with it; no other process is visible; no network", False),
    (["--user", "--map-root-user", *_NS],
     "own user, pid, mount and network namespaces (unshare, root inside the user namespace)",
     False),
    (["-rn"], "own user and network namespaces only (unshare -rn): processes left behind "
              "are killed by process group and, as root, by uid", False),
)


@functools.cache
def _setup(python: str | None) -> _Setup:
    """Probe once per process: an interpreter the sandbox user can run, and the
    namespaces ``unshare`` can make."""
    root = os.geteuid() == 0
    candidates = [python] if python else [sys.executable, "/usr/local/bin/python3",
                                          "/usr/bin/python3"]
    user = NOBODY if root else None
    chosen = next((c for c in candidates if c and _works([c], user)), None)
    notes: dict[str, Any] = {
        "user": "its own uid per sandbox" if root else "the current user (not root: no "
                                                       "uid of its own)",
        "filesystem": "private 0700 folder with a random name; reads outside it and the "
                      "Python install refused by the guest's audit hook"}
    if chosen is None:  # no interpreter an unprivileged user can reach (e.g. under /root)
        root = False
        chosen = python or sys.executable
        notes["user"] = "root (no interpreter usable by an unprivileged uid)"
    prefix: list[str] = []
    inside = None
    unshare, mount, sh = shutil.which("unshare"), shutil.which("mount"), shutil.which("sh")
    notes["processes"] = "process group only (unshare unavailable)"
    notes["network"] = ("not isolated by the kernel (unshare unavailable); socket use "
                        "refused by the guest's audit hook")
    for flags, words, private_tmp in _NAMESPACES if unshare else ():
        assert unshare is not None
        wrapper = [sh, "-c", _PRIVATE_TMP.format(mount=mount, unshare=unshare), "sh"] \
            if private_tmp and mount and sh else []
        if private_tmp and not wrapper:
            continue
        if _works([unshare, *flags, *wrapper, chosen], user):
            prefix = [unshare, *flags, *wrapper]
            inside = _INSIDE if private_tmp else None
            notes["processes"] = words
            notes["network"] = "none (own network namespace)"
            if private_tmp:
                notes["filesystem"] = ("its own 0700 folder, the only thing in a private /tmp; "
                                       "reads outside it and the Python install refused by "
                                       "the guest's audit hook")
            break
    notes["python"] = chosen
    return _Setup(chosen, root, prefix, notes, inside)


def _works(cmd: list[str], user: int | None) -> bool:
    extra: dict[str, Any] = {"user": user, "group": user, "extra_groups": []} if user else {}
    with tempfile.TemporaryDirectory(prefix="llmbench-probe-") as folder:
        if user is not None:
            os.chown(folder, user, user)
        try:
            done = subprocess.run([*cmd, "-I", "-c", "pass"], capture_output=True, timeout=20,
                                  cwd=folder, **extra)
        except (OSError, subprocess.SubprocessError):
            return False
    return done.returncode == 0


@contextlib.contextmanager
def _identity(root: bool) -> Iterator[int | None]:
    """A uid no other sandbox uses right now (root only): an exclusive lock on its slot
    file, held for the run. Leftovers of an earlier holder are killed first."""
    if not root:
        yield None
        return
    folder = _LOCKS if _LOCKS.parent.is_dir() else Path("/tmp/llmbench-sandbox-uids")
    folder.mkdir(mode=0o700, exist_ok=True)
    slots = list(range(UID_SLOTS))
    random.shuffle(slots)
    for slot in slots:
        fd = os.open(folder / f"{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            uid = UID_BASE + slot
            _kill_uid(uid)  # what a crashed earlier holder may have left
            _sweep_temp(uid)
            yield uid
        finally:
            os.close(fd)
        return
    raise RuntimeError(f"no free sandbox uid in {UID_BASE}..{UID_BASE + UID_SLOTS - 1}")


def _kill_uid(uid: int) -> None:
    """SIGKILL every process running as ``uid``: kill(-1) sent as that uid reaches all
    of them, however they forked or detached."""
    kill = shutil.which("kill")
    cmd = [kill, "-s", "KILL", "--", "-1"] if kill else [
        _setup(None).python, "-I", "-S", "-c",
        f"import os\ntry:\n    os.kill(-1, {int(signal.SIGKILL)})\nexcept OSError:\n    pass\n"]
    subprocess.run(cmd, user=uid, group=uid, extra_groups=[], cwd="/", env={},
                   capture_output=True, check=False, timeout=30)


def _sweep_temp(uid: int) -> None:
    """Remove what ``uid`` left in the world-writable temp folders."""
    for folder in TEMP_DIRS:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
