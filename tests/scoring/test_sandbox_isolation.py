"""Hostile programs against both sandboxes: concurrent sandboxes cannot see, signal or
write each other's files or processes, and nothing of a sandbox survives its run.

The subprocess sandbox is tested with its audit-hook guard off: these are the
kernel's guarantees (own uid, pid/mount/network namespaces), not the guard's."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.scoring.sandbox import Limits, Sandbox, SandboxResult, get_sandbox
from pytest_llmbench.scoring.sandbox.local import SubprocessSandbox, _setup
from tests.scoring.conftest import docker_or_skip

LIMITS = Limits(timeout_s=8, memory_mb=256, processes=32)

# Starts a detached daemon (double fork + setsid, then exec with TAG in its argv) that
# for 6 s hunts other sandboxes: their folders (to replace main.py and plant files), their
# harness processes (SIGKILL), and leaves a file in the host's /tmp. The program itself
# reports what it could see and signal, then ends normally.
HOSTILE = '''
import os, signal, sys, time
TAG = {tag!r}
DAEMON = r"""
import os, signal, sys, time
os.kill(-1, signal.SIGKILL)  # every process it may signal (in its namespace, as its uid)
end = time.time() + 6
while time.time() < end:
    for top in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            with open(os.path.join(top, "llmbench-hostile-" + sys.argv[1]), "w") as f:
                f.write("left behind")
        except OSError:
            pass
        for root, dirs, files in os.walk(top):
            if root.count(os.sep) > 4:
                dirs[:] = []
            for name in files:
                if name in ("main.py", "victim.txt"):
                    try:
                        with open(os.path.join(root, name), "w") as f:
                            f.write("import sys; sys.exit(0)")
                    except OSError:
                        pass
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if b"LLMBENCH-" b"HARNESS" in f.read():
                        os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
    time.sleep(0.2)
