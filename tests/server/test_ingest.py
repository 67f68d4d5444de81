"""The ingest API against what the plugin really posts: a pytest run lands whole; resent
batches and overlapping shards store each item once; a bad batch stores nothing and
gets one 4xx line; keys and scopes are enforced. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_llmbench.report.ingest_spool import encode, idempotency_key, split_batches
from tests.server.conftest import Server, bench_run, read_jsonl


def _record(run_id: str, i: int, **extra: Any) -> dict[str, Any]:
    return {"run_id": run_id, "nodeid": f"arith.yaml::arith[m/q{i:05d}]", "suite": "arith",
            "case_id": f"q{i:05d}", "model": "m", "outcome": "passed" if i % 3 else "failed",
            "score": 1.0 if i % 3 else 0.0, "latency_s": 0.5 + (i % 7) / 10, "calls": 1, **extra}


def _post(server: Server, batch: dict[str, Any], key: str | None = None,
          scope: str = "ingest") -> httpx.Response:
    body = encode(batch)
    headers = {**server.auth(scope), "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    return server.post("/api/ingest", content=body, headers=headers)


def _payload(run_id: str, records: list[dict[str, Any]], size: int = 500) -> list[dict[str, Any]]:
    return split_batches({"schema": "pytest-llmbench.ingest", "schema_version": 1, "run_id": run_id,
                          "run": {"run_id": run_id, "status": "completed", "started_at": 1.0e9},
                          "summaries": [], "compare": None, "records": records}, size)


def test_a_pytest_run_posts_straight_to_the_server(server: Server, tmp_path: Path) -> None:
    proc, run_dir = bench_run(tmp_path / "run", run_id="posted-run", extra=[
        "--llmbench-ingest-url", server.url + "/api/ingest", "--llmbench-ingest-batch-size", "7"],
        env={"INGEST_API_KEY": server.key("ingest")})
    assert "acknowledged by" in proc.stdout, proc.stdout[-2000:]
    records = read_jsonl(run_dir / "records.jsonl")
    detail = server.get("/api/runs/posted-run").json()
    assert detail["items"] == len(records) == 60
    assert detail["status"] == "completed"
    local = {(r["model"]): r for r in json.loads((run_dir / "summary.json").read_text())["rows"]}
    for row in detail["summary"]:
        assert row["n"] == local[row["model"]]["n"]
        assert row["accuracy"] == pytest.approx(local[row["model"]]["accuracy"])
        assert row["latency_p95"] == pytest.approx(local[row["model"]]["latency_p95"])
    # the whole run again under new keys (a second process posting the same records): nothing new
    batches = _payload("posted-run", records, 25)
    for batch in batches:
        assert _post(server, batch, key=f"other-{batch['batch']['index']}").json()["stored"] == 0
    assert server.items("posted-run") == 60


def test_a_resent_batch_changes_nothing(server: Server) -> None:
    run_id = "resend-run"
    batches = _payload(run_id, [_record(run_id, i) for i in range(1200)])
    keys = [idempotency_key(run_id, b["batch"]["index"], encode(b)) for b in batches]
    first = [_post(server, b, k).json() for b, k in zip(batches, keys, strict=True)]
    assert [f["status"] for f in first] == ["stored"] * len(batches)
    assert sum(f["stored"] for f in first) == 1200
    again = [_post(server, b, k).json() for b, k in zip(batches, keys, strict=True)]
    assert [a["status"] for a in again] == ["duplicate"] * len(batches)
    assert all(a["stored"] == 0 for a in again)
    assert server.items(run_id) == 1200


def test_shards_of_one_run_merge_with_each_item_once(server: Server) -> None:
    """Eight processes' worth of shards post concurrently; their records overlap."""
    run_id = "sharded-run"
    total = 4000
    shards = [[_record(run_id, i) for i in range(total) if i % 8 == s or i % 97 == 0] for s in range(8)]
    errors: list[str] = []

    def shard(records: list[dict[str, Any]], s: int) -> None:
        for batch in _payload(run_id, records, 250):
            response = _post(server, batch, key=f"{run_id}-{s}-{batch['batch']['index']}")
            if response.status_code != 200:
                errors.append(response.text)

    threads = [threading.Thread(target=shard, args=(records, s)) for s, records in enumerate(shards)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert server.items(run_id) == total
    page = server.get(f"/api/runs/{run_id}/items", params={"per_page": 500, "page": 8}).json()
    assert page["total"] == total and len(page["items"]) == 500
    ids = {it["case_id"] for p in range(1, 9) for it in
           server.get(f"/api/runs/{run_id}/items", params={"per_page": 500, "page": p}).json()["items"]}
    assert len(ids) == total
    summary = server.get(f"/api/runs/{run_id}").json()["summary"]
    assert summary[0]["n"] == total
    assert summary[0]["passed"] == sum(1 for i in range(total) if i % 3)


def test_a_bad_record_rejects_the_whole_batch_with_one_line(server: Server) -> None:
    run_id = "rejected-run"
    records = [_record(run_id, i) for i in range(3000)]
    records[2500]["outcome"] = "maybe"
    batch = _payload(run_id, records, 3000)[1]
    response = _post(server, batch, key="bad-batch")
    assert response.status_code == 422
    message = response.json()["error"]
    assert "\n" not in message and "records[2500]" in message and "outcome" in message
    assert server.get(f"/api/runs/{run_id}").status_code == 404  # nothing partial, not even the run
    records[2500]["outcome"] = "passed"
    fixed = _payload(run_id, records, 3000)[1]
    assert _post(server, fixed, key="bad-batch").json()["stored"] == 3000  # the key was not burnt
    assert server.items(run_id) == 3000


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"{not json", 400, "not valid JSON"),
    (b'{"schema": "other", "run_id": "x"}', 422, "'schema' must be"),
    (b'{"schema": "pytest-llmbench.ingest", "schema_version": 1, "run_id": "",'
     b' "batch": {"index": 0, "total": 1, "kind": "run"}, "run": {}}', 422, "run_id"),
    (b'{"schema": "pytest-llmbench.ingest", "schema_version": 1, "run_id": "r",'
     b' "batch": {"index": 1, "total": 2, "kind": "records"}, "records": [{"nodeid": "a",'
     b' "suite": "s", "case_id": "c", "model": "m", "outcome": "passed", "score": "high"}]}', 422,
     "records[0]: 'score'"),
])
def test_malformed_batches_get_a_clear_4xx(server: Server, body: bytes, status: int, words: str) -> None:
    response = server.post("/api/ingest", content=body,
                           headers={**server.auth("ingest"), "Content-Type": "application/json"})
    assert response.status_code == status
    assert words in response.json()["error"]


