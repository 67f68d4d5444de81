"""report.html's views in a real headless Chromium (Debian's chromium + chromium-driver through
Selenium), at 1280 and 500 px: variants told apart, pinned comparison columns, the
side-by-side view, no chart panel without data, labelled scatter points, serving figures.

Three real runs against the embedded simulator: the bundled ``arithmetic_variants`` suite
plus a suite with hostile answers (priced models, one case deselected for one model), an
unpriced run of two suites, and a serving sweep. Screenshots are saved in the test's folder
(LLMBENCH_SCREENSHOTS=DIR keeps them elsewhere).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_suite

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
PRICES = """\
models:
  sim:fast:
    price: {input_per_mtok: 0.05, output_per_mtok: 0.20}
  sim:slow:
    price: {input_per_mtok: 3.0, output_per_mtok: 15.0}
"""
HOSTILE = [  # answers and prompts that would run script if the page parsed them as HTML
    {"id": "x1", "question": "<img src=x onerror=window.__pwned=1>",
     "answer": "<script>window.__pwned=2</script><b>bold</b>"},
    {"id": "x2", "question": "</script><script>window.__pwned=3</script>", "answer": "42"},
    *({"id": f"w{i}", "question": f"word {i}", "answer": f"w{i}"} for i in range(1, 6)),
]
SERVING = """\
kind: serving
name: chat_load
max_tokens: 8
ignore_eos: true
requests: 12
slo: ["ttft_p99 <= 5s"]
scenarios:
  - concurrency: [1, 4]
"""


def _pytest(cwd: Path, out: Path, *args: str) -> Path:
    proc = subprocess.run([sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider",
                           "-p", "no:randomly", "--llmbench-output", str(out), "--rootdir", str(cwd)],
                          cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    report = out / "latest" / "report.html"
    assert report.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    return report.resolve()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not (CHROMIUM and DRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    root = tmp_path_factory.mktemp("views")
    for name in ("arithmetic_variants.yaml", "optimizers.py"):
        shutil.copy(ROOT / "bench_suites" / name, root / name)
    shutil.copytree(ROOT / "bench_suites" / "data", root / "data")
    write_suite(root, name="words", rows=HOSTILE)
    (root / "prices.yaml").write_text(PRICES)
    variants = _pytest(root, root / "v", "arithmetic_variants.yaml", "words.yaml",
                       "--llmbench-models", "sim:fast,sim:slow", "--llmbench-score-only",
                       "--llmbench-config", "prices.yaml", "-k", "not sim:slow/w3", "-n", "2")
    write_suite(root, name="arith", rows=[{"id": f"q{i}", "question": f"{i} + {i}",
                                           "answer": str(2 * i)} for i in range(1, 9)])
    unpriced = _pytest(root, root / "u", "arith.yaml", "words.yaml", "--llmbench-models",
                       "sim:fast,sim:default", "--llmbench-score-only")
    (root / "load.yaml").write_text(SERVING)
    serving = _pytest(root, root / "s", "load.yaml", "--llmbench-models", "sim:fast")
    records = [json.loads(line) for line in
               (variants.parent / "records.jsonl").read_text().splitlines()]
    return {"variants": variants, "unpriced": unpriced, "serving": serving, "records": records,
            "shots": Path(os.environ.get("LLMBENCH_SCREENSHOTS") or root / "shots")}


@pytest.fixture(scope="module")
def browser(runs: dict[str, Any]) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM or ""
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver: Any, report: Path, fragment: str = "", width: int = 1280,
          ready: str | None = None) -> None:
    """Load the page afresh at ``width`` px; wait for ``ready`` (an <html> attribute)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_window_size(width, 1000)
    driver.get("about:blank")
    driver.get(report.as_uri() + fragment)
    WebDriverWait(driver, 60).until(lambda d: d.execute_script(
        "return document.documentElement.hasAttribute(arguments[0])", ready or "data-render-ms"))
    assert driver.execute_script("return document.documentElement.getAttribute('data-errors')") is None


