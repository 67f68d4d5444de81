"""The test harness every sandbox runs (passed as ``python -I -c``; stdlib only).

stdin carries a per-run random nonce on its first line, then a JSON payload: the
program, the checks (the test code run after it, in the same namespace) and an
optional timing snippet. The harness keeps a private copy of stderr, reads stdin to
its end and closes it, lowers its own resource limits (hard limits: the program
cannot raise them again), optionally installs the audit-hook guard, then runs the
program, the checks (counting every ``assert`` executed) and the timing. Its last act
is one report line, ``LLMBENCH-HARNESS <nonce> <status> ...``, on the private
descriptor, then ``os._exit`` (no atexit handler of the program runs after it).

The host trusts only that line: an early exit of any kind, a killed or replaced
harness, closed descriptors or printed fake lines leave no line with the right nonce.
The checks never touch the disk (the program cannot read them from a file), and the
nonce never appears in argv, the environment or a file. Code that deliberately
inspects this interpreter's frames or memory could still find the nonce: a program
and its checks share one interpreter, as in every HumanEval-style harness.

The guard is what the subprocess backend has where the kernel offers no
isolation: it refuses opening files outside the working directory and the
Python installation, network use, new processes and ctypes. Audit hooks are
not a security boundary (CPython documents this); they stop generated code's
mistakes, while rlimits, the per-sandbox user and the namespaces are
enforced by the kernel.
"""

from __future__ import annotations

import ast
import builtins
import json
import linecache
import os
import resource
import signal
import sys
import time
import traceback
import types


def _harness() -> None:
    settings = json.loads(sys.argv[1])
    write, exit_now, clock = os.write, os._exit, time.perf_counter  # bound before any program
    channel = os.dup(2)  # non-inheritable; the program may close 1 and 2, not this copy
    data = bytearray()
    while chunk := os.read(0, 1 << 20):
        data += chunk
    newline = data.index(b"\n")
    nonce = bytes(data[:newline])
    payload = json.loads(bytes(data[newline + 1:]))
    data[:] = b"\0" * len(data)
    del data
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    program, checks = str(payload["program"]), str(payload.get("checks") or "")
    bench, repeat = payload.get("bench"), int(payload.get("repeat") or 1)
    del payload
    workdir = os.path.realpath(os.getcwd())
    with open("main.py", "w", encoding="utf-8") as handle:
        handle.write(program)

    def report(status: str, **fields: object) -> None:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()  # type: ignore[union-attr]
            except BaseException:  # noqa: BLE001 - the program may have replaced them
                pass
        extra = "".join(f" {key}={value!r}" for key, value in fields.items())
        line = b"\nLLMBENCH-HARNESS " + nonce + f" {status}{extra}\n".encode("utf-8", "replace")
        try:
            while line:
                line = line[write(channel, line):]
        except OSError:
            exit_now(3)

    if os.getpid() == 1:  # pid 1 of its namespace ignores SIGXCPU's default action
        signal.signal(signal.SIGXCPU, lambda *_: exit_now(128 + signal.SIGXCPU))
    _limit(settings)
    if settings.get("guard"):
        _guard(workdir)
    main = types.ModuleType("__main__")
    main_file = os.path.join(workdir, "main.py")
    main.__dict__.update(__file__=main_file, __builtins__=builtins)
    sys.modules["__main__"] = main
    sys.argv = ["main.py"]
    counter = f"_llmbench_check_{os.urandom(8).hex()}"
    ran = [0]
    phase = "program"
    best: float | None = None
    statements = 0
    try:
        phase = "checks"
        tree = _counted(checks, counter) if checks else None
        statements = sum(isinstance(n, ast.Assert) for n in ast.walk(tree)) if tree else 0
        phase = "program"
        exec(compile(program, main_file, "exec"), main.__dict__)
        if tree is not None:
            phase = "checks"
            linecache.cache["<checks>"] = (len(checks), None, checks.splitlines(True), "<checks>")

            def count() -> None:
                ran[0] += 1

            main.__dict__[counter] = count
            exec(compile(tree, "<checks>", "exec"), main.__dict__)
        if bench:
            phase = "timing"
            snippet = compile(str(bench), "<runtime>", "exec")
            for _ in range(max(1, repeat)):
                start = clock()
                exec(snippet, main.__dict__)
                took = clock() - start
                best = took if best is None or took < best else best
    except SystemExit as exc:
        code_repr = repr(exc.code) if isinstance(exc.code, int | str | None) else "?"
        report("exited", phase=phase, code=code_repr[:60])
        exit_now(1)
    except BaseException as exc:  # noqa: BLE001 - every way the program can stop
        try:
            traceback.print_exc()
        except BaseException:  # noqa: BLE001
            pass
        report("error", phase=phase, error=type(exc).__name__[:80])
        exit_now(1)
    report("completed", checks=ran[0], asserts=statements,
           runtime_s=best if best is not None else "none")
    exit_now(0)


class _CountAsserts(ast.NodeTransformer):
    def __init__(self, counter: str) -> None:
        self.counter = counter

    def visit_Assert(self, node: ast.Assert) -> list[ast.stmt]:
        call = ast.Expr(ast.Call(ast.Name(self.counter, ast.Load()), [], []))
        return [ast.copy_location(call, node), node]


def _counted(checks: str, counter: str) -> ast.Module:
    """The checks with a call to ``counter`` before every assert statement."""
    tree: ast.Module = _CountAsserts(counter).visit(ast.parse(checks, "<checks>"))
    return ast.fix_missing_locations(tree)


MB = 1024 * 1024


def _limit(settings: dict[str, int]) -> None:
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


def _guard(workdir: str) -> None:
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


_harness()
