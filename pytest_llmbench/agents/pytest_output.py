"""Per-test results read from pytest's output, as Terminal-Bench's and SWE-bench's log
parsers read them (``-rA`` summary lines, or ``-v`` lines)."""

from __future__ import annotations

import re

_PYTEST_LINE = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED)\s+(\S+)", re.MULTILINE)
_PYTEST_LINE_AFTER = re.compile(r"^(\S+::\S+)\s+(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED)",
                                re.MULTILINE)


def pytest_results(output: str) -> dict[str, str]:
    """Per-test statuses from pytest output (``-rA`` summary lines or ``-v`` lines), as
    Terminal-Bench's and SWE-bench's log parsers read them."""
    tests: dict[str, str] = {}
    for status, name in _PYTEST_LINE.findall(output):
        tests[name] = status
    for name, status in _PYTEST_LINE_AFTER.findall(output):
        tests.setdefault(name, status)
    return tests