def _js(driver: Any, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def _shot(driver: Any, folder: Path, name: str, width: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    height = _js(driver, "return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(int(height) + 40, 700), 5000))
    out = folder / f"{name}.png"
    driver.save_screenshot(str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return out


def test_side_by_side_has_a_row_per_case_and_a_column_per_model_variant(
        runs: dict[str, Any], browser: Any) -> None:
    _open(browser, runs["variants"], "#sides?suite=arithmetic_variants", ready="data-sides-ready")
    columns = _js(browser, "return [...document.querySelectorAll('#sides-table thead th[data-col]')]"
                           ".map(th => th.getAttribute('data-col'))")
    assert sorted(columns) == sorted(f"{m} \u00b7 {v}" for m in ("sim:fast", "sim:slow")
                                     for v in ("terse", "careful", "few_shot", "bootstrap"))
    cells = _js(browser, """return [...document.querySelectorAll('#sides-table tbody tr')].map(tr => [
        tr.getAttribute('data-case'),
        [...tr.querySelectorAll('td')].map(td => [td.getAttribute('data-col'),
            td.getAttribute('data-outcome'), (td.querySelector('.badge') || {}).textContent])])""")
    assert len(cells) == 10  # the suite samples 10 cases, each asked 8 ways
    want = {(r["case_id"], f"{r['model']} \u00b7 {r['variant']}"): r["outcome"]
            for r in runs["records"] if r["suite"] == "arithmetic_variants"}
    for case, row in cells:
        assert len(row) == 8
        for col, outcome, badge in row:
            assert outcome == badge == want[(case, col)], (case, col)
    _shot(browser, runs["shots"], "sides-1280", 1280)


def test_side_by_side_marks_missing_cells_and_never_runs_answers(runs: dict[str, Any],
                                                                 browser: Any) -> None:
    _open(browser, runs["variants"], "#sides?suite=words", ready="data-sides-ready")
    rows = _js(browser, """return Object.fromEntries([...document.querySelectorAll('#sides-table tbody tr')]
        .map(tr => [tr.getAttribute('data-case'), [...tr.querySelectorAll('td')].map(td =>
            [td.getAttribute('data-col'), td.getAttribute('data-outcome'), td.textContent])]))""")
    assert sorted(rows) == ["w1", "w2", "w3", "w4", "w5", "x1", "x2"]
    assert ["sim:slow", "not-run", "not run"] in rows["w3"]  # deselected with -k for sim:slow
    assert all(cell[1] != "not-run" for case, cells in rows.items() if case != "w3" for cell in cells)
    x1 = _js(browser, "return document.querySelector('#sides-table tr[data-case=x1]').textContent")
    assert "<img src=x onerror=window.__pwned=1>" in x1  # shown as text
    _open(browser, runs["variants"], "#items?suite=words&expand=1", ready="data-items-loaded")
    assert _js(browser, "return window.__pwned === undefined && !document.querySelector("
                        "'#view-items b, #view-sides b, #view-items img, #view-sides img')")


def test_variants_are_told_apart_in_table_charts_and_items(runs: dict[str, Any],
                                                          browser: Any) -> None:
    _open(browser, runs["variants"])
    models = _js(browser, "return [...document.querySelectorAll("
                          "'#summary-table tbody tr[data-suite=arithmetic_variants] td:nth-child(2)')]"
                          ".map(td => td.textContent)")
    assert {m.replace(" \u2605", "") for m in models} == {
        f"{m} \u00b7 {v}" for m in ("sim:fast", "sim:slow")
        for v in ("terse", "careful", "few_shot", "bootstrap")}
    for chart in ("chart-accuracy", "chart-latency", "chart-tps"):
        labels = _js(browser, f"return [...document.querySelectorAll('#{chart} "
                              "g[data-suite=arithmetic_variants] text.row-label')]"
                              ".map(t => t.firstChild.nodeValue)")
        assert len(labels) == len(set(labels)) == 8, (chart, labels)
        assert "sim:fast \u00b7 careful" in labels, chart
    _open(browser, runs["variants"], "#items?model=sim:fast&variant=careful", ready="data-items-loaded")
    options = _js(browser, "return [...document.querySelectorAll('#item-filters select[name=variant] "
                           "option')].map(o => o.value)")
    assert sorted(options) == ["", "bootstrap", "careful", "few_shot", "terse"]
    who = _js(browser, "return [...document.querySelectorAll('#items-list details.item .who')]"
                       ".map(s => s.textContent)")
    assert who == ["sim:fast \u00b7 careful"] * 10


def test_comparison_table_pins_suite_and_model_and_shows_cost(runs: dict[str, Any],
                                                             browser: Any) -> None:
    _open(browser, runs["variants"])
    sticky = _js(browser, """const row = document.querySelector('#summary-table tbody tr');
        return [...row.cells].slice(0, 3).map(c => getComputedStyle(c).position)""")
    assert sticky == ["sticky", "sticky", "static"]
    header = _js(browser, "return [...document.querySelectorAll('#summary-table thead th')]"
                          ".map(th => [th.textContent, th.getBoundingClientRect().right])")
    cost = next(right for text, right in header if text.startswith("cost"))
    assert cost <= 1280  # in view without scrolling
    unknown = _js(browser, "return [...document.querySelectorAll('#summary-table td.unknown')]"
                           ".map(td => td.textContent)")
    assert set(unknown) <= {"unknown", "batch"}  # priced run: nothing shown as $0
    _open(browser, runs["variants"], width=500)
    before, after = _js(browser, """const wrap = document.querySelector('#summary-table').parentNode;
        const cell = () => document.querySelector('#summary-table tbody tr td:nth-child(2)')
          .getBoundingClientRect().left;
        const a = cell(); wrap.scrollLeft = 600; return [a, cell()]""")
    assert _js(browser, "return document.querySelector('#summary-table').parentNode.scrollLeft") > 0
    assert after == before  # the model column stays while the figures scroll


def test_unknown_cost_is_one_short_line_and_no_panel_is_empty(runs: dict[str, Any],
                                                             browser: Any) -> None:
    _open(browser, runs["unpriced"])
    panels = _js(browser, "return [...document.querySelectorAll('figure.chart')]"
                          ".filter(f => !f.hidden && f.offsetParent)"
                          ".map(f => [f.querySelector('[id]').id, f.querySelectorAll('svg').length])")
    assert [p[0] for p in panels] == ["chart-accuracy", "chart-latency", "chart-tps"]
    assert all(count == 1 for _, count in panels)  # every panel shown draws a chart
    notes = _js(browser, "return document.getElementById('chart-notes').innerText")
    assert notes.strip() == "Accuracy against cost: cost unknown for every model, nothing to plot."
    text = _js(browser, "return document.getElementById('view-overview').innerText")
    assert "Cost unknown (not plotted)" not in text
    assert not re.search(r"\b(arith|words)\b.*\b\1\b.*\b\1\b", notes)


def test_scatter_points_are_labelled(runs: dict[str, Any], browser: Any) -> None:
    _open(browser, runs["variants"])
    labels = _js(browser, "return [...document.querySelectorAll('#chart-cost text.point-label')]"
                          ".map(t => t.textContent)")
    assert sorted(labels) == ["sim:fast", "sim:slow"]  # pooled over the suites
    _js(browser, """const s = document.getElementById('rank-scope'); s.value = 'arithmetic_variants';
        s.dispatchEvent(new Event('change'))""")
    boxes = _js(browser, "return [...document.querySelectorAll('#chart-cost text.point-label')]"
                         ".map(t => { const b = t.getBoundingClientRect(); "
                         "return [t.textContent, b.left, b.top, b.right, b.bottom]; })")
    assert sorted(b[0] for b in boxes) == sorted(
        f"{m} \u00b7 {v}" for m in ("sim:fast", "sim:slow")
        for v in ("terse", "careful", "few_shot", "bootstrap"))
    points = _js(browser, "return document.querySelectorAll('#chart-cost circle').length")
    assert points == 8
    chart = _js(browser, "const b = document.querySelector('#chart-cost svg').getBoundingClientRect();"
                         "return [b.left, b.top, b.right, b.bottom]")
    for _name, left, top, right, bottom in boxes:  # inside the chart (cut off nowhere)
        assert chart[0] - 1 <= left and right <= chart[2] + 1
        assert chart[1] - 1 <= top and bottom <= chart[3] + 1
    _shot(browser, runs["shots"], "overview-1280", 1280)


@pytest.mark.parametrize("fragment", ["", "#items?expand=1", "#sides?suite=arithmetic_variants",
                                      "#run"])
def test_usable_at_500px(runs: dict[str, Any], browser: Any, fragment: str) -> None:
    ready = ("data-sides-ready" if "sides" in fragment else
             "data-items-loaded" if "items" in fragment else None)
    _open(browser, runs["variants"], fragment, width=500, ready=ready)
    assert _js(browser, "return document.documentElement.scrollWidth") <= 500
    # anything wider than the page sits in a scroll frame; nothing else sticks out
    outside = _js(browser, """return [...document.querySelectorAll('body *')].filter(e => {
        const r = e.getBoundingClientRect();
        if (!r.width || r.right <= 501) return false;
        for (let p = e.parentElement; p; p = p.parentElement) {
          const o = getComputedStyle(p).overflowX;
          if (o === 'auto' || o === 'scroll' || o === 'hidden') return false;
        }
        return true;
      }).map(e => e.tagName + '#' + e.id + '.' + e.className)""")
    assert outside == []
    name = {"": "overview", "#run": "run"}.get(fragment, fragment[1:].split("?")[0])
    _shot(browser, runs["shots"], f"{name}-500", 500)


def test_serving_run_shows_its_figures_not_dashes(runs: dict[str, Any], browser: Any) -> None:
    _open(browser, runs["serving"], ready="data-serving-points")
    assert _js(browser, "return document.getElementById('summary-table').parentNode.hidden")
    rows = _js(browser, """return [...document.querySelectorAll('#serving-summary tbody tr')].map(tr =>
        Object.fromEntries([...tr.cells].map((td, i) =>
          [document.querySelectorAll('#serving-summary thead th')[i].textContent, td.textContent])))""")
    assert len(rows) == 1 and rows[0]["model"] == "sim:fast" and rows[0]["points"] == "2"
    assert rows[0]["SLOs met"] == "2 / 2"
    for column in ("TTFT p50", "TTFT p99", "ITL p50", "E2E p99"):
        assert re.fullmatch(r"[0-9.]+ ms( \u2013 [0-9.]+ ms)?", rows[0][column]), (column, rows[0])
    assert re.fullmatch(r"[0-9.]+", rows[0]["peak req/s"])
    ttft = _js(browser, "return [...document.querySelectorAll('#serving-table tbody tr')]"
                        ".map(tr => tr.cells[7].textContent)")
    assert len(ttft) == 2 and all(re.fullmatch(r"[0-9.]+ ms", t) for t in ttft)
    _shot(browser, runs["shots"], "serving-1280", 1280)
