"""A serving point's raw samples on disk: ``serving/<test>-<hash>.json`` in the run directory.

Every figure of a point is recomputed from these files (merging across hosts,
comparing runs, the report's latency-over-time chart), so they keep each
request's timings and the window's wall-clock start: windows measured side by
side on several hosts line up on one time axis (as far as the hosts' clocks
agree) and their union gives the pooled throughput.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.results.record import is_serving
from pytest_llmbench.results.run_dir import write_json
from pytest_llmbench.serving.metrics import RequestSample, Window, merge

SAMPLES_DIR = "serving"


@dataclass
class PointSamples:
    """A window with where it sat on the wall clock (``started_at``: unix seconds, or None
    for files written before it was kept)."""

    window: Window
    started_at: float | None = None


def samples_path(nodeid: str) -> str:
    """The run-relative file of a test's samples (the hash keeps same-named tests of other
    files apart)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::")[-1]).strip("_") or "point"
    digest = hashlib.sha256(nodeid.encode()).hexdigest()[:8]
    return f"{SAMPLES_DIR}/{name}-{digest}.json"


def write_samples(run_dir: Path, nodeid: str, point: PointSamples) -> str:
    """Write the samples; returns the path relative to the run directory."""
    relative = samples_path(nodeid)
    path = run_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"nodeid": nodeid, "duration_s": point.window.duration_s,
                      "started_at": point.started_at,
                      "samples": [s.to_dict() for s in point.window.samples]})
    return relative


def read_samples(run_dir: Path, record: dict[str, Any]) -> PointSamples:
    """The samples a serving record names; a clear error naming the file when it is gone
    or damaged."""
    path = run_dir / record["metrics"]["samples_file"]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        samples = [RequestSample.from_dict(s) for s in data["samples"]]
        window = Window(samples, float(data["duration_s"]))
    except OSError as exc:
        raise LLMBenchError(f"{path}: cannot read the serving samples ({exc.strerror})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise LLMBenchError(f"{path}: not a serving samples file ({exc})") from None
    started = data.get("started_at")
    return PointSamples(window, float(started) if isinstance(started, int | float) else None)


def has_samples(record: dict[str, Any]) -> bool:
    return is_serving(record) and bool(record["metrics"].get("samples_file"))


def pool_windows(parts: list[PointSamples]) -> tuple[Window, float | None]:
    """The pooled window of one point measured side by side (hosts, or the processes of a
    split point) and its wall-clock start. With every start known, each part's send
    times move onto the earliest start's axis and the window is their union; otherwise
    the windows are taken as simultaneous (the longest one's wall time)."""
    starts = [p.started_at for p in parts]
    if any(s is None for s in starts):
        return merge(p.window for p in parts), None
    origin = min(s for s in starts if s is not None)
    samples = []
    end = 0.0
    for part in parts:
        offset = (part.started_at or origin) - origin
        samples += [replace(s, sent=s.sent + offset) for s in part.window.samples]
        end = max(end, offset + part.window.duration_s)
    samples.sort(key=lambda s: s.sent)
    return Window(samples, end), origin
