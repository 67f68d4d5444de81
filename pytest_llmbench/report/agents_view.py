"""report.html sections for agent tasks: the summary and rankings, then each task's
transcript turn by turn (tool calls and outputs collapsed) and its final diff."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from pytest_llmbench.results.agents import rankings
from pytest_llmbench.results.summary import k_order

OUTPUT_LIMIT = 4000


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return escape(str(value))


def _timed_columns(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(key, heading) of the optimisation-task columns, when a row has timed tasks."""
    if not any(r.get("timed_tasks") for r in rows):
        return []
    per_k = sorted({k for r in rows for k in r if k.startswith(("speedup_at_", "opt_at_"))},
                   key=k_order)
    return [(k, k.replace("_at_", "@")) for k in per_k] + [
        ("median_speedup_solved", "median speedup (solved)"),
        ("median_human_speedup", "human speedup")]


def summary_html(rows: list[dict[str, Any]]) -> str:
    timed = _timed_columns(rows)
    head = ("<tr><th>suite</th><th>model</th><th>tasks</th><th>solved</th><th>solve rate "
            "[95% CI]</th><th>median turns (solved)</th><th>median calls (solved)</th>"
            "<th>median wall s (solved)</th><th>cost per solved $</th>"
            + "".join(f"<th>{escape(title)}</th>" for _, title in timed)
            + "<th>errors</th></tr>")
    body = []
    for r in rows:
        ci = r["solve_rate_ci"]
        rate = ("–" if r["solve_rate"] is None else
                f"{100 * r['solve_rate']:.1f}% [{100 * ci[0]:.1f}%, {100 * ci[1]:.1f}%]")
        body.append(f"<tr><td>{escape(r['suite'])}</td><td>{escape(r['model'])}</td>"
                    f"<td>{r['tasks']}</td><td>{r['solved']}</td><td>{rate}</td>"
                    f"<td>{_fmt(r['median_turns_solved'])}</td>"
                    f"<td>{_fmt(r['median_calls_solved'])}</td>"
                    f"<td>{_fmt(r['median_wall_s_solved'])}</td>"
                    f"<td>{_fmt(r['cost_per_solved_usd'])}</td>"
                    + "".join(f"<td>{_fmt(r.get(key))}</td>" for key, _ in timed)
                    + f"<td>{r['errors']}</td></tr>")
    ranks = []
    for suite, lists in rankings(rows).items():
        for entry in lists:
            order = ", ".join(f"{escape(o['model'])} ({_fmt(o['value'])})"
                              for o in entry["order"]) or "– (no model has this figure)"
            ranks.append(f"<li><b>{escape(suite)} – {escape(entry['ranking'])}</b>: "
                         f"{order}</li>")
    return (f"<div class='table-wrap'><table class='agents data'>{head}{''.join(body)}</table></div>"
            f"<ul class='agent-rankings'>{''.join(ranks)}</ul>")


def perf_line(perf: dict[str, Any]) -> str:
    """Baseline / human / agent timings of an optimisation task (medians, seconds)."""
    def part(name: str, speedup: str | None) -> str:
        seconds = perf.get(f"{name}_s")
        if seconds is None:
            why = perf.get(f"{name}_reason")
            return f"{name} –" + (f" ({escape(why)})" if why else "")
        ratio = f" ({_fmt(perf.get(speedup))}x)" if speedup else ""
        given = " (given)" if name == "baseline" and perf.get("baseline_given") else ""
        return f"{name} {_fmt(seconds)} s{given}{ratio}"

    shown = [part("baseline", None)]
    if "human_s" in perf:
        shown.append(part("human", "human_speedup"))
    shown.append(part("agent", "speedup") if "agent_s" in perf else
                 f"agent – ({escape(perf.get('reason') or '')})")
    return (f"timing <code>{escape(perf.get('command') or '')}</code> (median of "
            f"{perf.get('repeat')}): " + ", ".join(shown))


def _clip(text: str) -> str:
    return text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT] + "\n…"


