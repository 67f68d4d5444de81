"""Rate limits and the budget shared by shards on several machines through Redis: real
shards (pytest processes), a real redis-server, the simulator's request log as the judge."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pytest_llmbench.calls.budget import Budget, totals
from pytest_llmbench.calls.coordinator import RedisBucket, RedisLedger, connect, redact_url
from pytest_llmbench.calls.ratelimit import RateLimit
from pytest_llmbench.errors import ConfigError
from pytest_llmbench.sim import SimServer
from tests.conftest import write_suite


def test_four_shards_share_one_rpm_limit(pytester: pytest.Pytester, redis_url: str) -> None:
    rows = [{"id": f"q{i:03d}", "question": f"{i} + {i}", "answer": str(2 * i)}
            for i in range(1, 17)]
    write_suite(pytester.path, rows=rows)
    answers = pytester.path / "answers.json"
    answers.write_text(json.dumps({f"What is {r['question']}?": r["answer"] for r in rows}))
    with SimServer(answer_key=answers) as sim:
        pytester.makefile(".yaml", llmbench=f"""
settings:
  rate_limits:
    openai-compatible: {{rpm: 240}}
models:
  openai-compatible:default: {{base_url: "{sim.base_url}/v1"}}
""")
        procs = [subprocess.Popen(
            [sys.executable, "-m", "pytest", "arith.yaml", "-p", "no:cacheprovider",
             "--llmbench-models", "openai-compatible:default", "--llmbench-shard", f"{i}/4",
             "--llmbench-run-id", "limited", "--llmbench-coordinator", redis_url],
            cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for i in range(4)]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        arrivals = sorted(r["at"] for r in sim.metrics["recent"] if r["model"] == "default")
    assert all(p.returncode == 0 for p in procs), outputs
    assert len(arrivals) == 16
    # 240 rpm = one start per 0.25 s for the four shards together; each shard alone would
    # send its four at once (a limit per machine would let 16 arrive within ~0.3 s); +3 for a
    # loaded machine delaying some first calls (SDK set-up) and bunching them with later ones
    offsets = [round(t - arrivals[0], 3) for t in arrivals]
    for start in arrivals:
        assert sum(start <= t < start + 1.0 for t in arrivals) <= 4 + 3, offsets
    assert arrivals[-1] - arrivals[0] >= 15 * 0.25 - 0.8, offsets


def test_an_unreachable_coordinator_refuses_to_run(pytester: pytest.Pytester) -> None:
    write_suite(pytester.path)
    result = pytester.runpytest_subprocess(
        "arith.yaml", "--llmbench-models", "inproc:oracle", "--llmbench-shard", "0/2",
        "--llmbench-run-id", "r", "--llmbench-coordinator", "redis://:s3cret@127.0.0.1:1/0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --llmbench-coordinator redis://:***@127.0.0.1:1/0: "
                                 "cannot reach the coordinator*refusing to run*"])
    assert "s3cret" not in result.stderr.str() + result.stdout.str()
    assert not (pytester.path / ".llmbench").exists()


def test_coordinator_needs_a_shared_run_id(pytester: pytest.Pytester, redis_url: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLMBENCH_RUN_ID", "SLURM_ARRAY_JOB_ID", "GITHUB_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    write_suite(pytester.path)
    result = pytester.runpytest_subprocess("arith.yaml", "--llmbench-models", "inproc:oracle",
                                           "--llmbench-shard", "0/2",
                                           "--llmbench-coordinator", redis_url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*share limits by run id*--llmbench-run-id*"])


def test_redis_bucket_spaces_requests_across_clients(redis_url: str) -> None:
    limit = RateLimit(rpm=600)  # one per 0.1 s
    buckets = [RedisBucket(connect(redis_url), "llmbench:test:spacing", limit) for _ in range(3)]
    waits = sorted(b.reserve() for b in buckets for _ in range(3))
    assert waits[0] == pytest.approx(0.0, abs=0.05)
    assert waits[-1] == pytest.approx(0.8, abs=0.1)
    buckets[0].throttled(0.0)
    assert buckets[1].effective() == pytest.approx(0.5, abs=0.01)


def test_budget_ledgers_add_up_across_machines(redis_url: str) -> None:
    key = "llmbench:test:budget"
    one = RedisLedger(connect(redis_url), key)
    two = RedisLedger(connect(redis_url), key)
    Budget(1.0, one, "host-a:1")._write()
    spender = Budget(1.0, two, "host-b:2")
    spender.spent, spender.stopped = 0.75, True
    spender._write()
    assert totals(one) == (0.75, 0.0, True)


def test_connect_rejects_other_schemes() -> None:
    with pytest.raises(ConfigError, match=r"--llmbench-coordinator 'http://u:\*\*\*@h': expected"):
        connect("http://u:pw@h")
    assert redact_url("redis://user:pw@host:6379/1") == "redis://user:***@host:6379/1"


SERVING = """\
kind: serving
name: chat_load
prompts: {input_tokens: "normal(32, 4)"}
max_tokens: 16
ignore_eos: true
warmup: 2
requests: 24
harness: {max_loop_lag_ms: 1000}
scenarios:
  - rate: [40]
    arrival: poisson
"""


def test_a_serving_point_split_over_two_hosts_is_pooled_by_merge(
        pytester: pytest.Pytester, redis_url: str) -> None:
    from tests.serving.conftest import running_sim

    pytester.makefile(".yaml", load=SERVING)
    sims = running_sim(20)
    sim = next(sims)
    try:
        env = {**os.environ, "LLMBENCH_SIM_URL": sim.base_url}  # type: ignore[attr-defined]
        procs = [subprocess.Popen(
            [sys.executable, "-m", "pytest", "load.yaml", "-p", "no:cacheprovider",
             "--llmbench-models", "sim:perf", "--llmbench-shard", f"{i}/2",
             "--llmbench-run-id", "hosts", "--llmbench-coordinator", redis_url,
             "--llmbench-serving-hosts"],
            cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True) for i in range(2)]
        outputs = [p.communicate(timeout=180)[0] for p in procs]
    finally:
        next(sims, None)
    assert all(p.returncode == 0 for p in procs), outputs
    runs = pytester.path / ".llmbench" / "runs"
    parts = [json.loads((runs / f"hosts.shard-{i}-of-2/records.jsonl").read_text()) for i in (0, 1)]
    sent = [p["metrics"]["serving"]["requests"] for p in parts]
    assert sent == [12, 12]  # every other arrival of the one seeded schedule
    starts = [json.loads((runs / f"hosts.shard-{i}-of-2" / p["metrics"]["samples_file"])
                         .read_text())["started_at"] for i, p in enumerate(parts)]
    merged = subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", "merge", "hosts"],
                            cwd=pytester.path, capture_output=True, text=True)
    assert merged.returncode == 0, merged.stderr
    (record,) = [json.loads(line) for line in (runs / "hosts/records.jsonl").read_text().splitlines()]
    assert record["metrics"]["serving"]["requests"] == 24
    assert len(record["metrics"]["merged_from"]) == 2
    assert abs(starts[0] - starts[1]) < 0.1  # the measured windows start together
