"""Parsing serving suites: points, SLOs, prompts, and one-line errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmbench.errors import SuiteError
from pytest_llmbench.serving.scenario import load_serving_suite, parse_slo


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "load.yaml"
    path.write_text(text)
    return path


def test_points_expand_per_level_and_rate(tmp_path: Path) -> None:
    suite = load_serving_suite(write(tmp_path, """\
kind: serving
name: chat
requests: 10
warmup: 2
slo: ["ttft_p99 <= 0.5s", "request_throughput >= 2"]
scenarios:
  - concurrency: [1, 16]
  - rate: [2.5]
    arrival: constant
    duration: 3s
    slo: "tpot_p50 < 50ms"
"""))
    assert [p.id for p in suite.points] == ["c1", "c16", "r2.5"]
    c1, _, rate = suite.points
    assert (c1.concurrency, c1.requests, c1.warmup) == (1, 10, 2)
    assert [s.limit for s in c1.slos] == [500.0, 2.0]
    assert (rate.rate, rate.arrival, rate.duration_s) == (2.5, "constant", 3.0)
    assert [s.text for s in rate.slos] == ["tpot_p50 < 50ms"]


def test_dataset_prompts(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text('{"prompt": "hi"}\n{"prompt": "there"}\n')
    suite = load_serving_suite(write(tmp_path, "kind: serving\nprompts: {dataset: p.jsonl}\n"
                                     "scenarios: [{concurrency: 1, requests: 2}]\n"))
    assert suite.prompts.rows == ("hi", "there")


@pytest.mark.parametrize(("body", "line", "message"), [
    ("scenarios:\n  - concurrency: [1, 0]\n    requests: 3\n", 3, "positive integers"),
    ("scenarios:\n  - concurrency: 2\n", 3, "requests: N or duration"),
    ("scenarios:\n  - concurrency: 2\n    rate: 3\n    requests: 1\n", 3, "exactly one"),
    ("slo: ttft_p99 <= 500\nscenarios: [{concurrency: 1, requests: 1}]\n", 2, "time unit"),
    ("slo: ttfx_p99 <= 5ms\nscenarios: [{concurrency: 1, requests: 1}]\n", 2, "unknown metric"),
    ("bogus: 1\nscenarios: [{concurrency: 1, requests: 1}]\n", 2, "unknown serving suite key"),
    ("scenarios:\n  - rate: 2\n    arrival: bursty\n    requests: 1\n", 4, "arrival must be"),
])
def test_bad_input_names_file_and_line(tmp_path: Path, body: str, line: int,
                                       message: str) -> None:
    path = write(tmp_path, "kind: serving\n" + body)
    with pytest.raises(SuiteError) as excinfo:
        load_serving_suite(path)
    text = str(excinfo.value)
    assert text.startswith(f"{path}:{line}: "), text
    assert message in text


def test_slo_units() -> None:
    assert parse_slo("e2e_p95 <= 2s").limit == 2000.0
    assert parse_slo("itl_p50 < 800us").limit == pytest.approx(0.8)
    assert parse_slo("goodput >= 3 req/s").holds(3.0)
    assert not parse_slo("ttft_p99 <= 5ms").holds(float("nan"))
