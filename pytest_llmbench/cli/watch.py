"""``llmbench watch``: a scheduled runner that benchmarks every ``--interval``.

Each cycle is a fresh ``python -m pytest`` process with its own run directory
(its output goes to ``pytest.log`` there), so a crash, a leak or a hung SDK in
one cycle cannot poison the next. Each cycle logs the lines the seed runner logged,
one per model, before and after, and the run id:

    12:54:01 [INFO] Running benchmark: openai:gpt-4o-mini
    12:54:25 [INFO] ✅ Success openai:gpt-4o-mini (tps=42.67, out=64, accuracy=0.90)
    12:54:25 [ERROR] Benchmark failed for openai:gpt-4o - 3/10 errors; RateLimitError: ...
    12:54:25 [INFO] Run id: 20261202-125401.000-ab12 (.llmbench/runs/20261202-...)

A model that answered nothing right is a failure too. ``--interval 30`` is 30 minutes,
as in the seed runner (units still work: 30s, 5m, 1h).

A failing cycle is logged and the next one runs. SIGTERM or SIGINT stops after
the current cycle (a second one ends the cycle's pytest too); SIGUSR1 drains
(no new cycle starts, the current one finishes); while the pause file exists no
cycle starts. Posting to an ingest endpoint is the pytest run's own job: pass
its options (or env vars) through.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pytest_llmbench.results.run_dir import new_run_id, read_records
from pytest_llmbench.results.throughput import output_tps
from pytest_llmbench.server.signal_event import SignalEvent

log = logging.getLogger("llmbench.watch")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
PAUSE_POLL_S = 1.0


def parse_interval(text: str) -> float:
    """``30m``, ``45s``, ``1.5h``; a bare number is minutes (``30``), as in the seed runner."""
    match = _INTERVAL.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"invalid interval {text!r} (e.g. 30 minutes, 30s, "
                                         "5m, 1h)")
    return float(match.group(1)) * _UNITS[match.group(2) or "m"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--interval", type=parse_interval, required=True, metavar="DURATION",
                        help="time between cycle starts: minutes (30), or 30s, 5m, 1h")
    parser.add_argument("--count", type=int, default=None, metavar="N",
                        help="stop after N cycles (default: run until stopped)")
    parser.add_argument("--pause-file", default=os.environ.get("LLMBENCH_PAUSE_FILE")
                        or ".llmbench/watch.pause", metavar="PATH",
                        help="while this file exists no new cycle starts "
                             "(default: $LLMBENCH_PAUSE_FILE or .llmbench/watch.pause)")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER,
                        help="-- then the pytest arguments of each cycle")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="%(asctime)s [%(levelname)s] %(message)s", datefmt="%H:%M:%S")
    pytest_args = list(args.pytest_args)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    if args.count is not None and args.count < 1:
        log.error("--count must be >= 1")
        return 2
    watcher = Watcher(pytest_args, args.interval, args.count, Path(args.pause_file))
    watcher.install_signals()
    return watcher.loop()


class Watcher:
    def __init__(self, pytest_args: list[str], interval: float, count: int | None,
                 pause_file: Path) -> None:
        self.pytest_args = pytest_args
        self.interval = interval
        self.count = count
        self.pause_file = pause_file
        self.output = Path(_option_value(pytest_args, "--llmbench-output")
                           or os.environ.get("LLMBENCH_OUTPUT") or ".llmbench/runs")
        self.stopping = False
        self.wake = SignalEvent()
        self.child: subprocess.Popen[bytes] | None = None
        self.failed_cycles = 0

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        if hasattr(signal, "SIGUSR1"):
            signal.signal(signal.SIGUSR1, self._on_drain)

    def _on_stop(self, signum: int, frame: Any) -> None:
        if self.stopping and self.child is not None and self.child.poll() is None:
            log.warning("second %s: ending the running cycle", signal.Signals(signum).name)
            self.child.terminate()
        elif not self.stopping:
            log.info("%s: stopping after the current cycle", signal.Signals(signum).name)
        self.stopping = True
        self.wake.set()

    def _on_drain(self, signum: int, frame: Any) -> None:
        log.info("SIGUSR1: draining, no new cycles start")
        self.stopping = True
        self.wake.set()

    def loop(self) -> int:
        cycle = 0
        while not self.stopping and (self.count is None or cycle < self.count):
            if self._paused():
                continue
            cycle += 1
            started = time.monotonic()
            if not self.run_cycle(cycle):
                self.failed_cycles += 1
            if self.count is not None and cycle >= self.count:
                break
            self.wake.wait(max(0.0, self.interval - (time.monotonic() - started)))
        log.info("watch stopped after %d cycles, %d failed", cycle, self.failed_cycles)
        return 1 if self.failed_cycles else 0

    def _paused(self) -> bool:
        if not self.pause_file.exists():
            return False
        log.info("paused: %s exists; no new cycles until it is removed", self.pause_file)
        while self.pause_file.exists() and not self.stopping:
            self.wake.wait(PAUSE_POLL_S)
        if not self.stopping:
            log.info("resumed: %s removed", self.pause_file)
        return True

    def models(self) -> list[str]:
        """The models a cycle is asked for, when named on its command line or in
        ``$BENCHMARK_MODELS`` (a models config names them inside the run)."""
        named = _option_value(self.pytest_args, "--llmbench-models") or os.environ.get(
            "BENCHMARK_MODELS") or ""
        provider = _option_value(self.pytest_args, "--llmbench-provider") or os.environ.get(
            "BENCHMARK_PROVIDER")
        names = [m.strip() for m in named.split(",") if m.strip()]
        return [f"{provider}:{m}" if provider and not m.startswith(f"{provider}:") and
                ":" not in m.split(".")[0] else m for m in names]

    def run_cycle(self, cycle: int) -> bool:
        """One pytest process; True when it passed and every model answered."""
        run_id = new_run_id()
        run_path = self.output / run_id
        run_path.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pytest", *self.pytest_args, "--llmbench-run-id", run_id]
        if _option_value(self.pytest_args, "--llmbench-output") is None:
            command += ["--llmbench-output", str(self.output)]
        log.debug("cycle %d: %s", cycle, " ".join(command))
        for model in self.models():
            log.info("Running benchmark: %s", model)
        with (run_path / "pytest.log").open("wb") as output:
            self.child = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)
            code = self.child.wait()
            self.child = None
        models = model_lines(run_path)
        for ok, line in models:
            (log.info if ok else log.error)(line)
        log.info("Run id: %s (%s)", run_id, run_path)
        if not models or code not in (0, 1):
            log.error("cycle %d failed: pytest exited %s%s (%s; see %s)", cycle, _exit_name(code),
                      "" if models else " with no records", _last_line(run_path / "pytest.log"),
                      run_path / "pytest.log")
        return code == 0 and bool(models) and all(ok for ok, _ in models)


def model_lines(run_path: Path) -> list[tuple[bool, str]]:
    """One (ok, line) per model from a run's records: success with its output tokens/s,
    mean output tokens and accuracy, or failed with one line saying why (errors, or no
    answer right)."""
    try:
        records = read_records(run_path, warn=log.warning)
    except OSError:
        return []
    by_model: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_model.setdefault(record["model"], []).append(record)
    out = []
    for model, records in sorted(by_model.items()):
        errors = [r for r in records if r["outcome"] == "error"]
        scored = [r for r in records if r["outcome"] in ("passed", "failed")]
        right = sum(1 for r in scored if r["outcome"] == "passed")
        accuracy = right / len(scored) if scored else None
        if errors:
            first = (errors[0].get("error") or "error").splitlines()[0]
            first = first.removeprefix(f"{model} - ")
            out.append((False, f"Benchmark failed for {model} - {len(errors)}/{len(records)} "
                               f"errors; {first}"))
            continue
        if scored and not right:
            out.append((False, f"Benchmark failed for {model} - no answer right "
                               f"(0/{len(scored)}, accuracy=0.00)"))
            continue
        called = [r for r in records if r.get("calls")]
        tokens = [r["output_tokens"] for r in called if r.get("output_tokens") is not None]
        tps = output_tps(called)  # the one definition: output tokens / generation time
        shown_tps = f"{tps:.2f}" if tps is not None else "n/a"
        mean_out = f"{round(sum(tokens) / len(tokens))}" if tokens else "n/a"
        shown = "n/a" if accuracy is None else f"{accuracy:.2f}"
        out.append((True, f"✅ Success {model} (tps={shown_tps}, out={mean_out}, "
                          f"accuracy={shown})"))
    return out


def _option_value(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _exit_name(code: int) -> str:
    import pytest  # noqa: PLC0415 - only to name a failed cycle's exit status

    try:
        return f"{code} ({pytest.ExitCode(code).name})"
    except ValueError:
        return str(code)


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no output"
    return lines[-1].strip("= ") if lines else "no output"
