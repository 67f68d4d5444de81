"""Cache and recording entries with wrong field types: a miss with one warning naming the
entry (cache), or that item's error naming it (replay); never a worker crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmbench.sim import SimServer
from tests.conftest import read_records, write_suite
from tests.lifecycle.conftest import models_config, reset_metrics, sim_requests

ROWS = [{"id": f"c{i:03d}", "question": f"word{i}", "answer": f"word{i}"} for i in range(12)]
BREAKS = [
    lambda e: e["completion"].update(latency_s="fast"),
    lambda e: e["completion"].update(text=5),
    lambda e: e["completion"].update(itl_s=["x"]),
    lambda e: e.update(completion=[1, 2]),
]


@pytest.fixture
def suite(pytester: pytest.Pytester, sim: SimServer) -> tuple[str, ...]:
    write_suite(pytester.path, name="echo", rows=ROWS).write_text(
        "name: echo\ndataset: echo.jsonl\nprompt: '{question}'\nexpected: answer\n")
    models_config(pytester.path, sim.base_url)
    reset_metrics(sim)
    return ("echo.yaml", "-p", "no:cacheprovider")


def _break(folder: Path) -> list[Path]:
    """Break four entries (wrong field types, not a completion) and one as not-JSON."""
    entries = sorted(folder.glob("??/*.json"))
    assert len(entries) == 12
    for path, breaker in zip(entries, BREAKS, strict=False):
        entry = json.loads(path.read_text())
        breaker(entry)
        path.write_text(json.dumps(entry))
    entries[4].write_bytes(b'{"completion": {"text": "wo')
    return entries[:5]


@pytest.mark.parametrize("dist", [("-n", "0"), ("-n", "2")])
def test_bad_cache_entries_are_misses_with_a_warning(pytester: pytest.Pytester, sim: SimServer,
                                                     suite: tuple[str, ...],
                                                     dist: tuple[str, ...]) -> None:
    args = (*suite, *dist, "--llmbench-cache", "readwrite")
    assert pytester.runpytest_subprocess(*args).ret == 0
    cache = pytester.path / ".llmbench" / "cache"
    broken = _break(cache)
    reset_metrics(sim)

    again = pytester.runpytest_subprocess(*args)
    assert again.ret == 0
    again.assert_outcomes(passed=12)
    assert sim_requests(sim) == 5  # the five unreadable entries were asked again
    out = again.stdout.str()
    assert "Traceback" not in out and "INTERNALERROR" not in out
    again.stdout.fnmatch_lines(["*llmbench cache: 7 of 12 calls answered from *",
                                "*llmbench cache: 5 unreadable entries: */cache/*.json: *; "
                                "treated as a miss, set aside as *.json.bad*"])
    log = (cache / "unreadable.log").read_text()
    assert "'completion.latency_s' is str, not int" in log
    assert "'completion.text' is int, not str" in log
    assert "'completion.itl_s' must be a list of numbers" in log
    assert "no 'completion' object" in log and "not JSON" in log
    for path in broken:  # set aside for inspection, and a good answer stored in its place
        assert path.with_name(path.name + ".bad").is_file()
        assert json.loads(path.read_text())["completion"]["text"].startswith("word")
    assert all(r["outcome"] == "passed" for r in read_records(pytester))


def test_bad_recording_entry_is_that_items_error(pytester: pytest.Pytester, sim: SimServer,
                                                 suite: tuple[str, ...]) -> None:
    assert pytester.runpytest_subprocess(*suite, "--llmbench-record", "rec").ret == 0
    entry = sorted((pytester.path / "rec").glob("??/*.json"))[0]
    data = json.loads(entry.read_text())
    data["completion"]["output_tokens"] = "many"
    entry.write_text(json.dumps(data))
    reset_metrics(sim)

    replayed = pytester.runpytest_subprocess(*suite, "--llmbench-replay", "rec")
    replayed.assert_outcomes(passed=11, errors=1)
    assert sim_requests(sim) == 0  # replay never calls out
    replayed.stdout.fnmatch_lines([f"*ReplayMiss: recorded response unreadable: {entry}: "
                                   "'completion.output_tokens' is str, not int "
                                   "(--llmbench-replay); record it again with --llmbench-record*"])
    assert json.loads(entry.read_text()) == data  # a recording is never changed
    assert "Traceback" not in replayed.stdout.str()
