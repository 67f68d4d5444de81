"""Server-drawn SVG charts (no script, nothing fetched): accuracy bars with their 95%
intervals per suite, and a metric's line over time with regressions marked."""

from __future__ import annotations

from typing import Any

WIDTH = 640
BAR_H = 22


def accuracy_bars(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per suite: one bar per model (x in px of WIDTH - label space)."""
    charts: dict[str, list[dict[str, Any]]] = {}
    span = WIDTH - 270
    for row in rows:
        if row.get("accuracy") is None:
            continue
        bars = charts.setdefault(str(row["suite"]), [])
        low, high = row.get("accuracy_ci_low"), row.get("accuracy_ci_high")
        bars.append({"label": row["model"] + (f"@{row['target']}" if row.get("target") else ""),
                     "y": len(bars) * (BAR_H + 6), "w": 2 + span * row["accuracy"],
                     "value": f"{row['accuracy']:.1%}",
                     "ci": None if low is None or high is None else (span * low, span * high)})
    return [{"suite": suite, "bars": bars, "height": len(bars) * (BAR_H + 6) + 4}
            for suite, bars in sorted(charts.items())]


def trend_line(points: list[dict[str, Any]], height: int = 160) -> dict[str, Any] | None:
    values = [p["value"] for p in points if p["value"] is not None]
    if not values:
        return None
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo - (abs(lo) * 0.1 or 1), hi + (abs(hi) * 0.1 or 1)
    n = len(points)
    left, right, top, bottom = 60, 20, 12, 24
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    dots = []
    for i, p in enumerate(points):
        if p["value"] is None:
            continue
        x = left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        y = top + plot_h * (1 - (p["value"] - lo) / (hi - lo))
        dots.append({"x": round(x, 1), "y": round(y, 1), **p})
    return {"width": WIDTH, "height": height, "lo": lo, "hi": hi, "top": top,
            "bottom": height - bottom, "left": left,
            "path": " ".join(f"{'M' if i == 0 else 'L'}{d['x']},{d['y']}" for i, d in enumerate(dots)),
            "dots": dots}
