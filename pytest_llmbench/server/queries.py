"""What the pages and the JSON API show, read from the database: the runs list, a run
with its summary (computed from its items with ``results.summary`` and cached until the
next ingest), pages of items, one item, comparisons and trends.

Every filter is a bound parameter through the ORM; nothing user-given is spliced into SQL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from pytest_llmbench.report.compare import FLAG_RATE_POINTS, FLAG_RELATIVE, compare
from pytest_llmbench.report.compare_sides import side_from_records
from pytest_llmbench.report.export_data import rankings
from pytest_llmbench.report.serving_view import serving_view
from pytest_llmbench.results.record import is_serving
from pytest_llmbench.results.regression import RATES, higher_is_better
from pytest_llmbench.results.summary import SummaryBuilder
from pytest_llmbench.server.db import Database
from pytest_llmbench.server.models import Item, Run

MAX_PER_PAGE = 500
_S = TypeVar("_S", bound=Select)  # type: ignore[type-arg]
TREND_METRICS = ("accuracy", "latency_p95", "output_tps", "cost_usd", "error_rate")


class NotFound(LookupError):
    pass


@dataclass
class RunFilter:
    suite: str | None = None
    model: str | None = None
    target: str | None = None
    tag: str | None = None
    status: str | None = None
    since: float | None = None
    until: float | None = None
    text: str | None = None
    page: int = 1
    per_page: int = 50

    def apply(self, stmt: _S) -> _S:
        for column, value in ((Run.suites, self.suite), (Run.models, self.model),
                              (Run.targets, self.target), (Run.tags, self.tag)):
            if value:
                stmt = stmt.where(column.contains(f" {value.replace(' ', '_')} ", autoescape=True))
        if self.status:
            stmt = stmt.where(Run.status == self.status)
        if self.since is not None:
            stmt = stmt.where(Run.started_at >= self.since)
        if self.until is not None:
            stmt = stmt.where(Run.started_at <= self.until)
        if self.text:
            like = f"%{self.text.lower()}%"
            stmt = stmt.where(or_(func.lower(Run.run_id).like(like),
                                  func.lower(func.coalesce(Run.annotation, "")).like(like),
                                  func.lower(Run.models).like(like), func.lower(Run.suites).like(like),
                                  func.lower(Run.tags).like(like)))
        return stmt


def _run_dict(run: Run) -> dict[str, Any]:
    info = orjson.loads(run.info_json or "{}")
    git = info.get("git") or {}
    return {"run_id": run.run_id, "status": run.status, "started_at": run.started_at,
            "finished_at": run.finished_at, "items": run.item_count,
            "suites": run.suites.split(), "models": run.models.split(),
            "targets": run.targets.split(), "tags": run.tags.split(), "annotation": run.annotation,
            "commit": git.get("commit"), "branch": git.get("branch"), "updated_at": run.updated_at}


def list_runs(db: Database, flt: RunFilter) -> dict[str, Any]:
    per_page = max(1, min(flt.per_page, MAX_PER_PAGE))
    page = max(1, flt.page)
    with db.session() as session:
        total = session.scalar(flt.apply(select(func.count(Run.id)))) or 0
        rows = session.scalars(flt.apply(select(Run)).order_by(
            func.coalesce(Run.started_at, Run.created_at).desc(), Run.id.desc())
            .offset((page - 1) * per_page).limit(per_page)).all()
        return {"total": total, "page": page, "per_page": per_page,
                "pages": max(1, -(-total // per_page)), "runs": [_run_dict(r) for r in rows]}


def _get_run(session: Session, run_id: str) -> Run:
    run = session.scalar(select(Run).where(Run.run_id == run_id))
    if run is None:
        raise NotFound(f"no run {run_id!r}")
    return run


def records(session: Session, run_pk: int) -> list[dict[str, Any]]:
    return [orjson.loads(d) for d in session.scalars(
        select(Item.data).where(Item.run_pk == run_pk).order_by(Item.id))]


def _summary(db: Database, run_id: str) -> dict[str, Any]:
    """The run's model x suite rows and serving points, recomputed from its items after an
    ingest changed them (streamed), then cached on the run row."""
    with db.session() as session:
        run = _get_run(session, run_id)
        if not run.summary_stale and run.summary_json is not None:
            cached = orjson.loads(run.summary_json)
            return cached if isinstance(cached, dict) else {"rows": cached, "serving": []}
        stamp = run.updated_at
        builder = SummaryBuilder()
        serving: list[dict[str, Any]] = []
        for data in session.scalars(select(Item.data).where(Item.run_pk == run.id)
                                    .order_by(Item.id).execution_options(yield_per=2000)):
            record = orjson.loads(data)
            builder.add(record)  # streamed: memory holds the figures, not the records
            if is_serving(record):
                serving.append(record)
        doc = {"rows": builder.rows(), "serving": serving_points(serving)}
    with db.write() as session:  # only if nothing was ingested meanwhile
        session.execute(update(Run).where(Run.run_id == run_id, Run.updated_at == stamp)
                        .values(summary_json=orjson.dumps(doc).decode(), summary_stale=False))
    return doc


def serving_points(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """report.html's serving figures per point (the per-request samples stay in the run
    directory; the server has each point's statistics)."""
    points = serving_view(records, Path("/nonexistent"))
    return [{k: v for k, v in p.items() if k not in ("series", "series_error")} for p in points]


