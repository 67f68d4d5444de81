"""The engine process: real SDK calls made by a child process with its own GIL, results,
errors, logs and learnt secrets back in pytest's process, and no call left hanging when the
child or the parent dies."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_llmbench.calls.engine import Engine
from pytest_llmbench.calls.engine_process import EngineSpec, ProcessEngine
from pytest_llmbench.calls.retry import RetryPolicy
from pytest_llmbench.config import ModelSpec
from pytest_llmbench.errors import LLMBenchError, ProviderError
from pytest_llmbench.providers.base import ChatRequest
from pytest_llmbench.redaction import known_secrets
from pytest_llmbench.sim import SimServer

from .conftest import spec_for


def _engine(concurrency: int = 4, context: dict | None = None) -> ProcessEngine:
    def spec() -> EngineSpec:
        return EngineSpec(concurrency, 30.0, context or {}, RetryPolicy(max_retries=0),
                          log_level=logging.getLogger("pytest_llmbench").getEffectiveLevel())

    return ProcessEngine(spec, lambda: Engine(concurrency, 30.0, context or {}))


def _ask(spec: ModelSpec, i: int, content: str = "What is the capital of France?") -> ChatRequest:
    return ChatRequest(spec, [{"role": "user", "content": content}], {"max_tokens": 32},
                       metadata={"case_id": f"q{i}", "suite": "s"})


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock"])
def test_the_child_answers_through_each_sdk_with_its_timings(sim: SimServer,
                                                             provider: str) -> None:
    engine = _engine()
    try:
        engine.start([provider])
        completions = [f.result(timeout=60) for f in
                       engine.submit_many([_ask(spec_for(provider, "oracle", sim), i)
                                           for i in range(6)])]
        pid = engine._child.pid  # type: ignore[union-attr]
    finally:
        engine.close()
    assert pid != os.getpid()
    assert [c.text for c in completions] == ["Paris"] * 6
    assert all(c.ttft_s is not None and c.latency_s >= c.ttft_s for c in completions)  # type: ignore[operator]
    assert all(c.input_tokens and c.output_tokens for c in completions)


def test_in_process_providers_never_start_a_child() -> None:
    engine = _engine()
    try:
        spec = ModelSpec("inproc", "oracle")
        done = engine.submit(ChatRequest(spec, [{"role": "user", "content": "x"}],
                                         metadata={"expected": "7", "case_id": "a"}))
        assert done.result(timeout=10).text == "7"
        assert engine._child is None
    finally:
        engine.close()


def test_errors_keep_their_class_kind_and_attempts() -> None:
    with SimServer(models=["gone:base=oracle,fail_first=9,fail_first_kind=not_found"]) as sim:
        engine = _engine()
        try:
            future = engine.submit(_ask(spec_for("openai", "gone", sim), 1))
            with pytest.raises(ProviderError) as caught:
                future.result(timeout=60)
        finally:
            engine.close()
    assert caught.value.kind == "not_found"
    assert caught.value.model == "openai:gone"
    assert caught.value.attempts == 1
    assert "NotFoundError" in str(caught.value)


def test_queued_calls_can_be_cancelled_in_the_child() -> None:
    with SimServer(models=["slow:base=oracle,ttft_ms=300"]) as sim:
        engine = _engine(concurrency=1)
        try:
            spec = spec_for("openai", "slow", sim)
            futures = engine.submit_many([_ask(spec, i) for i in range(12)])
            assert [f.cancel() for f in futures[2:]] == [True] * 10
            assert all(f.result(timeout=60).text for f in futures[:2])
        finally:
            engine.close()
        served = sum(n for (_, model, _), n in sim.state.metrics.requests.items()
                     if model == "slow")
    assert served <= 4  # at most 4 x concurrency started there; the cancelled ones never were


def test_a_dead_child_fails_every_waiting_call_and_every_later_one() -> None:
    with SimServer(models=["slow:base=oracle,ttft_ms=5000"]) as sim:
        engine = _engine()
        try:
            futures = engine.submit_many([_ask(spec_for("openai", "slow", sim), i)
                                          for i in range(3)])
            os.kill(engine._child.pid, signal.SIGKILL)  # type: ignore[union-attr]
            for future in futures:
                with pytest.raises(LLMBenchError, match=r"engine process exited \(code -9\)"):
                    future.result(timeout=30)
            with pytest.raises(LLMBenchError, match="engine process exited"):
                engine.submit(_ask(spec_for("openai", "slow", sim), 9)).result(timeout=30)
        finally:
            engine.close()


def test_the_child_ends_when_pytest_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        "import time\n"
        "from pytest_llmbench.calls.engine_process import ProcessEngine\n"
        "engine = ProcessEngine(lambda: None, lambda: None)\n"
        "engine.start(['openai'])\n"
        "print(engine._child.pid, flush=True)\n"
        "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())  # type: ignore[union-attr]
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 20
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child)
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_logs_and_learnt_secrets_come_back(sim: SimServer,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pytest_llmbench")
    key = "sk-only-the-child-learnt-this-0123456789"
    assert key not in known_secrets()
    engine = _engine()
    try:
        spec = spec_for("openai", "oracle", sim, api_key=key)
        engine.submit(_ask(spec, 1)).result(timeout=60)
    finally:
        engine.close()
    assert key in known_secrets()  # the parent scrubs what a provider learnt in the child
    lines = [r.getMessage() for r in caplog.records if r.name == "pytest_llmbench.calls.engine"]
    assert any(line.startswith("call openai:oracle s/q1 attempt 1: ok") for line in lines), lines


def test_answers_nobody_waits_on_are_settled_for_callbacks_and_asyncio(sim: SimServer) -> None:
    """The caller waiting on its answer reads the child's messages itself; answers nobody
    waits on still settle (done-callbacks fire, ``acall`` returns) without a ``result()``."""
    import asyncio  # noqa: PLC0415
    import threading  # noqa: PLC0415

    engine = _engine()
    try:
        spec = spec_for("openai", "oracle", sim)
        seen = threading.Event()
        engine.submit(_ask(spec, 0)).add_done_callback(lambda _: seen.set())
        assert seen.wait(30), "a done-callback never fired"
        answer = asyncio.run(asyncio.wait_for(engine.acall(_ask(spec, 1)), 30))
        assert answer.text == "Paris"
    finally:
        engine.close()


def test_a_result_timeout_is_honoured_while_reading() -> None:
    with SimServer(models=["slow:base=oracle,ttft_ms=3000"]) as sim:
        engine = _engine()
        try:
            future = engine.submit(_ask(spec_for("openai", "slow", sim), 0))
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                future.result(timeout=0.3)
            assert time.monotonic() - started < 2.5  # returned at its timeout, not the answer
            assert future.result(timeout=60).text  # and the answer still comes
        finally:
            engine.close()

