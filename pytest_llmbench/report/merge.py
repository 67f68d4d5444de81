"""``llmbench merge``: one run directory from runs measured side by side on several hosts.

Several load generators driving one server (one host's client would be the
bottleneck) each write their own run directory. Merging pools every serving
point that has the same test id from the raw samples: each window is placed on
one time axis by its wall-clock start, percentiles are recomputed from the
pooled requests (never averaged), throughput divides by the union window (first
send on any host -> last answer on any host) and the SLOs are checked again.
Other records are concatenated. The merged directory gets records, samples,
summary, benchmarks.json and report.html like a pytest run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.report.files import RecordsCsv, write_summary
from pytest_llmbench.report.html import write_report
from pytest_llmbench.results.compare_targets import add_target_columns
from pytest_llmbench.results.record import is_serving
from pytest_llmbench.results.run_dir import RECORDS_FILE, RUN_FILE, read_records, write_json
from pytest_llmbench.results.shard_merge import check_shards, dedupe
from pytest_llmbench.results.summary import SummaryBuilder
from pytest_llmbench.serving.export import write_benchmarks
from pytest_llmbench.serving.metrics import check_slos, summarize
from pytest_llmbench.serving.samples import (
    PointSamples,
    has_samples,
    pool_windows,
    read_samples,
    write_samples,
)
from pytest_llmbench.serving.scenario import Slo


@dataclass
class SourceRun:
    path: Path
    info: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def host(self) -> str:
        return str((self.info.get("machine") or {}).get("node") or self.path.name)

    @property
    def label(self) -> str:
        return f"{self.host} ({self.info.get('run_id') or self.path.name})"


def load_source(path: Path) -> SourceRun:
    info_path = path / RUN_FILE
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        records = read_records(path)
    except FileNotFoundError as exc:
        missing = Path(str(exc.filename)).name
        raise LLMBenchError(f"{path}: not a run directory ({missing} is missing)") from None
    except json.JSONDecodeError as exc:
        raise LLMBenchError(f"{info_path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    return SourceRun(path, info, records)


def merge_runs(paths: list[Path], out: Path | None = None) -> Path:
    """Merge the run directories ``paths`` into the new directory ``out``; returns it.

    Shards of one run (``--llmbench-shard``) merge into ``<output>/<run_id>`` unless ``out``
    says otherwise, each item once; what does not add up (a shard missing, an assigned item
    without a record, duplicates that disagree) is listed in run.json's ``merge_problems``.
    """
    if len({p.resolve() for p in paths}) < len(paths):
        raise LLMBenchError("a run directory is given twice")
    sources = [load_source(p) for p in paths]
    shards = check_shards([(s.path, s.info) for s in sources])
    if len(paths) < 2 and shards is None:
        raise LLMBenchError("merge needs at least two run directories (or the shards of a run)")
    if out is None:
        if shards is None or not shards.run_id:
            raise LLMBenchError("-o DIR is needed: these runs are not shards of one run")
        out = paths[0].parent / shards.run_id
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise LLMBenchError(f"-o {out}: exists and is not empty; name a new directory")
    out.mkdir(parents=True, exist_ok=True)
    run_id = shards.run_id if shards and shards.run_id else out.name
    records = _merged_records(sources, out)
    if shards is not None:
        records = dedupe([(str(r.get("worker")), r) for r in records], shards)
    for record in records:
        record["run_id"] = run_id
    info = _merged_info(sources, run_id, records)
    if shards is not None:
        info["shards"] = {"count": shards.count, "present": sorted(shards.present)}
        info["merge_problems"] = shards.problems
        if shards.problems:
            info["status"] = "partial"
    write_json(out / RUN_FILE, info)
    with (out / RECORDS_FILE).open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    table = RecordsCsv(out)
    summary = SummaryBuilder()
    for record in records:
        table.append(record)
        summary.add(record)
    table.close()
    targets = {t["name"]: t for t in info.get("targets") or [] if isinstance(t, dict)}
    rows = add_target_columns(summary.rows(), targets,
                              info.get("baselines") or info.get("baseline_target"))
    write_summary(out, rows, {"run_id": run_id, "gate_failures": [],
                              "merged_from": info["merged_from"]})
    if any(has_samples(r) for r in records):
        write_benchmarks(out, records)
    write_report(out)
    return out


def _merged_records(sources: list[SourceRun], out: Path) -> list[dict[str, Any]]:
    """Records in first-seen order; serving points of the same test id pooled into one."""
    order: list[tuple[str, Any]] = []
    points: dict[str, list[tuple[SourceRun, dict[str, Any]]]] = {}
    for source in sources:
        for record in source.records:
            if is_serving(record):
                nodeid = str(record["nodeid"])
                if nodeid not in points:
                    order.append(("point", nodeid))
                points.setdefault(nodeid, []).append((source, record))
            else:
                order.append(("record", {**record, "worker": _origin(source, record)}))
    return [pool_point(points[value], out) if kind == "point" else value
            for kind, value in order]


def _origin(source: SourceRun, record: dict[str, Any]) -> str:
    """Where a record was made: its worker, on its shard or host."""
    shard = source.info.get("shard")
    where = f"shard {shard.get('index')}" if isinstance(shard, dict) else source.host
    return f"{where}/{record.get('worker') or 'main'}"


def pool_point(parts: list[tuple[SourceRun, dict[str, Any]]], out: Path) -> dict[str, Any]:
    """One serving record from the same point measured on several hosts."""
    measured = [(source, record, read_samples(source.path, record))
                for source, record in parts if has_samples(record)]
    first = dict(parts[0][1])
    metrics = dict(first.get("metrics") or {})
    metrics["merged_from"] = [{"host": s.host, "run_id": s.info.get("run_id"),
                               "outcome": r.get("outcome"), "error": r.get("error"),
                               "requests": (r["metrics"].get("serving") or {}).get("requests")}
                              for s, r in parts]
    first["metrics"] = metrics
    first["worker"] = "merged"
    if not measured:  # nothing was measured anywhere: the first host's error stands
        return first
    window, started = pool_windows([p for _, _, p in measured])
    slos = tuple(Slo(**slo) for slo in (metrics.get("point") or {}).get("slos") or ())
    summary = summarize(window, slos)
    failures = check_slos(summary, slos)
    completed = summary["completed"] > 0
    first.update(
        outcome="error" if not completed else "failed" if failures else "passed",
        score=None if not completed else 0.0 if failures else 1.0,
        error=None if completed else f"all {summary['requests']} requests failed on every host",
        error_kind=None if completed else "provider",
        input_tokens=summary["input_tokens"], output_tokens=summary["output_tokens"],
        started_at=_extreme(min, [r.get("started_at") for _, r, _ in measured]),
        finished_at=_extreme(max, [r.get("finished_at") for _, r, _ in measured]),
        duration_s=_extreme(max, [r.get("duration_s") for _, r, _ in measured]))
    metrics.update(serving=summary, slo_failures=failures,
                   harness=_harness([(s, r) for s, r, _ in measured]),
                   samples_file=write_samples(out, str(first["nodeid"]),
                                              PointSamples(window, started)))
    return first


def _harness(parts: list[tuple[SourceRun, dict[str, Any]]]) -> dict[str, Any]:
    """Each host's harness figures, the worst of each, and why any host was unreliable."""
    hosts = [{"host": s.host, **(r["metrics"].get("harness") or {})} for s, r in parts]

    def worst(key: str) -> float:
        values = [h[key] for h in hosts if isinstance(h.get(key), int | float)]
        return max(values) if values else 0.0

    reasons = [f"{h['host']}: {h['unreliable']}" for h in hosts if h.get("unreliable")]
    return {"cpu_cores": worst("cpu_cores"),
            "cpu_s": sum(h.get("cpu_s") or 0.0 for h in hosts),
            "loop_lag_p99_ms": worst("loop_lag_p99_ms"),
            "loop_lag_max_ms": worst("loop_lag_max_ms"),
            "unreliable": "; ".join(reasons) or None, "hosts": hosts}


