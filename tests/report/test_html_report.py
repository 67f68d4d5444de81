"""report.html as a file: written at session finish, self-contained, complete, and free of keys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_llmbench.cli import main
from pytest_llmbench.report.html import HtmlReport, write_report
from pytest_llmbench.report.items import ItemChunks
from pytest_llmbench.results.summary import SummaryBuilder
from tests.conftest import read_records, write_suite
from tests.report.conftest import decode_items

ANTHROPIC_KEY = "sk-ant-api03-" + "A1b2C3d4E5f6G7h8" * 3
ENV_SECRET = "tok_live_9f8e7d6c5b4a3210"
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"


def _report(pytester: pytest.Pytester) -> str:
    return (pytester.path / ".llmbench" / "runs" / "latest" / "report.html").read_text()


def test_written_at_session_finish_and_self_contained(pytester: pytest.Pytester, suite_dir) -> None:
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle,inproc:wrong",
                                "--llmbench-score-only", "--llmbench-gate", "accuracy>=0.9")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the gate
    html = _report(pytester)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    items = decode_items(html)
    records = read_records(pytester)
    assert len(items) == len(records) == 20
    by_key = {(r["case_id"], r["model"]): r for r in records}
    models = re.search(r'"models":\[([^]]*)\]', html).group(1)
    assert models == '"inproc:oracle","inproc:wrong"'
    for item in items:
        record = by_key[(item["case_id"], ["inproc:oracle", "inproc:wrong"][item["model"]])]
        assert (item["outcome"], item["response"], item["expected"]) == (
            record["outcome"], record["response"], record["expected"])
    assert 'id="gate-failures"' in html and "gate arith" not in html
    assert "arith x inproc:wrong: accuracy = 0" in html


def test_keys_never_reach_the_report(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("ACME_API_TOKEN", ENV_SECRET)
    rows = [{"id": "k1", "question": f"my key is {ANTHROPIC_KEY}", "answer": "x"},
            {"id": "k2", "question": f"aws {AWS_KEY} and {ENV_SECRET}", "answer": "x"},
            {"id": "k3", "question": "plain task-abcdefghijklmnopqrstuvwxyz", "answer": "x"}]
    write_suite(pytester.path, rows=rows)
    pytester.makefile(".yaml", llmbench="models:\n  inproc:fixed:\n    text: "
                                        "'Authorization: Bearer abcDEF123456ghiJKL789'\n")
    pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:echo,inproc:fixed",
                       "--llmbench-score-only")
    html = _report(pytester)
    items = decode_items(html)
    assert len(items) == 6
    text = html + repr(items)
    for secret in (ANTHROPIC_KEY, ENV_SECRET, AWS_KEY, "abcDEF123456ghiJKL789"):
        assert secret not in text
    responses = {item["case_id"]: item["response"] for item in items if item["model"] == 0}
    assert responses["k1"] == "What is my key is [redacted]?"
    assert responses["k2"] == "What is aws [redacted] and [redacted]?"
    assert responses["k3"] == "What is plain task-abcdefghijklmnopqrstuvwxyz?"  # not key-shaped
    assert "Authorization: Bearer [redacted]" in repr(items)


def test_conftest_adds_report_sections(pytester: pytest.Pytester, suite_dir) -> None:
    pytester.makeconftest("""
        def pytest_llmbench_html_sections(rows, info):
            best = max(rows, key=lambda r: r["accuracy"])
            return [("Notes", f"<p id='note'>best: {best['model']} of {len(rows)} rows</p>")]
    """)
    pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle,inproc:wrong",
                       "--llmbench-score-only")
    html = _report(pytester)
    assert "<h2>Notes</h2>" in html and "<p id='note'>best: inproc:oracle of 2 rows</p>" in html


def test_llmbench_report_rebuilds_from_the_run_directory(pytester: pytest.Pytester, suite_dir,
                                                         capsys) -> None:
    pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle")
    run = (pytester.path / ".llmbench" / "runs" / "latest").resolve()
    first = (run / "report.html").read_text()
    (run / "report.html").unlink()
    capsys.readouterr()
    assert main(["report", str(run)]) == 0
    assert capsys.readouterr().out.strip() == str(run / "report.html")
    rebuilt = (run / "report.html").read_text()
    assert decode_items(rebuilt) == decode_items(first)
    strip = re.compile(r"report generated</th><td>[^<]*|\"generated\":[^,]*")
    assert strip.sub("", rebuilt) == strip.sub("", first)
    assert main(["report", "--runs", str(pytester.path / ".llmbench" / "runs"), "latest"]) == 0
    assert main(["report", str(pytester.path / "nowhere")]) == 2
    assert "no run" in capsys.readouterr().err


def test_report_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"run\.json: not found \(is .* a run directory\?\)"):
        write_report(tmp_path)


def test_long_texts_are_cut_and_items_chunked(tmp_path: Path) -> None:
    report, summary = HtmlReport(chunk_size=10, max_text=100), SummaryBuilder()
    for i in range(25):
        record = {"suite": "s", "model": f"m{i % 2}", "case_id": f"c{i}", "outcome": "passed",
                  "calls": 1, "latency_s": 0.1 * i, "response": "x" * 250,
                  "prompt": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                  "score_details": {"judge": {"reason": "y" * 300}}}
        report.add(record)
        summary.add(record)
    path = report.write(tmp_path, summary=summary, info={"run_id": "r1"})
    html = path.read_text()
    assert html.count('class="llmbench-chunk"') == 3
    items = decode_items(html)
    assert [i["case_id"] for i in items] == [f"c{i}" for i in range(25)]
    assert items[0]["response"] == "x" * 100 + "\u2026 [150 more characters in records.jsonl]"
    assert items[0]["prompt"] == [["user", '[{"type":"text","text":"hi"}]']]
    assert items[0]["score_details"]["judge"]["reason"].startswith("y" * 100 + "\u2026 [200 more")
    boxes = re.search(r'"latency":\[(.*?)\]', html).group(1)
    assert '"model":"m0","n":13' in boxes and '"p50":1.2' in boxes
    model_rows = re.search(r'"model_rows":\[(.*?)\],"latency"', html).group(1)
    assert model_rows.count('"suite":"(all suites)"') == 2


def test_chunk_fields_follow_item_fields() -> None:
    chunks = ItemChunks(lambda text: text)
    record = {"suite": "s", "model": "m", "case_id": "c", "outcome": "failed", "score": 0.0,
              "extraction_failed": True, "latency_s": 1.0, "ttft_s": 0.5, "output_tps": 9.0,
              "input_tokens": 3, "output_tokens": 4, "cost_usd": None, "attempts": 2,
              "error": None, "error_kind": None, "prompt": "p", "response": "r",
              "expected": ["a", "b"], "score_details": {"extracted": None},
              "reasoning": "think", "finish_reason": "stop", "nodeid": "n", "target": "t",
              "metrics": {"k": 1}, "variant": "terse"}
    chunks.add(record)
    html = "".join(f'<script type="application/x-llmbench-items" class="llmbench-chunk">{c}'
                   "</script>" for c in chunks.finish())
    assert decode_items(html) == [{**record, "suite": 0, "model": 0}]


def test_model_rows_pool_raw_samples_over_suites() -> None:
    per_suite, pooled = SummaryBuilder(), SummaryBuilder()
    for i in range(30):
        record = {"suite": f"s{i % 3}", "model": f"m{i % 2}", "outcome": "passed" if i % 4 else
                  "failed", "calls": 1, "latency_s": 0.01 * i * (1 + i % 3), "ttft_s": 0.001 * i,
                  "output_tps": float(i), "input_tokens": i, "output_tokens": 2,
                  "cost_usd": None if i == 7 else 0.5}
        per_suite.add(record)
        pooled.add({**record, "suite": "(all suites)"})
    assert per_suite.model_rows("(all suites)") == pooled.rows()
    assert per_suite.model_rows("(all suites)")[1]["cost_usd"] is None  # one unknown: unknown
