"""The agent sections of report.html and ``agents_summary.json``, apart from the agent
runner so that a run without agents does not import the agents package at start-up."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_llmbench.plugin.stash import bench_session


class AgentReport:
    """On the controller: the agent summary (``agents_summary.json``) and the report.html
    sections, from the records of the run (registered for every run; a run without agent
    records adds nothing)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl
    def pytest_llmbench_html_sections(self, rows: list[dict[str, Any]], info: dict[str, Any]
                                      ) -> list[tuple[str, str]] | None:
        from pytest_llmbench.report.agents_view import sections, time_html  # noqa: PLC0415
        from pytest_llmbench.results.agents import agent_summary, is_agent  # noqa: PLC0415
        from pytest_llmbench.results.agents import rankings as rank  # noqa: PLC0415

        bench = bench_session(self.config)
        run_path = bench.run_path
        path = run_path / "records.jsonl"
        if not path.is_file():
            return None
        records = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if is_agent(record):
                records.append(record)
        if not records:
            return None
        summary = agent_summary(records)
        (run_path / "agents_summary.json").write_text(
            json.dumps({"rows": summary, "rankings": rank(summary)}, indent=1))
        out = sections(run_path, summary, records)
        timing = time_html(rows)
        if timing is not None:
            out.insert(1, ("Agent time", timing))
        return out