"""
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", DAEMON, TAG])
    os._exit(0)
time.sleep(0.5)  # its own forks have exec'd or exited: any other harness is a neighbour
harnesses, found, killed = [], [], 0
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if b"LLMBENCH-" b"HARNESS" in f.read():
                    harnesses.append(int(pid))
        except OSError:
            pass
for pid in harnesses:
    if pid != os.getpid() and {signal_others}:
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except OSError:
            pass
for top in ("/tmp", "/var/tmp", "/dev/shm"):
    try:
        entries = os.listdir(top)
    except OSError:
        continue
    for name in entries:
        if name.startswith("llmbench-sandbox-"):
            try:
                found.extend(os.listdir(os.path.join(top, name)))
            except OSError:
                pass
print("harnesses seen:", len(harnesses), "killed:", killed, "folders found:", len(found))
time.sleep(2.5)
'''

VICTIM = '''
import time
with open("victim.txt", "w") as f:
    f.write("mine")
source = open(__file__).read()
time.sleep(4)
assert open("victim.txt").read() == "mine", "victim.txt was changed"
assert open(__file__).read() == source, "main.py was changed"
'''


@pytest.fixture(params=["subprocess", "docker"])
def raw_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """The subprocess sandbox without its audit-hook guard, or Docker."""
    if request.param == "docker":
        docker_or_skip(request.config)
        return get_sandbox("docker")
    return SubprocessSandbox(guard=False)


def _alive(tag: str) -> list[int]:
    alive = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if tag.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    alive.append(int(pid))
            except OSError:
                pass
    return alive


def _in_thread(sandbox: Sandbox, program: str, **kw: str) -> tuple[threading.Thread, list]:
    out: list[SandboxResult] = []
    thread = threading.Thread(target=lambda: out.append(sandbox.run(program, LIMITS, **kw)))
    thread.start()
    return thread, out


def _pid_namespace(sandbox: Sandbox) -> bool:
    return sandbox.name == "docker" or "--pid" in _setup(None).prefix


def test_a_hostile_daemon_cannot_reach_concurrent_or_later_sandboxes(raw_sandbox: Sandbox) -> None:
    if not (_pid_namespace(raw_sandbox) or _setup(None).root):
        pytest.skip("neither a pid namespace nor a uid of its own here: the daemon would "
                    "signal this test's processes")
    tag = f"llmbench-hostile-{secrets.token_hex(8)}"
    victims = [_in_thread(raw_sandbox, VICTIM) for _ in range(2)]
    time.sleep(0.5)
    hostile = raw_sandbox.run(HOSTILE.format(tag=tag, signal_others=True), LIMITS)
    if _pid_namespace(raw_sandbox):
        assert hostile.passed, hostile.stderr[-2000:]
        assert "harnesses seen: 1 killed: 0 folders found: 0" in hostile.stdout, hostile.stdout
    else:  # own uid only: its daemon's kill(-1) may reach its own harness, nothing else
        assert hostile.status in ("passed", "killed"), hostile.reason
        assert "killed: 0 folders found: 0" in hostile.stdout or hostile.status == "killed"
    assert _alive(tag) == [], "a process of the hostile sandbox survived its run"
    assert not list(Path("/tmp").glob(f"llmbench-hostile-{tag}")), "a file was left in /tmp"
    for thread, out in victims:
        thread.join(30)
        assert out and out[0].passed, (out[0].status, out[0].reason, out[0].stderr[-1000:])
    later = raw_sandbox.run("x = 1\n", LIMITS, checks="assert x == 2, 'wrong answer'\n")
    assert later.status == "failed" and "AssertionError" in later.reason
    assert "wrong answer" in later.stderr


def test_no_process_survives_a_program_that_ends_normally(raw_sandbox: Sandbox) -> None:
    tag = f"llmbench-left-{secrets.token_hex(8)}"
    program = textwrap.dedent(f"""
        import os, sys, time
        if os.fork() == 0:
            os.setsid()
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(30)",
                                      {tag!r}])
        time.sleep(0.5)
    """)
    result = raw_sandbox.run(program, LIMITS)
    assert result.passed, (result.reason, result.stderr[-1000:])
    assert _alive(tag) == []


def test_the_guarded_sandbox_refuses_the_hostile_program() -> None:
    """With the guard on (the default), the daemon cannot even start."""
    result = get_sandbox("subprocess").run(HOSTILE.format(tag="x", signal_others=False), LIMITS)
    assert result.status == "failed"
    assert "PermissionError: sandbox: starting processes is not allowed" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="distinct uids need root")
def test_concurrent_sandboxes_get_distinct_uids_across_processes() -> None:
    """One uid per sandbox, held across processes (as across xdist workers)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "from pytest_llmbench.scoring.sandbox.local import _identity\n"
         "import sys, time\nwith _identity(True) as uid:\n    print(uid, flush=True)\n"
         "    time.sleep(5)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        other = int(holder.stdout.readline())
        mine = [get_sandbox("subprocess").run("import os\nprint(os.getuid())", LIMITS)
                for _ in range(3)]
        assert all(r.passed for r in mine)
        notes = {r.notes["user"] for r in mine}
        assert all(str(other) not in note for note in notes), (other, notes)
    finally:
        holder.kill()
        holder.wait()


def test_private_folders_are_unlistable_or_alone_and_are_removed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Its folder is 0700 with a random name; others' folders cannot be listed (a parent
    without read permission) or are not there at all (a private /tmp); all removed."""
    made: list[str] = []  # this test's folders only: other xdist workers' come and go in /tmp
    mkdtemp = tempfile.mkdtemp

    def recorded(*args: Any, **kwargs: Any) -> str:
        made.append(mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recorded)
    program = textwrap.dedent("""
        import os, stat
        here = os.getcwd()
        print("mode", oct(stat.S_IMODE(os.stat(here).st_mode)))
        try:
            print("neighbours", os.listdir(os.path.dirname(here)))
        except PermissionError:
            print("neighbours unlistable")
        print("tmp", sorted(n for n in os.listdir("/tmp") if n.startswith("llmbench-sandbox-")))
    """)
    results = [SubprocessSandbox(guard=False).run(program, LIMITS) for _ in range(2)]
    for result in results:
        assert result.passed, result.stderr
        assert "mode 0o700" in result.stdout
        if _setup(None).inside:
            assert "neighbours ['w']" in result.stdout and "tmp []" in result.stdout
        else:
            assert "neighbours unlistable" in result.stdout
    sandboxes = [folder for folder in made if "llmbench-sandbox-" in folder]
    assert len(sandboxes) == 2
    assert not [folder for folder in made if Path(folder).exists()]
