"""The response cache: -n 2 hammering the same keys, modes, the size report and the CLI."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from pytest_llmbench.calls.store import ResponseStore, request_key
from pytest_llmbench.cli import main
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.providers.base import ChatRequest, Completion
from pytest_llmbench.sim import SimServer
from tests.conftest import read_records, write_suite
from tests.lifecycle.conftest import models_config, reset_metrics, sim_requests

SAME = [{"id": f"s{i:03d}", "question": f"word{i % 3}", "answer": f"word{i % 3}"}
        for i in range(60)]
"""60 items asking 3 distinct questions: 20 items per cache key."""


@pytest.fixture
def same_keys(pytester: pytest.Pytester, sim: SimServer) -> tuple[str, ...]:
    write_suite(pytester.path, name="echo", rows=SAME).write_text(
        "name: echo\ndataset: echo.jsonl\nprompt: '{question}'\nexpected: answer\n")
    models_config(pytester.path, sim.base_url)
    reset_metrics(sim)
    return ("echo.yaml", "--llmbench-concurrency", "8", "-p", "no:cacheprovider")


def test_cache_under_xdist_hammering_the_same_keys(pytester: pytest.Pytester, same_keys,
                                                   sim: SimServer) -> None:
    first = pytester.runpytest_subprocess(*same_keys, "-n", "2", "--llmbench-cache", "readwrite")
    first.assert_outcomes(passed=60)
    assert "database is locked" not in first.stdout.str() + first.stderr.str()
    cache = pytester.path / ".llmbench" / "cache"
    assert ResponseStore(cache).info().entries == 3
    assert not list(cache.rglob("*.tmp"))
    calls_first = sim_requests(sim)
    assert 3 <= calls_first <= 60

    reset_metrics(sim)
    second = pytester.runpytest_subprocess(*same_keys, "-n", "2", "--llmbench-cache",
                                           "readwrite")
    second.assert_outcomes(passed=60)
    assert sim_requests(sim) == 0  # every answer from the cache
    records = read_records(pytester)
    assert all(r["cached_calls"] == 1 and r["response"] == r["expected"] for r in records)
    second.stdout.fnmatch_lines(["*llmbench cache: 60 of 60 calls answered from *cache "
                                 "(3 entries, * kB)*"])
    entry = next(cache.rglob("*.json")).read_text()
    assert "sk-test-secret" not in entry  # keys never reach the cache


def test_cache_modes(pytester: pytest.Pytester, same_keys, sim: SimServer) -> None:
    serial = (*same_keys, "-n", "0")
    cache = ResponseStore(pytester.path / ".llmbench" / "cache")
    for mode, entries, hits in (("write", 1, 0), ("read", 1, 20), ("off", 1, 0),
                                ("write", 3, 0)):
        selected = ("-k", "s000") if mode == "write" and entries == 1 else ()
        result = pytester.runpytest_subprocess(*serial, "--llmbench-cache", mode, *selected)
        result.assert_outcomes(passed=1 if selected else 60)
        assert cache.info().entries == entries, mode
        assert sum(r["cached_calls"] for r in read_records(pytester)) == hits, mode


def test_bad_cache_mode_names_the_option(pytester: pytest.Pytester, same_keys) -> None:
    result = pytester.runpytest_subprocess(*same_keys, "--llmbench-cache", "sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llmbench-cache: invalid value 'sometimes'*expected one of "
                                 "off, read, write, readwrite*"])


def _hammer(folder: str, worker: int) -> int:
    store = ResponseStore(Path(folder))
    spec = ModelSpec("openai", "m", settings={"api_key": "sk-secret"})
    misses = 0
    for i in range(300):
        request = ChatRequest(spec, [{"role": "user", "content": f"q{i % 5}"}])
        key = request_key(request)
        if store.get(key) is None:
            misses += 1
            store.put(key, request, Completion(text=f"a{i % 5}", latency_s=0.1, ttft_s=0.05))
        else:
            assert store.get(key).text == f"a{i % 5}"  # never a torn entry
    return misses


def test_store_with_many_processes_on_the_same_keys(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        misses = pool.starmap(_hammer, [(str(tmp_path), n) for n in range(4)])
    assert 5 <= sum(misses) <= 20
    assert ResponseStore(tmp_path).info().entries == 5
    assert not list(tmp_path.rglob("*.tmp"))
    assert "sk-secret" not in "".join(p.read_text() for p in tmp_path.rglob("*.json"))


def test_key_is_stable_and_covers_what_decides_the_answer() -> None:
    spec = ModelSpec("openai", "m", params={"temperature": 0})
    base = ChatRequest(spec, [{"role": "user", "content": "hi"}], {"temperature": 0})
    same = ChatRequest(ModelSpec("openai", "m", settings={"api_key": "other"}),
                       [{"role": "user", "content": "hi"}], {"temperature": 0},
                       metadata={"case_id": "x"})
    assert request_key(base) == request_key(same)
    for other in (ChatRequest(spec, [{"role": "user", "content": "hi!"}], {"temperature": 0}),
                  ChatRequest(spec, [{"role": "user", "content": "hi"}], {"temperature": 1}),
                  ChatRequest(ModelSpec("anthropic", "m"), [{"role": "user", "content": "hi"}],
                              {"temperature": 0}),
                  ChatRequest(ModelSpec("openai", "m", settings={"base_url": "http://x/v1"}),
                              [{"role": "user", "content": "hi"}], {"temperature": 0})):
        assert request_key(other) != request_key(base)
    assert request_key(base).startswith("ed14cac61eba")  # fixed across processes and releases


def test_cache_cli_info_and_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ResponseStore(tmp_path / "c")
    request = ChatRequest(ModelSpec("openai", "m"), [{"role": "user", "content": "hi"}])
    store.put(request_key(request), request, Completion(text="hello", latency_s=0.1))
    assert main(["cache", "info", "--dir", str(tmp_path / "c")]) == 0
    assert "1 entries" in capsys.readouterr().out
    assert main(["cache", "clear", "--dir", str(tmp_path / "c")]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert store.info().entries == 0
    data = json.dumps(store.info().__dict__)
    assert data == '{"entries": 0, "bytes": 0}'


def test_pass_at_k_samples_are_cached_apart(pytester: pytest.Pytester, sim: SimServer) -> None:
    """Each sample of an item is its own call and its own cache entry: a cached run must
    not answer samples 2..k with sample 1's answer (pass@k would then be pass@1)."""
    write_suite(pytester.path, name="echo", rows=SAME[:4]).write_text(
        "name: echo\ndataset: echo.jsonl\nprompt: '{question}'\nexpected: answer\n")
    models_config(pytester.path, sim.base_url)
    args = ("echo.yaml", "--llmbench-samples", "3", "--llmbench-cache", "readwrite",
            "-p", "no:cacheprovider")
    reset_metrics(sim)
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=4)
    assert 9 <= sim_requests(sim) <= 12  # s003 asks what s000 asked: its samples may hit
    cache = ResponseStore(pytester.path / ".llmbench" / "cache")
    assert cache.info().entries == 9  # 3 distinct questions x 3 samples

    reset_metrics(sim)
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=4)
    assert sim_requests(sim) == 0
    for record in read_records(pytester):
        assert record["score_details"]["samples"] == 3