def summary_rows(db: Database, run_id: str) -> list[dict[str, Any]]:
    return list(_summary(db, run_id)["rows"])


def run_detail(db: Database, run_id: str) -> dict[str, Any]:
    summary = _summary(db, run_id)
    rows = summary["rows"]
    with db.session() as session:
        run = _get_run(session, run_id)
        outcomes = {name: sum(int(r.get(key) or 0) for r in rows)  # from the cached summary
                    for name, key in (("passed", "passed"), ("failed", "failed"),
                                      ("error", "errors"), ("skipped", "skipped"))}
        return {**_run_dict(run), "info": orjson.loads(run.info_json or "{}"), "summary": rows,
                "serving": summary["serving"],
                "rankings": rankings(rows), "outcomes": outcomes,
                "compare": orjson.loads(run.compare_json) if run.compare_json else None}


@dataclass
class ItemFilter:
    outcome: str | None = None
    model: str | None = None
    suite: str | None = None
    target: str | None = None
    text: str | None = None
    page: int = 1
    per_page: int = 50
    extra: dict[str, str] = field(default_factory=dict)

    def apply(self, stmt: _S) -> _S:
        for column, value in ((Item.outcome, self.outcome), (Item.model, self.model),
                              (Item.suite, self.suite), (Item.target, self.target)):
            if value:
                stmt = stmt.where(column == value)
        if self.text:
            like = f"%{self.text}%"
            stmt = stmt.where(or_(Item.case_id.contains(self.text, autoescape=True),
                                  Item.nodeid.contains(self.text, autoescape=True),
                                  Item.error.like(like)))
        return stmt


_ITEM_COLUMNS = (Item.id, Item.nodeid, Item.suite, Item.case_id, Item.model, Item.target,
                 Item.variant, Item.outcome, Item.score, Item.latency_s, Item.cost_usd, Item.error)


