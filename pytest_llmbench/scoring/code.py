"""The code scorer: run the generated program against the case's tests in a sandbox.

``scorer: {name: code, tests: test, entry_point: entry_point, prompt_field: prompt}``.
The code is the response's fenced block (the one defining the entry point,
else the first Python block; an unclosed fence from a truncated answer
counts), or the whole response when it has no fence but reads as code. The
program is the code; a completion that does not define the entry point is
appended to the row's prompt (the function stub) instead. The checks are the
row's tests and, HumanEval style, ``check(<entry point>)``: the sandbox's
harness runs them after the program and alone decides the verdict (see
``sandbox/harness.py``: never the exit status). With ``runtime:`` (a row field
holding code to time) the harness also times it after the checks pass, and
``speedup`` = reference runtime / generated runtime, the reference measured
the same way from the case's expected solution (or taken from a row field).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.scoring.base import Score, register_scorer
from pytest_llmbench.scoring.context import ScoringContext
from pytest_llmbench.scoring.reasoning import split_reasoning
from pytest_llmbench.scoring.sandbox import BACKENDS, Limits, SandboxResult, get_sandbox
from pytest_llmbench.suites.model import Case

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_CODE_HINT = re.compile(r"^\s*(def |async def |class |import |from \S+ import |return\b|for |"
                        r"while |if |try:|with |raise\b|assert |yield\b|@\w)", re.MULTILINE)
_IMPORT = re.compile(r"^(?:import \S.*|from \S+ import .*)$", re.MULTILINE)
_PYTHON_TAGS = {"", "python", "py", "python3"}
CODE_LIMIT = 8_000


def extract_code(text: str, entry_point: str | None = None) -> str | None:
    """The program in a response, or None when there is none."""
    text = split_reasoning(text).answer
    blocks = [(tag.lower(), body) for tag, body in _FENCE.findall(text)]
    python = [body for tag, body in blocks if tag in _PYTHON_TAGS] or [b for _, b in blocks]
    if entry_point:
        defining = [b for b in python if re.search(rf"\bdef\s+{re.escape(entry_point)}\s*\(", b)]
        python = defining or python
    if python:
        code = python[0].strip("\n")
        return code if code.strip() else None
    if "```" not in text and _CODE_HINT.search(text):
        return text.strip("\n")
    return None


def build_program(code: str, case: Case, *, tests: str | None, entry_point: str | None,
                  prompt_field: str | None) -> str:
    """Code + tests (+ ``check(entry_point)``) as one text, completing the row's stub."""
    program, checks = build_parts(code, case, tests=tests, entry_point=entry_point,
                                  prompt_field=prompt_field)
    return "\n\n".join(p for p in (program.rstrip("\n"), checks.rstrip("\n")) if p) + "\n"


def build_parts(code: str, case: Case, *, tests: str | None, entry_point: str | None,
                prompt_field: str | None) -> tuple[str, str]:
    """(program, checks): the code, completing the row's stub if needed, and the test
    code the harness runs after it (the row's tests + ``check(entry_point)``)."""
    row = case.row
    stub = str(row.get(prompt_field, "")) if prompt_field else ""
    name = str(row[entry_point]) if entry_point and row.get(entry_point) else None
    if stub and name and not re.search(rf"\bdef\s+{re.escape(name)}\s*\(", code):
        source = stub + code  # a completion of the function body
    else:
        imports = "\n".join(_IMPORT.findall(stub))
        source = f"{imports}\n\n{code}" if imports else code
    parts = []
    if tests:
        parts.append(str(row.get(tests, "")))
    if name and tests:
        parts.append(f"check({name})")
    return source + "\n", "\n\n".join(parts) + "\n" if parts else ""


class CodeScorer:
    """Runs each response in the sandbox; thread-safe, so samples run side by side."""

    thread_safe = True

    def __init__(self, context: ScoringContext, tests: str = "test",
                 entry_point: str | None = "entry_point", prompt_field: str | None = "prompt",
                 timeout: float = 10.0, memory_mb: int = 512, processes: int = 32,
                 sandbox: str | None = None, image: str | None = None, python: str | None = None,
                 runtime: str | None = None, reference_runtime: str | None = None,
                 repeat: int = 3) -> None:
        setting = context.settings.get("sandbox") or sandbox or "auto"
        if setting not in BACKENDS:
            raise ConfigError(f"code scorer: sandbox must be one of {', '.join(BACKENDS)}, "
                              f"not {setting!r}")
        if setting == "auto" and context.settings.get("require_docker"):
            setting = "docker"
        self.sandbox = get_sandbox(setting, image=image, python=python)
        self.limits = Limits(timeout_s=float(timeout), memory_mb=int(memory_mb),
                             processes=int(processes))
        self.tests, self.entry_point, self.prompt_field = tests, entry_point, prompt_field
        self.runtime, self.reference_runtime, self.repeat = runtime, reference_runtime, repeat
        self._reference: dict[str, tuple[float | None, str | None]] = {}
        self._lock = threading.Lock()
        self._case_locks: dict[str, threading.Lock] = {}

    def _name(self, case: Case) -> str | None:
        if not self.entry_point:
            return None
        value = case.row.get(self.entry_point)
        return str(value) if value else None

    def run(self, code: str, case: Case) -> tuple[SandboxResult, float | None]:
        """Run code against the case's tests (and time it); (result, runtime seconds)."""
        program, checks = build_parts(code, case, tests=self.tests, entry_point=self.entry_point,
                                      prompt_field=self.prompt_field)
        bench = str(case.row[self.runtime]) if self.runtime and case.row.get(self.runtime) \
            else None
        result = self.sandbox.run(program, self.limits, checks=checks, bench=bench,
                                  repeat=self.repeat)
        return result, result.runtime_s if bench and result.passed else None

    def reference_seconds(self, case: Case) -> tuple[float | None, str | None]:
        """The reference runtime (row field, else the expected solution timed once)."""
        if self.reference_runtime and case.row.get(self.reference_runtime) is not None:
            return float(case.row[self.reference_runtime]), None
        key = f"{case.suite}/{case.id}"
        with self._lock:
            lock = self._case_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._reference:
                solution = extract_code(str(case.expected or ""), self._name(case))
                if solution is None:
                    self._reference[key] = (None, "no reference solution in the expected answer")
                else:
                    result, seconds = self.run(solution, case)
                    self._reference[key] = (seconds, None if result.passed else
                                            f"reference solution {result.status}")
            return self._reference[key]

    def __call__(self, response: str, case: Case) -> Score:
        code = extract_code(response, self._name(case))
        if code is None:
            timed = {"speedup": None} if self.runtime and case.row.get(self.runtime) else {}
            return Score(0.0, False, {"extracted": None, "extraction_failed": True,
                                      "status": "no code", **timed})
        result, runtime = self.run(code, case)
        details: dict[str, Any] = {"extracted": code[:CODE_LIMIT], "extraction_failed": False,
                                   **result.to_details()}
        if self.runtime and case.row.get(self.runtime):
            details["runtime_s"] = runtime
            reference, problem = self.reference_seconds(case)
            details["reference_runtime_s"] = reference
            if problem:
                details["reference_error"] = problem
            # None: a wrong answer (the summary's speedup@1 counts it 0) or a right one
            # whose time is unknown (left out)
            details["speedup"] = reference / runtime if runtime and reference else None
        return Score(1.0 if result.passed else 0.0, result.passed, details)


@register_scorer("code")
def code(context: ScoringContext, **options: Any) -> CodeScorer:
    return CodeScorer(context, **options)