def test_keys_and_scopes(server: Server) -> None:
    batch = _payload("auth-run", [_record("auth-run", 1)])[0]
    body = encode(batch)
    plain = {"Content-Type": "application/json"}
    assert server.post("/api/ingest", content=body, headers=plain).status_code == 401
    assert server.post("/api/ingest", content=body,
                       headers={**plain, "Authorization": "Bearer llmb_nope"}).status_code == 401
    forbidden = server.post("/api/ingest", content=body, headers={**plain, **server.auth("read")})
    assert forbidden.status_code == 403 and "scope" in forbidden.json()["error"]
    assert server.key("read") not in forbidden.text
    assert server.post("/api/ingest", content=body,
                       headers={**plain, "X-API-Key": server.key("ingest")}).status_code == 200
    assert server.post("/api/ingest", content=body, headers={**plain, **server.auth("admin")}).json()[
        "status"] == "duplicate"
    assert server.post("/api/ingest", content=body, headers={"Authorization": plain["Content-Type"]}
                       ).status_code == 401


def test_a_batch_over_the_limit_is_refused_before_it_is_stored(server: Server) -> None:
    run_id = "huge-run"
    records = [_record(run_id, i, response="x" * 2000) for i in range(2500)]  # ~5 MB > 4 MB limit
    batch = _payload(run_id, records, 2500)[1]
    response = _post(server, batch, key="huge")

    def chunks() -> Any:  # streamed, no Content-Length: the limit still holds
        body = encode(batch)
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]

    streamed = server.post("/api/ingest", content=chunks(),
                           headers={**server.auth("ingest"), "Content-Type": "application/json"})
    for answer in (response, streamed):
        assert answer.status_code == 413
        assert "max-ingest-mb" in answer.json()["error"]
    assert server.get(f"/api/runs/{run_id}").status_code == 404
