"""``llmbench export --format pdf``: a printable report of one run, through ``fpdf2``
(extra ``pdf``; imported lazily so the rest of the CLI works without it).

Pages: run metadata, the model x suite table (accuracy with its 95% CI, latency
p50/p95, cost; a cost without a price reads "unknown"), gate failures and a
per-suite ranking. The built-in Helvetica font covers Latin-1 only, so other
characters are shown as "?" rather than failing the export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_llmbench.report.export import ExportError
from pytest_llmbench.report.export_csv import iso_time
from pytest_llmbench.report.export_data import RunExport, rankings

INSTALL_HINT = "pip install 'pytest-llmbench[pdf]'"
# (header, width in mm) of the summary table; the page is A4 landscape (277 mm usable)
_COLUMNS = (("suite", 38), ("model", 58), ("variant / target", 34), ("n", 12),
            ("accuracy [95% CI]", 45), ("latency p50 / p95", 40), ("cost", 25), ("errors", 25))


def _fpdf() -> Any:
    try:
        import fpdf
    except ImportError:
        raise ExportError(f"--format pdf needs the 'fpdf2' package: {INSTALL_HINT}") from None
    return fpdf


def _text(value: Any) -> str:
    return str(value).encode("latin-1", "replace").decode("latin-1")


def _pct(value: Any) -> str:
    return "unknown" if value is None else f"{100 * value:.1f}%"


def _seconds(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.3g} ms" if value < 1 else f"{value:.2f} s"


def _cost(value: Any) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def summary_cells(row: dict[str, Any]) -> list[str]:
    accuracy = _pct(row.get("accuracy"))
    if row.get("accuracy_ci_low") is not None and row.get("accuracy_ci_high") is not None:
        accuracy += f" [{_pct(row['accuracy_ci_low'])}, {_pct(row['accuracy_ci_high'])}]"
    where = " / ".join(str(row[k]) for k in ("variant", "target") if row.get(k)) or "-"
    return [str(row.get("suite")), str(row.get("model")), where, str(row.get("n", "")), accuracy,
            f"{_seconds(row.get('latency_p50'))} / {_seconds(row.get('latency_p95'))}",
            _cost(row.get("cost_usd")), f"{row.get('errors', 0)} ({_pct(row.get('error_rate'))})"]


def _metadata(run: RunExport) -> list[tuple[str, str]]:
    info = run.info
    git = info.get("git") if isinstance(info.get("git"), dict) else None
    models = [m.get("name") if isinstance(m, dict) else m for m in info.get("models") or []]
    versions = info.get("versions") if isinstance(info.get("versions"), dict) else {}
    return [("run", run.run_id), ("status", str(info.get("status") or "unknown")),
            ("started", iso_time(info.get("started_at")) or "unknown"),
            ("finished", iso_time(info.get("finished_at")) or "unknown"),
            ("git", f"{git.get('commit')} ({git.get('branch')})" if git else "not a git checkout"),
            ("models", ", ".join(str(m) for m in models) or "-"),
            ("versions", ", ".join(f"{k} {v}" for k, v in (versions or {}).items()) or "-"),
            ("command", " ".join(str(a) for a in info.get("pytest_args") or []) or "-")]


def write_pdf(run: RunExport, out: Path) -> Path:
    fpdf = _fpdf()
    pdf = fpdf.FPDF(orientation="L", format="A4")
    pdf.set_title(_text(f"llmbench run {run.run_id}"))
    pdf.set_creator("pytest-llmbench")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _text(f"llmbench run {run.run_id}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for label, value in _metadata(run):
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(22, 5, label)
        pdf.set_font("Helvetica", size=9)
        pdf.multi_cell(0, 5, _text(value), new_x="LMARGIN", new_y="NEXT")
    _heading(pdf, "Summary (model x suite)")
    _table(pdf, [h for h, _ in _COLUMNS], [summary_cells(r) for r in run.rows],
           [w for _, w in _COLUMNS])
    _heading(pdf, "Gate failures")
    pdf.set_font("Helvetica", size=9)
    for line in run.gate_failures or ["none"]:
        pdf.multi_cell(0, 5, _text(f"- {line}" if run.gate_failures else line),
                       new_x="LMARGIN", new_y="NEXT")
    _heading(pdf, "Rankings (by accuracy, per suite)")
    ranked = [[suite, str(place), str(row.get("model")), summary_cells(row)[2], _pct(row["accuracy"])]
              for suite, group in rankings(run.rows).items()
              for place, row in enumerate(group, start=1)]
    _table(pdf, ["suite", "rank", "model", "variant / target", "accuracy"], ranked,
           [45, 15, 80, 50, 35])
    tmp = out.with_name(out.name + ".tmp")
    pdf.output(str(tmp))
    tmp.replace(out)
    return out


def _heading(pdf: Any, text: str) -> None:
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")


def _table(pdf: Any, headers: list[str], rows: list[list[str]], widths: list[int]) -> None:
    if not rows:
        pdf.set_font("Helvetica", size=9)
        pdf.cell(0, 5, "no rows", new_x="LMARGIN", new_y="NEXT")
        return
    pdf.set_font("Helvetica", size=8)
    with pdf.table(col_widths=widths, width=sum(widths), align="LEFT",
                   first_row_as_headings=True) as table:
        for cells in [headers, *rows]:
            line = table.row()
            for cell in cells:
                line.cell(_text(cell))
