"""sim:fast's right/wrong for a case depends on that case alone, not on the rest of the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "bench_suites"


def _verdicts(out: Path, *suites: Path) -> dict[str, tuple[str, str | None]]:
    proc = subprocess.run([sys.executable, "-m", "pytest", *map(str, suites), "-q",
                           "-p", "no:cacheprovider", "-p", "no:randomly",
                           "--llmbench-models", "sim:fast", "--llmbench-output", str(out),
                           "--rootdir", str(ROOT)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert "llmbench summary" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]
    records = [json.loads(line) for line in
               (out / "latest" / "records.jsonl").read_text().splitlines()]
    return {f"{r['suite']}/{r['case_id']}": (r["outcome"], r["response"]) for r in records}


def test_a_suite_alone_and_among_the_bundled_suites_gets_the_same_verdicts(
        tmp_path: Path) -> None:
    """arithmetic alone, then last among every bundled question suite (the agent tasks
    need Docker and are left out): each case gets the same answer and verdict."""
    alone = _verdicts(tmp_path / "alone", SUITES / "arithmetic.yaml")
    others = sorted(p for p in SUITES.glob("*.yaml")
                    if p.name not in ("arithmetic.yaml", "agent_tasks.yaml"))
    assert len(others) >= 5
    together = _verdicts(tmp_path / "together", *reversed(others), SUITES / "arithmetic.yaml")
    assert len(together) > len(alone) >= 40
    assert {k: together[k] for k in alone} == alone
    outcomes = [outcome for outcome, _ in alone.values()]
    assert 0 < outcomes.count("failed") < len(outcomes)  # fast is neither right nor wrong always
