"""report.html: one self-contained page comparing the models of a run.

The page is a jinja2 template with its CSS and JavaScript inlined (no CDN, no
charting library: the four charts are small hand-written SVG, so a report stays
a few hundred KB plus its items and opens offline). Aggregates (the summary
rows, per-model rows pooled over suites, latency box statistics) are embedded
as JSON and drawn at load; the items are packed by ``report.items`` into
compressed chunks that the page inflates only when the items view opens.

``HtmlReport`` is fed records one by one (by the controller as they arrive,
or by ``write_report`` from a run directory's records.jsonl), so writing the
page at session finish only joins finished chunks. Everything but the already
scrubbed chunks passes through ``Scrubber`` before it is written.
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmbench.redaction import Scrubber
from pytest_llmbench.report.items import CHUNK_SIZE, ITEM_FIELDS, MAX_TEXT, ItemChunks
from pytest_llmbench.report.serving_view import serving_view
from pytest_llmbench.results.record import is_serving
from pytest_llmbench.results.run_dir import RECORDS_FILE, RUN_FILE, iter_records
from pytest_llmbench.results.stats import percentile
from pytest_llmbench.results.summary import SummaryBuilder

if TYPE_CHECKING:
    from jinja2 import Template

REPORT_FILE = "report.html"
ALL_SUITES = "(all suites)"
_ITEMS_MARK = "<!--llmbench:items-->"
_BOX_QUANTILES = (("p5", 5), ("p25", 25), ("p50", 50), ("p75", 75), ("p95", 95), ("p99", 99))

Section = tuple[str, str]  # (title, HTML) added by pytest_llmbench_html_sections


class HtmlReport:
    """Packs the items while records arrive; ``write`` renders the page with the
    aggregates of the run's ``SummaryBuilder`` (fed the same records)."""

    def __init__(self, *, scrub: Scrubber | None = None, chunk_size: int = CHUNK_SIZE,
                 max_text: int = MAX_TEXT) -> None:
        self.scrub = scrub or Scrubber()
        self.items = ItemChunks(self.scrub, chunk_size=chunk_size, max_text=max_text)
        self.serving: list[dict[str, Any]] = []  # serving points: charts from their samples

    def add(self, record: dict[str, Any]) -> None:
        self.items.add(record)
        if is_serving(record):
            self.serving.append(record)

    def write(self, run_path: Path, *, summary: SummaryBuilder, info: dict[str, Any],
              rows: Sequence[dict[str, Any]] | None = None,
              sections: Iterable[Section] = ()) -> Path:
        """Render report.html into ``run_path`` (atomically) and return its path.
        ``rows`` are ``summary.rows()`` where the caller has them already."""
        chunks = self.items.finish()
        rows = list(summary.rows() if rows is None else rows)
        data = {
            "run_id": info.get("run_id"),
            "rows": rows,
            "model_rows": summary.model_rows(ALL_SUITES),
            "latency": _latency_boxes(summary.latency_samples(), rows),
            "gate_failures": info.get("gate_failures") or [],
            "item_fields": ITEM_FIELDS, "suites": list(self.items.suites),
            "models": list(self.items.models), "item_count": self.items.count,
            "serving": serving_view(self.serving, run_path),
            # rankings and quality charts only where something was scored
            "quality": self.items.count > len(self.serving),
        }
        page = self.scrub(_render(data, info, list(sections)))
        head, _, tail = page.partition(_ITEMS_MARK)
        path = run_path / REPORT_FILE
        tmp = path.with_name(f".{REPORT_FILE}.tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(head)
            for chunk in chunks:
                handle.write(f'<script type="application/x-llmbench-items" '
                             f'class="llmbench-chunk">{chunk}</script>\n')
            handle.write(tail)
        os.replace(tmp, path)
        return path


def _latency_boxes(samples: dict[tuple[str, str], list[float]],
                   rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Box statistics per (suite, model[/variant]); ``model`` and ``variant`` split again
    from the summary rows, so the page labels and colours a variant like its row."""
    split = {(r.get("suite"), f"{r.get('model')}/{r['variant']}" if r.get("variant")
              else r.get("model")): (r.get("model"), r.get("variant")) for r in rows}
    boxes = []
    for (suite, key), values in samples.items():
        if not values:
            continue
        ordered = sorted(values)
        model, variant = split.get((suite, key), (key, None))
        box: dict[str, Any] = {"suite": suite, "model": model, "n": len(ordered),
                               "min": ordered[0], "max": ordered[-1]}
        box.update((name, percentile(ordered, q)) for name, q in _BOX_QUANTILES)
        box["variant"] = variant
        boxes.append(box)
    return boxes


def write_report(run_path: Path, sections: Iterable[Section] = ()) -> Path:
    """(Re)build report.html of a run directory from its run.json and records.jsonl."""
    info_file, records_file = run_path / RUN_FILE, run_path / RECORDS_FILE
    for needed in (info_file, records_file):
        if not needed.is_file():
            raise FileNotFoundError(f"{needed}: not found (is {run_path} a run directory?)")
    try:
        info = json.loads(info_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{info_file}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    report, summary = HtmlReport(), SummaryBuilder()
    for record in iter_records(run_path):
        summary.add(record)
        report.add(record)
    return report.write(run_path, summary=summary, info=info, rows=_saved_rows(run_path),
                        sections=sections)


def _saved_rows(run_path: Path) -> list[dict[str, Any]] | None:
    """The run's own summary rows (with its target columns), when it got to write them."""
    try:
        rows: list[dict[str, Any]] = json.loads(
            (run_path / "summary.json").read_text(encoding="utf-8"))["rows"]
        return rows
    except (OSError, ValueError, KeyError, TypeError):
        return None


@functools.cache
def page_template() -> Template:
    """The compiled page template (jinja2's import and compile take ~40 ms: the controller
    calls this on a background thread while the first answers are awaited)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("pytest_llmbench.report", "templates"),
                      autoescape=select_autoescape(default=True), trim_blocks=True,
                      lstrip_blocks=True)
    return env.get_template("report.html.j2")


def _render(data: dict[str, Any], info: dict[str, Any], sections: list[Section]) -> str:
    from markupsafe import Markup

    assets = files("pytest_llmbench.report") / "templates"
    return page_template().render(
        info=info, run=_run_view(info, data), data_json=Markup(_script_json(data)),
        quality=data["quality"],
        css=Markup((assets / "report.css").read_text(encoding="utf-8")),
        js=Markup("\n".join((assets / name).read_text(encoding="utf-8")
                             for name in ("report.js", "serving.js", "sides.js"))),
        items_mark=Markup(_ITEMS_MARK),
        sections=[(title, Markup(html)) for title, html in sections],
    )


def _run_view(info: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Run metadata made readable for the template's Run view."""
    started, finished = info.get("started_at"), info.get("finished_at")
    git = info.get("git") or {}
    return {
        "started": _when(started), "finished": _when(finished),
        "duration": f"{finished - started:.1f} s" if started and finished else None,
        "commit": git.get("commit"), "branch": git.get("branch"), "dirty": git.get("dirty"),
        "suites": data["suites"], "records": data["item_count"],
        "models": info.get("models") or [{"name": m} for m in data["models"]],
        "pytest_args": " ".join(str(a) for a in info.get("pytest_args") or []),
        "settings": {k: info[k] for k in ("seed", "sample", "concurrency", "workers",
                                          "exitstatus") if info.get(k) is not None},
        "generated": _when(time.time()),
    }


def _when(stamp: Any) -> str | None:
    if not isinstance(stamp, int | float):
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp))


def _script_json(data: Any) -> str:
    """JSON safe inside <script>: no ``</script>``, and NaN/inf as null (JSON has neither)."""
    text = json.dumps(_finite(data), ensure_ascii=False, default=str, separators=(",", ":"))
    return text.replace("<", "\\u003c")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


__all__ = ["ALL_SUITES", "REPORT_FILE", "HtmlReport", "Section", "write_report"]
