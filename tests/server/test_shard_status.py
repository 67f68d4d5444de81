"""A sharded run (``--llmbench-shard i/N``, one pytest run per machine) posting to a live
server: the run stays ``partial`` until every shard has reported its end, then takes the
worst of their statuses. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tests.server.conftest import Server, bench_run

ROWS = 20


def _shard(server: Server, root: Path, run_id: str, shard: str) -> int:
    proc, run_dir = bench_run(root, run_id=run_id, rows=ROWS, extra=[
        "--llmbench-shard", shard, "--llmbench-ingest-url", server.url + "/api/ingest",
        "--llmbench-ingest-required"], env={"INGEST_API_KEY": server.key("ingest")})
    assert proc.returncode == 0 and "acknowledged by" in proc.stdout, proc.stdout[-3000:]
    index, count = shard.split("/")
    records = run_dir.with_name(f"{run_id}.shard-{index}-of-{count}") / "records.jsonl"
    return sum(1 for line in records.read_text().splitlines() if line)


def test_sharded_run_is_complete_when_every_shard_reported(server: Server, tmp_path: Path) -> None:
    run_id = "two-shards"
    first = _shard(server, tmp_path / "machine-a", run_id, "0/2")
    detail = server.get(f"/api/runs/{run_id}").json()
    assert detail["status"] == "partial", detail["status"]
    assert detail["info"]["shards_ended"] == {"0": "completed"}
    assert detail["info"]["shard_count"] == 2 and detail["items"] == first
    assert run_id in server.get("/api/runs", params={"status": "partial"}).text
    assert "(1 of 2 shards reported)" in server.get(f"/runs/{run_id}").text
    second = _shard(server, tmp_path / "machine-b", run_id, "1/2")
    detail = server.get(f"/api/runs/{run_id}").json()
    assert detail["status"] == "completed", detail["status"]
    assert detail["info"]["shards_ended"] == {"0": "completed", "1": "completed"}
    assert first and second and detail["items"] == first + second == 2 * ROWS
    assert "(2 of 2 shards reported)" in server.get(f"/runs/{run_id}").text
    # a shard sent again (``llmbench ingest`` resends) changes nothing
    again = _shard(server, tmp_path / "machine-b2", run_id, "1/2")
    assert again == second
    assert server.get(f"/api/runs/{run_id}").json()["status"] == "completed"


def test_merge_info_takes_the_worst_shard_end_and_the_latest_single_post() -> None:
    from pytest_llmbench.server.ingest import merge_info

    def shard(i: int, status: str) -> dict[str, object]:
        return {"status": status, "shard": {"index": i, "count": 3, "source": "--llmbench-shard"}}

    info: dict[str, object] = {}
    for i, status in ((0, "completed"), (2, "interrupted"), (2, "interrupted")):
        info = merge_info(info, shard(i, status))
        assert info["status"] == "partial"
    info = merge_info(info, shard(1, "completed"))
    assert info["status"] == "interrupted" and info["shards_ended"] == {
        "0": "completed", "1": "completed", "2": "interrupted"}
    assert merge_info(info, shard(2, "completed"))["status"] == "completed"  # a resumed shard
    single = merge_info({"status": "interrupted", "started_at": 5.0}, {"status": "completed",
                                                                      "started_at": 9.0})
    assert single["status"] == "completed" and single["started_at"] == 5.0