def items_page(db: Database, run_id: str, flt: ItemFilter) -> dict[str, Any]:
    per_page = max(1, min(flt.per_page, MAX_PER_PAGE))
    page = max(1, flt.page)
    with db.session() as session:
        run = _get_run(session, run_id)
        base = select(func.count(Item.id)).where(Item.run_pk == run.id)
        total = session.scalar(flt.apply(base)) or 0
        rows = session.execute(flt.apply(select(*_ITEM_COLUMNS).where(Item.run_pk == run.id))
                               .order_by(Item.id).offset((page - 1) * per_page).limit(per_page)).all()
        models = run.models.split()
    return {"run_id": run_id, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, -(-total // per_page)), "models": sorted(models),
            "items": [dict(r._mapping) for r in rows]}


def item_detail(db: Database, run_id: str, item_id: int) -> dict[str, Any]:
    with db.session() as session:
        run = _get_run(session, run_id)
        item = session.scalar(select(Item).where(Item.run_pk == run.id, Item.id == item_id))
        if item is None:
            raise NotFound(f"no item {item_id} in run {run_id!r}")
        return {"run_id": run_id, "id": item.id, "record": orjson.loads(item.data)}


def tag_run(db: Database, run_id: str, add: list[str], remove: list[str]) -> list[str]:
    with db.write() as session:
        run = _get_run(session, run_id)
        tags = (set(run.tags.split()) | {t.strip().replace(" ", "_") for t in add if t.strip()}) \
            - {t.strip().replace(" ", "_") for t in remove}
        run.tags = f" {' '.join(sorted(tags))} " if tags else ""
        run.updated_at = time.time()
        return sorted(tags)


def annotate_run(db: Database, run_id: str, text: str | None) -> None:
    with db.write() as session:
        run = _get_run(session, run_id)
        run.annotation = text or None


def delete_run(db: Database, run_id: str) -> None:
    with db.write() as session:
        run = _get_run(session, run_id)
        session.execute(delete(Item).where(Item.run_pk == run.id))  # without relying on cascades
        session.delete(run)


def start_times(db: Database, run_ids: list[str]) -> dict[str, float | None]:
    with db.session() as session:
        return {r: s for r, s in session.execute(
            select(Run.run_id, func.coalesce(Run.started_at, Run.created_at))
            .where(Run.run_id.in_(run_ids))).all()}


def run_records(db: Database, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with db.session() as session:
        run = _get_run(session, run_id)
        return orjson.loads(run.info_json or "{}") | {"run_id": run.run_id}, records(session, run.id)


def compare_runs(db: Database, run_ids: list[str], *, regressions_only: bool = False,
                 page: int = 1, per_page: int = 50) -> dict[str, Any]:
    """``llmbench compare``'s document for runs in the database, with the case x model
    matrix: every (suite, case) with each run's verdict and answer per model."""
    sides = []
    loaded = []
    for run_id in run_ids:
        info, recs = run_records(db, run_id)
        loaded.append((run_id, recs))
        sides.append(side_from_records(Path(run_id), info, recs))
    doc = compare(sides)
    cells: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for run_id, recs in loaded:
        for r in recs:
            cell = {"outcome": r.get("outcome"), "score": r.get("score"),
                    "response": (r.get("response") or "")[:300], "expected": r.get("expected")}
            cells.setdefault((r["suite"], str(r["case_id"])), {})[f"{run_id}|{_model(r)}"] = cell
    models = sorted({_model(r) for _, recs in loaded for r in recs})
    rows = []
    base = run_ids[0]
    for (suite, case), by in sorted(cells.items()):
        regressed = [m for m in models for cand in run_ids[1:]
                     if (by.get(f"{base}|{m}") or {}).get("outcome") == "passed"
                     and (by.get(f"{cand}|{m}") or {}).get("outcome") in ("failed", "error")]
        if regressions_only and not regressed:
            continue
        rows.append({"suite": suite, "case_id": case, "regressed_models": sorted(set(regressed)),
                     "cells": {key: by.get(key) for key in
                               (f"{run}|{m}" for m in models for run in run_ids)}})
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    total = len(rows)
    doc["matrix"] = {"runs": run_ids, "models": models, "total": total, "page": page,
                     "per_page": per_page, "pages": max(1, -(-total // per_page)),
                     "regressions_only": regressions_only,
                     "rows": rows[(page - 1) * per_page:page * per_page]}
    return doc


def _model(r: dict[str, Any]) -> str:
    name = f"{r['model']}/{r['variant']}" if r.get("variant") else str(r["model"])
    return f"{name}@{r['target']}" if r.get("target") else name


def _regressed(metric: str, prev: dict[str, Any], cur: dict[str, Any]) -> bool:
    """A trend point is marked when it is worse than the one before by more than compare's
    thresholds; for accuracy, when the previous value lies above the current 95% interval."""
    base, value = prev.get(metric), cur.get(metric)
    if base is None or value is None:
        return False
    if metric == "accuracy":
        high = cur.get("accuracy_ci_high")
        return high is not None and base > high
    worse = (base - value) if higher_is_better(metric) else (value - base)
    if worse <= 0:
        return False
    return bool(worse > FLAG_RATE_POINTS if metric in RATES
                else base == 0 or worse / abs(base) > FLAG_RELATIVE)


def trends(db: Database, metric: str, flt: RunFilter, limit: int = 200) -> dict[str, Any]:
    if metric not in TREND_METRICS:
        raise ValueError(f"metric must be one of {', '.join(TREND_METRICS)}")
    with db.session() as session:
        runs = session.execute(flt.apply(select(Run.run_id, Run.started_at, Run.created_at))
                               .order_by(func.coalesce(Run.started_at, Run.created_at).desc())
                               .limit(limit)).all()
    series: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
    for run_id, started, created in reversed(runs):
        for row in summary_rows(db, run_id):
            if flt.suite and row["suite"] != flt.suite or flt.model and row["model"] != flt.model:
                continue
            key = (row["suite"], row["model"] + (f"/{row['variant']}" if row.get("variant") else ""),
                   row.get("target"))
            points = series.setdefault(key, [])
            regression = bool(points) and _regressed(metric, points[-1]["row"], row)
            point = {"run_id": run_id, "at": started or created, "value": row.get(metric),
                     "n": row.get("n"), "regression": regression, "row": row}
            points.append(point)
    out = []
    for (suite, model, target), points in sorted(series.items(),
                                                 key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")):
        out.append({"suite": suite, "model": model, "target": target,
                    "points": [{k: v for k, v in p.items() if k != "row"} for p in points]})
    return {"metric": metric, "higher_is_better": higher_is_better(metric), "series": out}
