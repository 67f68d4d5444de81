"""The cross-process rate-limit bucket: pacing, token correction, 429 adaptation,
sharing between processes and surviving a killed process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pytest_llmbench.calls import ratelimit
from pytest_llmbench.calls.ratelimit import RateLimit, SharedBucket, bucket_for, estimate_tokens
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import ConfigError


def test_requests_are_paced_at_the_rpm(tmp_path: Path) -> None:
    bucket = SharedBucket(tmp_path, "model:a", RateLimit(rpm=600))  # one per 0.1 s
    waits = [bucket.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4], abs=0.02)


def test_tokens_are_paced_and_corrected_with_real_usage(tmp_path: Path) -> None:
    bucket = SharedBucket(tmp_path, "model:a", RateLimit(tpm=6000))  # 100 tokens/s
    assert bucket.reserve(50) == pytest.approx(0.0, abs=0.02)
    assert bucket.reserve(50) == pytest.approx(0.5, abs=0.02)
    bucket.settle(50, 10)  # the first call used 10, not 50: 0.4 s given back
    assert bucket.reserve(50) == pytest.approx(0.6, abs=0.02)


def test_two_handles_on_one_file_share_the_budget(tmp_path: Path) -> None:
    limit = RateLimit(rpm=600)
    first, second = SharedBucket(tmp_path, "p", limit), SharedBucket(tmp_path, "p", limit)
    assert first.reserve() == pytest.approx(0.0, abs=0.02)
    assert second.reserve() == pytest.approx(0.1, abs=0.02)
    assert SharedBucket(tmp_path, "other", limit).reserve() == pytest.approx(0.0, abs=0.02)


def test_a_429_halves_the_rate_for_everyone_and_holds_off(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    limit = RateLimit(rpm=600)
    mine, theirs = SharedBucket(tmp_path, "p", limit), SharedBucket(tmp_path, "p", limit)
    mine.throttled(retry_after=0.3)
    mine.throttled(retry_after=0.3)  # same burst of 429s: cut once
    assert theirs.effective() == pytest.approx(0.5, abs=0.01)
    assert theirs.reserve() == pytest.approx(0.3, abs=0.02)
    assert theirs.reserve() == pytest.approx(0.5, abs=0.02)  # now 0.2 s apart, not 0.1
    clock = time.time()
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock + 10)
    assert theirs.effective() == pytest.approx(0.5 + 10 * ratelimit.RECOVER_PER_S, abs=0.01)
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock + 100)
    assert theirs.effective() == 1.0


def test_a_torn_state_file_starts_afresh(tmp_path: Path) -> None:
    bucket = SharedBucket(tmp_path, "p", RateLimit(rpm=60))
    bucket.reserve()
    bucket.path.write_text('{"next_request": 17')
    assert bucket.reserve() == pytest.approx(0.0, abs=0.02)


_WORKER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from pytest_llmbench.calls.ratelimit import RateLimit, SharedBucket
    bucket = SharedBucket(Path(sys.argv[1]), "provider:p", RateLimit(rpm=1200))
    starts = []
    for _ in range(10):
        wait = bucket.reserve()
        starts.append(time.time() + wait)
    print(json.dumps(starts))
""")


def test_processes_share_one_budget(tmp_path: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    starts = sorted(t for p in procs for t in json.loads(p.communicate(timeout=30)[0]))
    assert len(starts) == 20
    # 1200 rpm: one start every 50 ms across both processes (each alone would start its
    # 10 at once); a start is read a little after the lock, so allow 20 ms of slack
    assert starts[-1] - starts[0] >= 19 * 0.05 - 0.02
    for first in starts:
        assert sum(first <= t < first + 0.25 for t in starts) <= 6


def test_a_killed_process_holding_the_lock_wedges_nobody(tmp_path: Path) -> None:
    bucket = SharedBucket(tmp_path, "p", RateLimit(rpm=60))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from filelock import FileLock; "
         "lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); time.sleep(60)",
         str(bucket.path) + ".lock"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait(timeout=10)
    started = time.monotonic()
    assert bucket.reserve() == pytest.approx(0.0, abs=0.05)
    assert time.monotonic() - started < 1.0


def test_token_estimate_is_prompt_chars_over_four_plus_max_tokens() -> None:
    messages = [{"role": "user", "content": "x" * 40}]
    assert estimate_tokens(messages, {"max_tokens": 20}) == 30
    assert estimate_tokens(messages, {}) == 10 + ratelimit.DEFAULT_OUTPUT_ESTIMATE


def test_buckets_per_model_or_per_provider() -> None:
    by_provider = {"groq": RateLimit(rpm=30)}
    own = ModelSpec("groq", "a", settings={"rate_limit": {"rpm": 10, "tpm": 1000}})
    assert bucket_for(own, by_provider) == ("model:groq:a", RateLimit(rpm=10, tpm=1000))
    assert bucket_for(ModelSpec("groq", "b"), by_provider) == ("provider:groq", RateLimit(rpm=30))
    assert bucket_for(ModelSpec("openai", "c"), by_provider) is None


@pytest.mark.parametrize(("value", "message"), [
    ({"rpm": 0}, "rpm must be a number > 0, got 0"),
    ({"rps": 3}, r"unknown key\(s\) \['rps'\]"),
    (600, "expected a mapping"),
])
def test_bad_limits_name_the_model(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=f"model groq:a: rate_limit: {message}"):
        bucket_for(ModelSpec("groq", "a", settings={"rate_limit": value}), {})


def test_a_call_waiting_for_its_turn_queues_again_after_a_429(tmp_path: Path) -> None:
    bucket = SharedBucket(tmp_path, "p", RateLimit(rpm=600))
    since = time.time()
    bucket.reserve()
    assert bucket.reserve(unless_since=since) == 0.0  # no 429 since: go as planned
    bucket.throttled(retry_after=0.5)
    assert bucket.reserve(unless_since=since) == pytest.approx(0.5, abs=0.02)
