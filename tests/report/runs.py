"""Synthetic run directories with known differences, for comparison tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def make_run(base: Path, run_id: str, results: dict[str, bool], *, latency: float = 1.0,
             model: str = "m", suite: str = "s", target: str | None = None,
             started_at: float = 0.0, tps: float = 50.0, commit: str | None = None) -> Path:
    """A run folder whose records pass or fail per case id, all with the same latency."""
    path = base / run_id
    path.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {"run_id": run_id, "started_at": started_at, "status": "completed"}
    if commit:
        info["git"] = {"commit": commit, "branch": "main", "dirty": False}
    (path / "run.json").write_text(json.dumps(info))
    with (path / "records.jsonl").open("a") as handle:
        for case_id, passed in results.items():
            handle.write(json.dumps({
                "run_id": run_id, "suite": suite, "case_id": case_id, "model": model,
                "target": target, "outcome": "passed" if passed else "failed",
                "score": 1.0 if passed else 0.0, "calls": 1, "latency_s": latency,
                "ttft_s": latency / 4, "output_tps": tps, "output_tokens": round(tps * latency),
                "cost_usd": 0.001,
            }) + "\n")
    return path


def cases(n: int, failing: set[int] = frozenset()) -> dict[str, bool]:  # type: ignore[assignment]
    return {f"c{i:03d}": i not in failing for i in range(n)}