def _extreme(pick: Any, values: list[Any]) -> float | None:
    known = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    return pick(known) if known else None


def _merged_info(sources: list[SourceRun], run_id: str,
                 records: list[dict[str, Any]]) -> dict[str, Any]:
    """run.json of the merged run: the first run's settings, every run named in
    ``merged_from``, the union of models and targets, the earliest start, the last end."""
    info = {k: v for k, v in sources[0].info.items()
            if k not in ("run_id", "pytest_args", "machine", "baseline", "regression_failures",
                         "gate_failures", "workers")}
    models: dict[str, Any] = {}
    targets: dict[str, Any] = {}
    for source in sources:
        for model in source.info.get("models") or []:
            models.setdefault(model.get("name"), model)
        for target in source.info.get("targets") or []:
            targets.setdefault(target.get("name"), target)
    commits = {str((s.info.get("git") or {}).get("commit")) for s in sources}
    info.update(
        run_id=run_id,
        status="completed" if all(s.info.get("status") == "completed" for s in sources)
        else "partial",
        started_at=_extreme(min, [s.info.get("started_at") for s in sources]),
        finished_at=_extreme(max, [s.info.get("finished_at") for s in sources]),
        models=list(models.values()), targets=list(targets.values()),
        suites=sorted({str(r["suite"]) for r in records}), gate_failures=[],
        machine={"hosts": [s.host for s in sources]},
        merged_from=[{"run_id": s.info.get("run_id"), "path": str(s.path), "host": s.host,
                      "started_at": s.info.get("started_at"), "status": s.info.get("status"),
                      "commit": (s.info.get("git") or {}).get("commit"),
                      "machine": s.info.get("machine")} for s in sources])
    if not targets:
        info.pop("targets")
    if len(commits) > 1:
        info["git"] = None  # the hosts ran different code; merged_from says which
    return info
