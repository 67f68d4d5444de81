"""Headless Chromium for report tests, and a decoder of report.html's item chunks.

Chromium is Debian's package (``apt-get install chromium``; .ci/run installs
it); tests that need it are skipped with that hint where it is missing.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_llmbench.report.items import ITEM_FIELDS

_CHUNK = re.compile(r'<script type="application/x-llmbench-items" class="llmbench-chunk">([^<]*)</script>')
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run",
          "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0")


@dataclass
class Page:
    dom: str
    log: str

    def attr(self, name: str) -> str | None:
        """An attribute of <html> (the page reports its state there: data-errors...)."""
        match = re.search(rf'<html[^>]*\s{name}="([^"]*)"', self.dom)
        return match.group(1) if match else None

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.dom))


class Chromium:
    def __init__(self, binary: str, profile: Path) -> None:
        self.binary = binary
        self.profile = profile

    def _run(self, url: str, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.binary, *_FLAGS, f"--user-data-dir={self.profile}", *extra, url],
                              capture_output=True, text=True, timeout=timeout, check=False)

    def load(self, path: Path, fragment: str = "", budget_ms: int = 10_000) -> Page:
        """The DOM after the page's scripts ran (virtual time lets async work finish)."""
        proc = self._run(path.resolve().as_uri() + fragment, f"--virtual-time-budget={budget_ms}",
                         "--dump-dom")
        assert proc.returncode == 0, proc.stderr[-2000:]
        return Page(proc.stdout, proc.stderr)

    def screenshot(self, path: Path, out: Path, fragment: str = "",
                   size: str = "1400,2200") -> Path:
        proc = self._run(path.resolve().as_uri() + fragment, "--virtual-time-budget=10000",
                         f"--window-size={size}", f"--screenshot={out}", "--hide-scrollbars")
        assert proc.returncode == 0, proc.stderr[-2000:]
        return out


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture
def chromium(tmp_path: Path) -> Chromium:
    binary = find_chromium()
    if binary is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium; "
                    ".ci/run installs it)")
    return Chromium(binary, tmp_path / "chromium-profile")


def console_errors(page: Page) -> list[str]:
    """Script errors: those the page caught itself and those Chromium logged."""
    lines = [line for line in page.log.splitlines()
             if "Uncaught" in line or ("CONSOLE" in line and ":ERROR:" in line)]
    if page.attr("data-errors"):
        lines.append(f"page reported {page.attr('data-errors')} script error(s)")
    return lines


def decode_items(html: str) -> list[dict[str, Any]]:
    """Every item packed in a report, as dicts keyed by ITEM_FIELDS (suite/model as indices)."""
    rows: list[dict[str, Any]] = []
    for chunk in _CHUNK.findall(html):
        for row in json.loads(zlib.decompress(base64.b64decode(chunk))):
            rows.append(dict(zip(ITEM_FIELDS, row, strict=True)))
    return rows
