"""An item's figures as plain text for JUnit XML's ``<system-out>``.

CI dashboards read JUnit XML differently: GitLab shows a test case's name, class, time,
failure and ``<system-out>`` but ignores ``<properties>``, and pytest warns on
``record_property`` under its default ``junit_family=xunit2``. ``<system-out>`` is valid
in every family and shown everywhere, so the figures go there, one ``name: value`` per
line. A figure that was not measured is left out (never written as 0); a model call
without a price says ``cost_usd: unknown``.
"""

from __future__ import annotations

from typing import Any

HEADER = "llmbench figures"
_FIGURES = (("outcome", "{}"), ("score", "{:g}"), ("latency_s", "{:.4f}"), ("ttft_s", "{:.4f}"),
            ("input_tokens", "{}"), ("output_tokens", "{}"), ("output_tps", "{:.1f}"),
            ("cost_usd", "{:.6f}"), ("attempts", "{}"), ("cached_calls", "{}"),
            ("finish_reason", "{}"), ("error_kind", "{}"))
_NAMES = ("suite", "case_id", "model", "variant", "target")


def _verdict(record: dict[str, Any]) -> str | None:
    details = record.get("score_details") or {}
    verdict = details.get("verdict")
    return str(verdict) if verdict is not None else None


def figures_text(record: dict[str, Any]) -> str:
    """``name: value`` lines: which item, then its measured figures."""
    lines = [f"{HEADER}:"]
    lines += [f"{name}: {record[name]}" for name in _NAMES if record.get(name)]
    for name, fmt in _FIGURES:
        value = record.get(name)
        if value is None or (name in ("attempts", "cached_calls") and not record.get("calls")):
            if name == "cost_usd" and record.get("calls"):
                lines.append("cost_usd: unknown")
            continue
        lines.append(f"{name}: {fmt.format(value)}")
    verdict = _verdict(record)
    if verdict is not None:
        lines.append(f"verdict: {verdict}")
    if record.get("extraction_failed"):
        lines.append("extraction_failed: true")
    for name, value in sorted((record.get("metrics") or {}).items()):
        if isinstance(value, int | float | str | bool):
            lines.append(f"metric.{name}: {value}")
    return "\n".join(lines) + "\n"


__all__ = ["HEADER", "figures_text"]
