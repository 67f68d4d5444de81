"""Run directories with known differences, shaped like the plugin's (node ids included),
for import, compare and trends tests."""

from __future__ import annotations

import json
from pathlib import Path


def make_run(base: Path, run_id: str, failing: set[int], *, n: int = 60, started_at: float,
             latency: float = 1.0, models: tuple[str, ...] = ("m1", "m2")) -> Path:
    path = base / run_id
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({
        "run_id": run_id, "status": "completed", "started_at": started_at,
        "finished_at": started_at + 60, "git": {"commit": "c0ffee" + run_id[-4:], "branch": "main"}}))
    with (path / "records.jsonl").open("w") as handle:
        for model in models:
            for i in range(n):
                passed = not (model == "m1" and i in failing)
                handle.write(json.dumps({
                    "run_id": run_id, "nodeid": f"s.yaml::s[{model}/c{i:03d}]", "suite": "s",
                    "case_id": f"c{i:03d}", "model": model, "outcome": "passed" if passed else "failed",
                    "score": 1.0 if passed else 0.0, "calls": 1, "latency_s": latency + i / 1000,
                    "ttft_s": latency / 4, "output_tps": 50.0, "cost_usd": 0.001,
                    "prompt": f"What is case {i}?", "response": f"answer {i}" if passed else "wrong",
                    "expected": f"answer {i}"}) + "\n")
    return path
