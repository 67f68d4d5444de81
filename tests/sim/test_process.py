"""The simulator as a child process and from the command line; clean shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import httpx
import psutil
import pytest

from pytest_llmbench.sim import SimProcess, start_sim_process
from pytest_llmbench.sim.process import SimProcessError

ROOT = Path(__file__).resolve().parents[2]
MSG = [{"role": "user", "content": "What is the capital of France?"}]


def port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def assert_gone(sim: SimProcess) -> None:
    assert sim.proc.poll() is not None
    assert not psutil.pid_exists(sim.pid) or psutil.Process(sim.pid).status() == "zombie"
    assert port_is_closed(sim.port)
    assert port_is_free(sim.port)
    assert not sim.workdir.exists()


def test_start_use_and_stop_leaves_nothing() -> None:
    sim = start_sim_process(answer_key=[{"match": "capital of France", "answer": "Paris"}],
                            config={"models": {"tiny": {"policy": "fixed", "text": "ok"}}})
    try:
        assert sim.base_url == f"http://127.0.0.1:{sim.port}"
        assert sim.port != 0 and sim.alive()
        client = anthropic.Anthropic(base_url=sim.base_url, api_key="k", max_retries=0)
        m = client.messages.create(model="sim:oracle", max_tokens=20, messages=MSG)
        assert m.content[0].text == "Paris"
        m = client.messages.create(model="tiny", max_tokens=20, messages=MSG)
        assert m.content[0].text == "ok"
        assert sim.metrics()["requests_total"] == 2
        children = {c.pid for c in psutil.Process().children(recursive=True)}
        assert sim.pid in children
    finally:
        sim.stop()
    assert_gone(sim)
    sim.stop()  # idempotent
    assert sim.pid not in {c.pid for c in psutil.Process().children(recursive=True)}


def test_context_manager_and_fixed_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with start_sim_process(port=port) as sim:
        assert sim.port == port
        assert httpx.get(sim.base_url + "/health", trust_env=False).status_code == 200
    assert_gone(sim)


def test_stop_while_a_stream_is_stalled() -> None:
    sim = start_sim_process(models=["stuck:policy=lorem,output_tokens=10,stall_s=60"])
    try:
        with httpx.Client(trust_env=False, timeout=30) as client:
            with client.stream("POST", sim.base_url + "/v1/chat/completions",
                               headers={"x-llmbench-fault": "stall"},
                               json={"model": "stuck", "messages": MSG, "stream": True}) as r:
                next(r.iter_bytes())
                start = time.monotonic()
                sim.stop()
                assert time.monotonic() - start < 5
    finally:
        sim.stop()
    assert_gone(sim)


def test_bad_config_reports_the_error(tmp_path: Path) -> None:
    bad = tmp_path / "sim.yaml"
    bad.write_text("models: {m: {ttft: 1}}")
    with pytest.raises(SimProcessError, match="unknown key"):
        start_sim_process(config=bad, timeout=20)


def _spawn(args: list[str], tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    ready = tmp_path / "ready"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([*args, "--port", "0", "--ready-file", str(ready)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 20
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return proc, int(ready.read_text())


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "pytest_llmbench.sim"],
    [sys.executable, "-c", "import sys; from pytest_llmbench.cli import main; "
                           "sys.exit(main(sys.argv[1:]))", "sim"],
])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_command_line_starts_and_exits_cleanly(tmp_path: Path, command: list[str],
                                               sig: signal.Signals) -> None:
    proc, port = _spawn([*command, "--model", "x:policy=fixed,text=hey"], tmp_path)
    r = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", trust_env=False,
                   json={"model": "x", "messages": MSG})
    assert r.json()["choices"][0]["message"]["content"] == "hey"
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    assert f"listening on http://127.0.0.1:{port}" in out
    assert "Traceback" not in out
    assert port_is_closed(port)


def test_child_exits_when_parent_dies(tmp_path: Path) -> None:
    """A simulator started by a process that is killed does not linger."""
    script = (
        "import sys, time; from pytest_llmbench.sim import start_sim_process; "
        "sim = start_sim_process(); print(sim.pid, sim.port, flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert parent.stdout is not None
    pid, port = map(int, parent.stdout.readline().split())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie":
        assert time.monotonic() < deadline, "simulator outlived its parent"
        time.sleep(0.05)
    assert port_is_closed(port)
