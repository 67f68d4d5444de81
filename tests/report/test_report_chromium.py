"""report.html of a real run, rendered in headless Chromium.

One pytest run (``-n 2``: the xdist controller writes the report) against the
simulator and in-process models, with two priced models and two unpriced ones,
right and wrong answers and errors; each test loads the page via file:// and
reads the DOM after its scripts ran.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_suite
from tests.report.conftest import Chromium, console_errors

CONFIG = """\
models:
  sim:default:
    price: {input_per_mtok: 0.15, output_per_mtok: 0.60}
  sim:fast:
    price: {input_per_mtok: 0.05, output_per_mtok: 0.20}
"""
MODELS = "sim:default,sim:fast,inproc:wrong,inproc:error"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("run")
    write_suite(root, rows=[{"id": f"q{i:03d}", "question": f"{i} + {i}", "answer": str(2 * i)}
                            for i in range(1, 25)])
    write_suite(root, name="words", rows=[{"id": f"w{i}", "question": f"word {i}",
                                           "answer": f"w{i}"} for i in range(6)])
    (root / "llmbench.yaml").write_text(CONFIG)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "arith.yaml", "words.yaml", "-q", "-p", "no:cacheprovider",
         "-n", "2", "--llmbench-models", MODELS, "--llmbench-score-only",
         "--llmbench-max-retries", "0", "--rootdir", str(root)],
        cwd=root, capture_output=True, text=True, timeout=300, check=False)
    run_dir = root / ".llmbench" / "runs" / "latest"
    assert (run_dir / "report.html").is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    summary = json.loads((run_dir / "summary.json").read_text())["rows"]
    return {"path": run_dir / "report.html", "records": records, "summary": summary}


def _card(dom: str, ranking: str) -> str:
    match = re.search(rf'data-ranking="{ranking}".*?</ol>', dom, re.DOTALL)
    assert match, f"no {ranking} ranking card"
    return match.group(0)


def test_overview_renders_table_rankings_and_charts(run: dict[str, Any], chromium: Chromium) -> None:
    page = chromium.load(run["path"])
    assert console_errors(page) == []
    assert page.attr("data-render-ms") is not None
    assert page.count(r'<tr data-suite="') == len(run["summary"]) == 8
    assert page.count(r'<div id="quality-views">') == 1  # shown: items were scored
    for chart in ("chart-accuracy", "chart-latency", "chart-cost", "chart-tps"):
        assert page.count(rf'<svg [^>]*data-chart="{chart}"') == 1, chart
    assert page.count(r'<circle ') >= 8  # accuracy dots and cost points
    for ranking in ("accuracy", "speed", "cost", "value"):
        assert _card(page.dom, ranking).count("<li") == 4
    assert re.search(r'data-ranking="accuracy".*?<li data-model="sim:default"', page.dom, re.DOTALL)
    assert 'data-view="overview"' in page.dom and "Items load when" in page.dom  # items not loaded


def test_unknown_cost_is_unknown_never_zero(run: dict[str, Any], chromium: Chromium) -> None:
    dom = chromium.load(run["path"]).dom
    for ranking in ("cost", "value"):
        card = _card(dom, ranking)
        ranked = re.findall(r'<li data-model="([^"]+)"', card)
        assert ranked == ["sim:fast", "sim:default"]  # fast is the cheaper and better value
        unranked = re.findall(r'<li class="unranked" data-model="([^"]+)">.*?</li>', card)
        assert sorted(unranked) == ["inproc:error", "inproc:wrong"]
        assert "$0<" not in card
    row = re.search(r'<tr data-suite="arith" data-model="inproc:wrong">.*?</tr>', dom).group(0)
    assert row.count('<td class="unknown">unknown</td>') == 2  # cost and cost per correct
    # the cost chart pools the suites (the rankings' scope): each unpriced model named once
    assert "Cost unknown (not plotted): inproc:wrong<" in dom


def test_table_sorts_by_any_column(run: dict[str, Any], chromium: Chromium) -> None:
    dom = chromium.load(run["path"], "#overview?sort=-accuracy").dom
    order = re.findall(r'<tr data-suite="([^"]+)" data-model="([^"]+)"', dom)
    by_key = {(r["suite"], r["model"]): r["accuracy"] for r in run["summary"]}
    values = [by_key[key] for key in order]
    known = [v for v in values if v is not None]
    assert known == sorted(known, reverse=True)
    assert values[len(known):] == [None] * (len(values) - len(known))  # unknowns last
    assert 'aria-sort="descending"' in dom


def test_item_filters_from_the_url(run: dict[str, Any], chromium: Chromium) -> None:
    records = run["records"]
    page = chromium.load(run["path"], "#filter=errors")
    assert console_errors(page) == []
    assert page.attr("data-items-loaded") == str(len(records))
    errors = [r for r in records if r["outcome"] == "error"]
    assert re.search(rf'id="items-status"[^>]*data-matched="{len(errors)}"', page.dom)
    outcomes = set(re.findall(r'<details class="item" data-outcome="([a-z]+)"', page.dom))
    assert outcomes == {"error"}
    assert page.count(r'<details class="item"') == min(50, len(errors))

    page = chromium.load(run["path"], "#items?filter=failures&model=sim:fast")
    wrong = [r for r in records if r["outcome"] == "failed" and r["model"] == "sim:fast"]
    assert wrong and page.count(r'<details class="item" data-outcome="failed"') == len(wrong)
    assert page.count(r'<details class="item"') == len(wrong)

    page = chromium.load(run["path"], "#items?q=word%203&suite=words")
    assert page.count(r'<details class="item"') == 4  # w3's prompt, once per model


def test_item_details(run: dict[str, Any], chromium: Chromium) -> None:
    page = chromium.load(run["path"], "#items?suite=words&model=sim:fast&expand=1")
    assert console_errors(page) == []
    bodies = re.findall(r'<details class="item" data-outcome="(\w+)"[^>]*open="">(.*?)</details>',
                        page.dom, re.DOTALL)
    assert len(bodies) == 6
    for _outcome, body in bodies:
        labels = re.findall(r"<dt>([^<]+)</dt>", body)
        assert labels[:5] == ["prompt", "response", "expected", "extracted answer", "score"]
        assert "score details" in labels and "measured" in labels and "test" in labels
        assert '<div class="role">user</div><pre>What is word' in body
        assert "cost $" in body and "tokens" in body
    page = chromium.load(run["path"], "#items?filter=errors&model=inproc:error&expand=1")
    body = re.search(r'<dl class="item-body">.*?</dl>', page.dom, re.DOTALL).group(0)
    assert "<dt>error</dt>" in body and "[server_error] inproc:error - InternalServerError" in body
    assert "cost unknown" in body


def test_paging_keeps_the_dom_small(run: dict[str, Any], chromium: Chromium) -> None:
    page = chromium.load(run["path"], "#items?page=2")
    assert page.count(r'<details class="item"') == 50
    assert "page 2 of 3" in page.dom


def test_run_view_shows_metadata(run: dict[str, Any], chromium: Chromium) -> None:
    dom = chromium.load(run["path"], "#run").dom
    assert 'data-view="run"' in dom
    run_id = run["records"][0]["run_id"]
    assert f"<code>{run_id}</code>" in dom
    assert dom.count("<tr><td>sim:") == 2 and "pytest-llmbench" in dom


def test_screenshots(run: dict[str, Any], chromium: Chromium, tmp_path: Path) -> None:
    for name, fragment in (("overview.png", ""), ("items.png", "#items?filter=problems")):
        shot = chromium.screenshot(run["path"], tmp_path / name, fragment)
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, name
