"""Hook specifications users implement in a conftest to customise pytest-llmbench."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec
def pytest_llmbench_update_record(record: dict[str, Any], item: pytest.Item) -> None:
    """Add or change fields of a record (a plain dict) before it leaves the worker."""


@pytest.hookspec
def pytest_llmbench_update_run_info(info: dict[str, Any]) -> None:
    """Add or change fields of run.json (machine, versions, custom metadata)."""


@pytest.hookspec
def pytest_llmbench_ingest_payload(payload: dict[str, Any], config: pytest.Config) -> None:
    """Change the ingest payload (run, summaries, compare, records) in place before it is
    split into batches, spooled and posted."""


@pytest.hookspec
def pytest_llmbench_html_sections(rows: list[dict[str, Any]],
                                  info: dict[str, Any]) -> list[tuple[str, str]] | None:
    """Extra sections for report.html: ``[(title, html), ...]``, shown after the charts.

    ``rows`` are the summary rows, ``info`` is run.json. The HTML is inserted as
    given (then scrubbed of anything that looks like a key); escape your own text.
    """
