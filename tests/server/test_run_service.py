"""The run service as operators run it: ``llmbench server`` and ``llmbench server worker``
processes on SQLite and PostgreSQL, runs started through ``POST /api/runs``, executed as
real pytest sessions against the simulator, posted back through the ingest API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_llmbench.sim import SimServer
from tests.conftest import write_suite
from tests.server.conftest import Server, database_url, start_server

ROWS = 12
PRICE = "{input_per_mtok: 1000, output_per_mtok: 1000}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def svc(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp(f"svc-{request.param}")
    suites = tmp / "suites"
    suites.mkdir()
    write_suite(suites, rows=[{"id": f"q{i:03d}", "question": f"{i} + {i}", "answer": str(2 * i)}
                              for i in range(ROWS)])
    env_backup = os.environ.pop("OPENAI_API_KEY", None)
    srv = start_server(database_url(request.param, tmp, request), tmp, ["--suites-dir", str(suites)])
    srv.suites = suites  # type: ignore[attr-defined]
    try:
        yield srv
    finally:
        srv.stop()
        if env_backup is not None:
            os.environ["OPENAI_API_KEY"] = env_backup


class Workers:
    def __init__(self, srv: Server, tmp: Path) -> None:
        self.srv, self.tmp, self.procs = srv, tmp, []  # type: ignore[var-annotated]

    def start(self, name: str, workdir: Path | None = None, lease: float = 3.0) -> subprocess.Popen[bytes]:
        workdir = workdir or self.tmp / name
        workdir.mkdir(parents=True, exist_ok=True)
        log = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "llmbench"), "server", "--database-url",
             self.srv.database_url, "worker", "--server", self.srv.url, "--suites-dir",
             str(self.srv.suites), "--workdir", str(workdir), "--lease", str(lease)],  # type: ignore[attr-defined]
            stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp,
            env={**os.environ, "INGEST_API_KEY": self.srv.key("ingest")})
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(svc: Server, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(svc, tmp_path)
    try:
        yield w
    finally:
        w.stop()


def start(srv: Server, body: dict[str, Any], scope: str = "run") -> httpx.Response:
    return srv.post("/api/runs", json=body, headers=srv.auth(scope))


def job(srv: Server, run_id: str) -> dict[str, Any]:
    response = srv.get(f"/api/runs/{run_id}/job")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def wait_for(srv: Server, run_id: str, statuses: tuple[str, ...], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        row = job(srv, run_id)
        if row["status"] in statuses:
            return row
        assert time.monotonic() < deadline, row
        time.sleep(0.3)


def test_bad_requests_queue_nothing(svc: Server) -> None:
    good = {"models": ["sim:default"], "suites": ["arith"], "subset_pct": 50}
    cases = [
        ({**good, "suites": ["nope"]}, 422, "unknown suite 'nope'"),
        ({**good, "models": ["nosuch:model"]}, 422, "unknown provider 'nosuch'"),
        ({**good, "models": ["openai:gpt-4o"]}, 422, "needs $OPENAI_API_KEY"),
        ({**good, "subset_pct": 7}, 422, "subset_pct: 7 is out of range"),
        ({**good, "sample": "10"}, 422, "give subset_pct or sample, not both"),
        ({**good, "params": {"budget_usd": -1}}, 422, "params.budget_usd"),
        ({**good, "colour": "red"}, 400, "unknown field(s): colour"),
    ]
    for body, status, words in cases:
        response = start(svc, body)
        assert response.status_code == status, (body, response.text)
        message = response.json()["error"]
        assert words in message and "\n" not in message
    assert svc.post("/api/runs", json=good).status_code == 401
    assert start(svc, good, scope="read").status_code == 403
    assert start(svc, good, scope="ingest").status_code == 403
    assert svc.get("/api/runs", params={"status": "queued"}).json()["runs"] == []


def test_two_workers_run_each_queued_run_once(svc: Server, workers: Workers) -> None:
    ids = []
    for i in range(4):
        response = start(svc, {"models": ["sim:default", "inproc:wrong"], "suites": ["arith"],
                               "seed": i, "tags": ["svc"]})
        assert response.status_code == 201, response.text
        answer = response.json()
        assert answer["position"] == i + 1 and answer["status"] == "queued"
        assert answer["eta_s"] is None or answer["eta_s"] >= 0
        ids.append(answer["run_id"])
    queued = svc.get("/api/runs", params={"status": "queued"}).json()["runs"]
    assert [r["run_id"] for r in queued] == ids
    workers.start("w1")
    workers.start("w2")
    rows = [wait_for(svc, run_id, ("done", "failed", "cancelled")) for run_id in ids]
    assert [r["status"] for r in rows] == ["done"] * 4, rows
    assert all(r["attempts"] == 1 for r in rows)
    for run_id in ids:
        assert svc.items(run_id) == 2 * ROWS
        # one pytest session per run, over both workers' folders
        logs = list(workers.tmp.glob(f"w*/logs/{run_id}.*.log"))
        assert len(logs) == 1, logs
        detail = svc.get(f"/api/runs/{run_id}").json()
        assert detail["items"] == 2 * ROWS
    done = job(svc, ids[0])["progress"]
    assert done["done"] == 2 * ROWS and done["total"] == 2 * ROWS
    assert done["outcomes"] == {"passed": ROWS, "failed": ROWS}
    # history now gives the next identical run an ETA
    again = start(svc, {"models": ["sim:default", "inproc:wrong"], "suites": ["arith"], "seed": 0})
    assert again.json()["eta_basis"] == "history" and again.json()["eta_s"] > 0
    wait_for(svc, again.json()["run_id"], ("done",))


def test_killed_worker_run_is_resumed_by_another(svc: Server, workers: Workers) -> None:
    shared = workers.tmp / "shared"
    body = {"models": ["sim:slow"], "suites": ["arith"], "params": {"concurrency": 1}}
    run_id = start(svc, body).json()["run_id"]
    first = workers.start("k1", shared)
    deadline = time.monotonic() + 120
    while (job(svc, run_id)["progress"].get("done") or 0) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = job(svc, run_id)["progress"]["done"]
    workers.start("k2", shared)
    row = wait_for(svc, run_id, ("done", "failed"), timeout=180)
    assert row["status"] == "done" and row["attempts"] == 2, row
    assert svc.items(run_id) == ROWS
    logs = sorted(p.name for p in shared.glob(f"logs/{run_id}.*.log"))
    assert logs == [f"{run_id}.1.log", f"{run_id}.2.log"]
    records = [json.loads(line) for line in
               (shared / ".llmbench" / "runs" / run_id / "records.jsonl").read_text().splitlines()]
    assert len({r["nodeid"] for r in records}) == ROWS and before >= 3


def test_cancel_queued_and_running(svc: Server, workers: Workers) -> None:
    body = {"models": ["sim:slow"], "suites": ["arith"], "params": {"concurrency": 1}}
    running = start(svc, body).json()["run_id"]
    queued = start(svc, body).json()["run_id"]
    assert svc.post(f"/api/runs/{queued}/cancel", headers=svc.auth("run")).json()["status"] == "cancelled"
    workers.start("c1")
    deadline = time.monotonic() + 120
    while (job(svc, running)["progress"].get("done") or 0) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert svc.post(f"/api/runs/{running}/cancel", headers=svc.auth("run")).json()["status"] == "cancelling"
    row = wait_for(svc, running, ("cancelled", "done", "failed"))
    assert row["status"] == "cancelled", row
    kept = svc.items(running)
    assert 2 <= kept < ROWS
    assert job(svc, queued)["status"] == "cancelled" and job(svc, queued)["attempts"] == 0


def test_maintenance_mode(svc: Server, tmp_path: Path) -> None:
    cli = [str(Path(sys.executable).parent / "llmbench"), "server", "--database-url", svc.database_url,
           "maintenance"]
    out = subprocess.run([*cli, "on"], capture_output=True, text=True, check=True).stdout
    assert "maintenance on" in out
    try:
        response = start(svc, {"models": ["sim:default"], "suites": ["arith"]})
        assert response.status_code == 503 and "maintenance mode" in response.json()["error"]
        assert "Maintenance mode" in svc.get("/queue").text
        assert svc.get("/api/runs", params={"status": "running"}).json()["maintenance"] is True
    finally:
        subprocess.run([*cli, "off"], capture_output=True, text=True, check=True)
    assert start(svc, {"models": ["sim:default"], "suites": ["arith"], "subset_pct": 1}).status_code == 201


def test_time_limit_and_worker_shutdown(svc: Server, workers: Workers) -> None:
    body = {"models": ["sim:slow"], "suites": ["arith"], "params": {"concurrency": 1,
                                                                    "time_limit_s": 10,
                                                                    "samples": 3}}
    limited = start(svc, body).json()["run_id"]
    handed = start(svc, {**body, "params": {"concurrency": 1}}).json()["run_id"]  # 12 calls
    shared = workers.tmp / "shared"
    first = workers.start("t1", shared)
    row = wait_for(svc, limited, ("done", "failed", "cancelled"))
    assert row["status"] == "failed" and "time limit of 10 s" in row["message"], row
    # the limit counts from the claim, the session's start-up included
    assert row["finished_at"] - row["started_at"] < 10 + 10
    assert 1 <= svc.items(limited) < ROWS
    deadline = time.monotonic() + 60
    while (job(svc, handed)["progress"].get("done") or 0) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    first.terminate()  # SIGTERM: the session is interrupted and the run handed back
    assert first.wait(timeout=60) == 0
    row = job(svc, handed)
    assert row["status"] == "queued" and "shut down" in row["message"], row
    workers.start("t2", shared)
    row = wait_for(svc, handed, ("done", "failed"))
    assert row["status"] == "done" and row["attempts"] == 2 and svc.items(handed) == ROWS


def test_events_stream_progress_until_the_end(svc: Server, workers: Workers) -> None:
    run_id = start(svc, {"models": ["sim:slow"], "suites": ["arith"],
                         "params": {"concurrency": 2}}).json()["run_id"]
    workers.start("e1")
    seen: list[dict[str, Any]] = []
    ended = None
    with httpx.stream("GET", f"{svc.url}/api/runs/{run_id}/events", timeout=120) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                if event == "progress":
                    seen.append(data)
                else:
                    ended = data
                    break
    assert ended == {"status": "done"}
    done = [s["progress"].get("done") or 0 for s in seen]
    assert done == sorted(done) and done[-1] == ROWS and len(set(done)) > 2
    live = [s for s in seen if s["status"] == "running" and s["progress"].get("done")]
    assert live and all(s["eta_s"] is not None and s["eta_basis"] for s in live)
    assert all(s["progress"]["tokens_per_s"] is None or s["progress"]["tokens_per_s"] > 0 for s in live)
    assert svc.get("/api/runs/nope/events").status_code == 404


def sim_config(workdir: Path, sim: SimServer, model: str, price: str = "") -> Path:
    """A worker's folder whose ``llmbench.yaml`` sends ``model`` to this test's simulator
    (so its calls can be counted there), priced when asked."""
    workdir.mkdir(parents=True, exist_ok=True)
    entry = f"    price: {price}\n" if price else ""
    (workdir / "llmbench.yaml").write_text(
        f"models:\n  {model}:\n    base_url: {sim.base_url}\n{entry}")
    return workdir


def local_records(workdir: Path, run_id: str) -> list[dict[str, Any]]:
    path = workdir / ".llmbench" / "runs" / run_id / "records.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def test_budget_stops_the_run_and_says_so(svc: Server, workers: Workers) -> None:
    with SimServer() as sim:
        folder = sim_config(workers.tmp / "b1", sim, "sim:default", PRICE)
        run_id = start(svc, {"models": ["sim:default"], "suites": ["arith"],
                             "params": {"concurrency": 1, "budget_usd": 0.03}}).json()["run_id"]
        workers.start("b1", folder, lease=30.0)  # no takeover on a loaded machine: it re-runs items
        row = wait_for(svc, run_id, ("done", "failed", "cancelled"))
        requests = int(sim.metrics["requests_total"])
    records = local_records(folder, run_id)
    called = [r for r in records if r["calls"]]
    skipped = [r for r in records if r["outcome"] == "skipped"]
    assert len(records) == ROWS and called and skipped, records
    assert requests == len(called)  # an item past the budget sent nothing
    assert all("llmbench budget $0.03 reached" in r["error"] and not r["calls"] for r in skipped)
    spent = sum(r["cost_usd"] for r in called)
    assert spent <= 0.03
    assert row["status"] == "failed", row
    assert row["message"] == (f"stopped at its budget of $0.03: ${spent:.4f} spent, "
                              f"{len(skipped)} items skipped"), row
    assert row["progress"]["budget_skips"] == len(skipped)
    assert abs(row["progress"]["cost_usd"] - spent) < 1e-9
    detail = svc.get(f"/api/runs/{run_id}").json()
    assert detail["items"] == ROWS and detail["info"]["budget_usd"] == 0.03


def test_dead_worker_run_resumed_from_the_database_on_another_machine(
        svc: Server, workers: Workers) -> None:
    """Two workers with their own folders (two machines): the second rebuilds the run from
    what the server ingested, and no item finished by the first runs again."""
    body = {"models": ["sim:slow"], "suites": ["arith"], "params": {"concurrency": 1}}
    with SimServer() as sim:
        one = sim_config(workers.tmp / "m1", sim, "sim:slow")
        two = sim_config(workers.tmp / "m2", sim, "sim:slow")
        run_id = start(svc, body).json()["run_id"]
        first = workers.start("m1", one)
        deadline = time.monotonic() + 120
        while True:  # kill between two items: all the first worker wrote is ingested
            ingested = svc.items(run_id)
            if ingested >= 3 and len(local_records(one, run_id)) == ingested:
                first.send_signal(signal.SIGKILL)
                killed_at = time.time()
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        first.wait()
        time.sleep(0.5)  # the session dies with its worker (PR_SET_PDEATHSIG)
        firsts = local_records(one, run_id)
        ran_first = [r["nodeid"] for r in firsts]
        kept = svc.items(run_id)
        workers.start("m2", two)
        row = wait_for(svc, run_id, ("done", "failed"), timeout=180)
        requests = int(sim.metrics["requests_total"])
    assert row["status"] == "done" and row["attempts"] == 2, row
    assert svc.items(run_id) == ROWS
    assert not (two / ".llmbench" / "runs" / run_id / "records.jsonl").samefile(
        one / ".llmbench" / "runs" / run_id / "records.jsonl")
    log = (two / "logs" / f"{run_id}.2.log").read_text()
    assert f"llmbench resume: {kept} records kept" in log, log[-2000:]
    second = local_records(two, run_id)
    carried = {r["nodeid"] for r in second[:kept]}
    ran_second = [r["nodeid"] for r in second[kept:]]
    # the kill falls between two items; an item that finished in the instant of the kill,
    # before its record was posted, is lost with the machine and runs again
    lost = set(ran_first) - carried
    assert carried <= set(ran_first) and len(carried) == kept >= 3 and len(lost) <= 1, (
        killed_at, [(r["nodeid"][-6:], r.get("finished_at")) for r in firsts])
    assert not carried & set(ran_second)  # nothing the server holds ran again
    assert len(ran_second) == len(set(ran_second)) == ROWS - kept
    assert sorted(n.split("::")[-1] for n in carried | set(ran_second)) == [
        f"arith[sim:slow/q{i:03d}]" for i in range(ROWS)]
    # the simulator saw the calls of each item's one run, plus at most the call the kill cut
    calls = sum(r["calls"] for r in firsts) + sum(r["calls"] for r in second[kept:])
    assert calls <= requests <= calls + 1, (requests, calls)


def test_budget_holds_over_a_resumed_run(svc: Server, workers: Workers) -> None:
    """The worker that takes over gets the budget less what the kept records cost."""
    with SimServer() as sim:
        one = sim_config(workers.tmp / "r1", sim, "sim:slow", PRICE)
        two = sim_config(workers.tmp / "r2", sim, "sim:slow", PRICE)
        run_id = start(svc, {"models": ["sim:slow"], "suites": ["arith"],
                             "params": {"concurrency": 1, "budget_usd": 0.05}}).json()["run_id"]
        first = workers.start("r1", one)
        deadline = time.monotonic() + 120
        while svc.items(run_id) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        workers.start("r2", two)
        row = wait_for(svc, run_id, ("done", "failed"), timeout=180)
    records = local_records(two, run_id)
    spent = sum(r["cost_usd"] or 0 for r in records)
    skipped = [r for r in records if r["outcome"] == "skipped"]
    assert len(records) == ROWS and skipped and spent <= 0.05, (spent, records)
    assert row["status"] == "failed" and "budget of $0.05" in row["message"], row
    log = (two / "logs" / f"{run_id}.2.log").read_text()
    assert "llmbench resume:" in log and "llmbench budget: $" in log, log[-1500:]
    assert "spent of $0.05" not in log  # the second session had what the first left
