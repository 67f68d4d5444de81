"""The program every sandbox runs first (passed as ``python -I -c``; stdlib only).

It reads the program to test from stdin into ``main.py`` in its private
working directory, lowers its own resource limits (hard limits: the program
cannot raise them again), optionally installs the audit-hook guard, then runs
``main.py`` as ``__main__``. Its one argument is a JSON object of settings.

The guard is what the subprocess backend has where the kernel offers no
isolation: it refuses opening files outside the working directory and the
Python installation, network use, new processes and ctypes. Audit hooks are
not a security boundary (CPython documents this); they stop generated code's
mistakes, while rlimits, the unprivileged user and the network namespace are
enforced by the kernel.
"""

from __future__ import annotations

import json
import os
import resource
import runpy
import sys

settings = json.loads(sys.argv[1])
workdir = os.path.realpath(os.getcwd())
program = sys.stdin.buffer.read()
with open("main.py", "wb") as handle:
    handle.write(program)
devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(devnull, 0)

MB = 1024 * 1024
for name, value in (("RLIMIT_CPU", settings.get("cpu_s")),
                    ("RLIMIT_AS", settings.get("memory_mb", 0) * MB or None),
                    ("RLIMIT_NPROC", settings.get("processes")),
                    ("RLIMIT_FSIZE", settings.get("file_size_mb", 0) * MB or None),
                    ("RLIMIT_CORE", 0)):
    if value is not None:
        soft = hard = int(value)
        if name == "RLIMIT_CPU":
            hard = soft + 1  # SIGXCPU first, SIGKILL a second later
        try:
            resource.setrlimit(getattr(resource, name), (soft, hard))
        except (ValueError, OSError):
            pass

if settings.get("guard"):
    roots = {workdir} | {os.path.realpath(p) for p in (
        sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    devices = {"/dev/null", "/dev/urandom", "/dev/zero"}
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    blocked = {"socket.connect": "network access", "socket.bind": "network access",
               "socket.sendto": "network access", "socket.getaddrinfo": "network access",
               "subprocess.Popen": "starting processes", "os.system": "starting processes",
               "os.exec": "starting processes", "os.posix_spawn": "starting processes",
               "os.fork": "starting processes", "os.forkpty": "starting processes",
               "os.spawn": "starting processes", "ctypes.dlopen": "loading native code",
               "ctypes.dlsym": "loading native code", "os.kill": "signalling processes"}
    path_events = {"os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.chmod", "os.chown",
                   "os.symlink", "os.link", "os.truncate", "os.utime", "shutil.rmtree",
                   "os.listdir", "os.scandir", "os.chdir"}

    def inside(path: str | bytes, allowed: set[str]) -> bool:
        real = os.path.realpath(os.fsdecode(path))
        return real in devices or any(real == r or real.startswith(r + os.sep) for r in allowed)

    def guard(event: str, args: tuple[object, ...]) -> None:
        if event in blocked:
            raise PermissionError(f"sandbox: {blocked[event]} is not allowed ({event})")
        if event == "open":
            path, mode, flags = args
            if not isinstance(path, str | bytes):
                return
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & write_flags)
            if not inside(path, {workdir} if writing else roots):
                what = "writing" if writing else "reading"
                raise PermissionError(f"sandbox: {what} {os.fsdecode(path)} outside the "
                                      "sandbox directory is not allowed")
        elif event in path_events and args and isinstance(args[0], str | bytes):
            reading = event in ("os.listdir", "os.scandir", "os.chdir")
            if not inside(args[0], roots if reading else {workdir}):
                raise PermissionError(f"sandbox: {event} on {os.fsdecode(args[0])} outside the "
                                      "sandbox directory is not allowed")

    sys.addaudithook(guard)

sys.argv = ["main.py"]
runpy.run_path("main.py", run_name="__main__")