def transcript_html(record: dict[str, Any], entry: dict[str, Any] | None) -> str:
    metrics = record["metrics"]
    verdict = "solved" if metrics.get("solved") else record["outcome"]
    who = record["model"] + (f" \u00b7 {record['variant']}" if record.get("variant") else "")
    title = (f"{escape(who)} / {escape(record['case_id'])} — {verdict}; stop: "
             f"{_fmt(metrics.get('stop_reason'))}, turns {_fmt(metrics.get('turns'))}, "
             f"+{_fmt(metrics.get('lines_added'))}/-{_fmt(metrics.get('lines_removed'))}"
             + (f", speedup {_fmt(metrics['perf']['speedup'])}x"
                if (metrics.get("perf") or {}).get("speedup") is not None else ""))
    parts = [f"<details class='agent-task'><summary>{title}</summary>"]
    if record.get("error"):
        parts.append(f"<p class='error'>{escape(record['error'])}</p>")
    messages = (entry or {}).get("attempts", [{}])[-1].get("messages", []) if entry else []
    turn = 0
    for message in messages:
        role = message.get("role")
        if role == "system":
            continue
        if role == "user":
            parts.append(f"<div class='turn user'><b>user</b><pre class='wrap'>"
                         f"{escape(_clip(message.get('content') or ''))}</pre></div>")
        elif role == "assistant":
            turn += 1
            text = message.get("content") or ""
            calls = "".join(
                f"<details class='tool-call'><summary>{escape(c['name'])}</summary><pre class='wrap'>"
                f"{escape(_clip(c.get('arguments') or ''))}</pre></details>"
                for c in message.get("tool_calls") or [])
            parts.append(f"<div class='turn assistant'><b>turn {turn}</b>"
                         f"{'<p>' + escape(_clip(text)) + '</p>' if text else ''}{calls}</div>")
        elif role == "tool":
            flag = " (error)" if message.get("error") else ""
            parts.append(f"<details class='tool-output'><summary>{escape(message['name'])} "
                         f"output{flag}</summary><pre class='wrap'>{escape(_clip(message['content']))}"
                         "</pre></details>")
    perf = metrics.get("perf")
    if perf:
        parts.append(f"<p class='agent-perf'>{perf_line(perf)}</p>")
    check = metrics.get("check")
    if check:
        parts.append(f"<details class='check'><summary>check: {escape(check['reason'])}"
                     f"</summary><pre class='wrap'>{escape(_clip(check.get('output') or ''))}"
                     "</pre></details>")
    diff = metrics.get("diff")
    parts.append("<details class='diff' open><summary>final diff</summary><pre class='wrap'>"
                 f"{escape(diff) if diff else '(no change)'}</pre></details>"
                 if diff is not None else "")
    parts.append("</details>")
    return "".join(parts)


def transcripts(run_path: Path, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The transcript entries the records point to, by node id."""
    wanted: dict[str, set[str]] = {}
    for record in records:
        pointer = record["metrics"].get("transcript") or {}
        if pointer.get("file"):
            wanted.setdefault(pointer["file"], set()).add(pointer["nodeid"])
    found: dict[str, dict[str, Any]] = {}
    for name, nodeids in wanted.items():
        path = (run_path / name).resolve()
        if not path.is_relative_to(run_path.resolve()) or not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("nodeid") in nodeids:
                found[entry["nodeid"]] = entry
    return found


def sections(run_path: Path, rows: list[dict[str, Any]], records: list[dict[str, Any]]
             ) -> list[tuple[str, str]]:
    if not rows:
        return []
    entries = transcripts(run_path, records)
    tasks = "".join(transcript_html(r, entries.get(r["nodeid"])) for r in records)
    style = "<style>pre.wrap{white-space:pre-wrap}</style>"
    return [("Agent tasks", summary_html(rows)), ("Agent transcripts", style + tasks)]


TIME_COLUMNS = (("tasks", "agent_tasks"), ("median wall s", "agent_wall_p50_s"),
                ("model time s", "agent_model_time_s"), ("tool time s", "agent_tool_time_s"),
                ("output tok/s (generation)", "agent_output_tps"),
                ("TTFT p50 s (per call)", "agent_call_ttft_p50_s"))


def time_html(rows: list[dict[str, Any]]) -> str | None:
    """Where an agent suite's time went, from the summary rows' ``agent_*`` figures (a task
    of many calls has no single latency: these stand in for the per-call columns)."""
    rows = [r for r in rows if r.get("agent_tasks")]
    if not rows:
        return None
    head = "".join(f"<th>{escape(title)}</th>" for title, _ in TIME_COLUMNS)
    body = "".join(
        f"<tr><td>{escape(str(r['suite']))}</td><td>{escape(str(r['model']))}</td>"
        + "".join(f"<td>{_fmt(r.get(key))}</td>" for _, key in TIME_COLUMNS) + "</tr>"
        for r in rows)
    return f"<table class='agents'><tr><th>suite</th><th>model</th>{head}</tr>{body}</table>"
