"""The timer every timing sandbox runs (passed as ``python3 -I -c``; stdlib only).

stdin carries a JSON payload: this run's random nonce, the command, how many runs and
each run's time limit. The timer reads it and closes stdin, makes itself undumpable (a
process of the same user can then neither read its memory nor write to its
descriptors through ``/proc``), and runs the command ``repeat`` times, each in a new
session with stdin from /dev/null and its output in a private temporary file, timing
each run from outside the command's processes and killing what a run left behind. Its
last act is one line ``LLMBENCH-PERF <nonce> <json>`` on its own stdout, which no run
can reach: the command cannot print, fake or shorten its own time.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

PR_SET_DUMPABLE = 4


def _timer() -> None:
    write, exit_now, clock = os.write, os._exit, time.perf_counter
    payload = json.loads(sys.stdin.buffer.read())
    sys.stdin.close()
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    try:
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    nonce, command = str(payload["nonce"]), str(payload["command"])
    repeat, timeout_s = int(payload["repeat"]), float(payload["timeout_s"])
    output_chars = int(payload["output_chars"])
    env = {**os.environ, **{str(k): str(v) for k, v in (payload.get("env") or {}).items()}}
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryFile() as log:
            start = clock()
            process = subprocess.Popen(["bash", "-c", command], stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True, env=env)
            timed_out = False
            try:
                code: int | None = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out, code = True, None
            seconds = clock() - start
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                pass
            process.wait()
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - output_chars))
            output = log.read().decode("utf-8", "replace")
        runs.append({"seconds": seconds, "exit_code": code, "timed_out": timed_out,
                     "output": output})
        if timed_out or code != 0:
            break
    write(1, f"LLMBENCH-PERF {nonce} {json.dumps(runs)}\n".encode())
    exit_now(0)


if __name__ == "__main__":
    _timer()
