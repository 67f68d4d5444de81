"""The host side of the harness protocol (guest.py): what the sandbox is sent, and the
one report line that alone can make a run pass.

A run passes only on positive evidence: a single ``LLMBENCH-HARNESS <nonce> completed``
line carrying this run's random nonce, at least one check executed when the test code
holds ``assert`` statements, and exit status 0. Everything else fails, and ``reason``
says why in one line (an early ``SystemExit``, no report at all, a forged or repeated
report...).
"""

from __future__ import annotations

import ast
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from pytest_llmbench.scoring.sandbox.base import Ended, SandboxResult, classify

TAG = b"LLMBENCH-HARNESS "
REPORT_MAX = 2048
_FIELD = re.compile(r"(\w+)=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)")


@dataclass(frozen=True)
class Run:
    """One run's secret marker and the bytes fed to the guest on stdin."""

    nonce: str
    stdin: bytes

    @property
    def marker(self) -> bytes:
        return TAG + self.nonce.encode("ascii") + b" "


def prepare(program: str, checks: str = "", bench: str | None = None, repeat: int = 1) -> Run:
    """A fresh nonce and the stdin payload: the nonce line first, then the JSON."""
    nonce = secrets.token_hex(16)
    payload = json.dumps({"program": program, "checks": checks, "bench": bench,
                          "repeat": repeat}).encode("utf-8")
    return Run(nonce, nonce.encode("ascii") + b"\n" + payload)


@dataclass(frozen=True)
class Report:
    """What the harness said: ``completed`` / ``exited`` / ``error`` and its fields."""

    status: str
    fields: dict[str, str]

    def number(self, key: str) -> float | None:
        try:
            return float(self.fields[key])
        except (KeyError, ValueError):
            return None


def parse(lines: list[bytes], run: Run) -> tuple[Report | None, str | None]:
    """The one report of this run, or (None, why there is none that can be trusted)."""
    mine = [line for line in lines if line.startswith(run.marker)]
    if not mine:
        return None, None
    if len(mine) > 1:
        return None, f"{len(mine)} harness reports (a forged one): not trusted"
    text = mine[0][len(run.marker):].decode("utf-8", "replace").strip()
    status, _, rest = text.partition(" ")
    fields = {key: _literal(value) for key, value in _FIELD.findall(rest)}
    return Report(status, fields), None


def _literal(value: str) -> str:
    try:
        return str(ast.literal_eval(value))
    except (ValueError, SyntaxError):
        return value


def strip_reports(text: str, run: Run) -> str:
    """The output without this run's report line (the nonce is no use to a reader)."""
    return re.sub(rf"\n?{re.escape(run.marker.decode())}[^\n]*(?:\n|$)", "", text)


def verdict(report: Report | None, problem: str | None, exit_code: int | None,
            expect_checks: bool) -> tuple[bool, str]:
    """(passed, reason): passed only on a trusted ``completed`` report and exit status 0."""
    if problem:
        return False, problem
    if report is None:
        return False, ("no report from the test harness: the program ended "
                       f"({_exit_words(exit_code)}) before the checks finished "
                       "(an early os._exit, a signal, a closed, killed or replaced harness)")
    if report.status == "exited":
        code = report.fields.get("code", "?")
        phase = report.fields.get("phase", "program")
        where = "during the checks" if phase == "checks" else f"in the {phase}"
        return False, (f"the program raised SystemExit({code}) before the checks finished "
                       f"({where})")
    if report.status == "error":
        return False, (f"{report.fields.get('error', 'an exception')} in the "
                       f"{report.fields.get('phase', 'program')}")
    if report.status != "completed":
        return False, f"unknown harness report {report.status!r}: not trusted"
    checks = int(report.number("checks") or 0)
    asserts = int(report.number("asserts") or 0)
    if expect_checks and asserts and checks == 0:
        return False, "the test code ran no check (0 assert statements executed)"
    if exit_code != 0:
        return False, f"the harness reported completion but the process ended with " \
                      f"{_exit_words(exit_code)}"
    if not expect_checks:
        return True, "the program ran to its end (no test code)"
    if not asserts:
        return True, "the test code ran to its end (it holds no assert statement to count)"
    return True, f"the harness ran {checks} checks; all passed"


def _exit_words(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        return f"signal {-code}"
    if code > 128:
        return f"exit status {code} (signal {code - 128})"
    return f"exit status {code}"


def report_details(report: Report | None) -> dict[str, Any]:
    if report is None:
        return {}
    checks = report.number("checks")
    return {"checks": int(checks) if checks is not None else None}


def result(ended: Ended, run: Run, *, backend: str, expect_checks: bool,
           notes: dict[str, Any], oom_killed: bool = False, exit_code: int | None = None,
           timed_out: bool | None = None, seconds: float | None = None) -> SandboxResult:
    """The SandboxResult of one ended run: status and reason from the trusted report."""
    code = ended.exit_code if exit_code is None else exit_code
    timed_out = ended.timed_out if timed_out is None else timed_out
    report, problem = parse(ended.reports, run)
    passed, reason = verdict(report, problem, code, expect_checks)
    stderr = strip_reports(ended.stderr, run)
    status = classify(code, stderr, timed_out, oom_killed, completed=passed)
    if status == "timeout":
        reason = "the time limit ran out before the checks finished"
    elif status == "memory":
        reason = "the memory limit ran out before the checks finished"
    elif status == "killed" and report is None:
        reason = f"killed by {_exit_words(code)} before the harness reported"
    runtime = report.number("runtime_s") if report is not None and passed else None
    return SandboxResult(status=status, exit_code=code, stdout=strip_reports(ended.stdout, run),
                         stderr=stderr, duration_s=ended.seconds if seconds is None else seconds,
                         backend=backend, notes=notes, reason=reason,
                         checks=report_details(report).get("checks"), runtime_s=runtime)
