"""Per-item figures in pytest's JUnit XML (``--junitxml``), as ``<system-out>`` text.

On the controller, where pytest's JUnit writer lives. ``<system-out>`` rather than
``record_property``: GitLab ignores ``<properties>`` and pytest warns on
``record_property`` / ``record_xml_attribute`` under ``junit_family=xunit2`` (its
default). When pytest writes captured output itself (``junit_logging`` with stdout), the
figures join that ``<system-out>`` as a report section, so a test case never holds two.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest
from _pytest.junitxml import bin_xml_escape, xml_key

from pytest_llmbench.report.junit_text import figures_text

_SECTION = "Captured stdout llmbench"  # pytest's capstdout joins "Captured stdout*" sections


class JUnitFigures:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.pending: dict[tuple[str, Any], str] = {}

    @pytest.hookimpl(tryfirst=True)  # before pytest's writer closes the test case
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        key = (report.nodeid, getattr(report, "node", None))
        record = getattr(report, "llmbench", None)
        if isinstance(record, dict):
            self.pending[key] = figures_text(record)
        if report.when != "teardown" or key not in self.pending:
            return
        text = self.pending.pop(key)
        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        if xml.logging in ("system-out", "out-err", "all") and xml.log_passing_tests:
            report.sections.append((_SECTION, text))  # pytest writes it with its own output
            return
        element = ElementTree.Element("system-out")
        element.text = bin_xml_escape(text)
        xml.node_reporter(report).append(element)
