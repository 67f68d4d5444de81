"""Import, runs list, run, items, compare, trends, exports and verify through the JSON API
of a real server (SQLite and PostgreSQL), checked against the report code's own answers."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from pytest_llmbench.report import signing
from pytest_llmbench.report.compare import compare
from pytest_llmbench.report.compare_sides import side_from_path
from pytest_llmbench.report.export import export_run
from tests.server.conftest import Server, database_url, start_server
from tests.server.runs import make_run

BASE = ("base-0001", set(range(1, 3)), 1_800_000_000.0, 1.0)
REGRESSED = ("cand-0002", set(range(1, 3)) | set(range(10, 20)), 1_800_003_600.0, 1.0)
RECOVERED = ("next-0003", {1}, 1_800_007_200.0, 1.5)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Server, dict[str, Path]]]:
    tmp = tmp_path_factory.mktemp(f"views-{request.param}")
    private, public = signing.generate(tmp / "keys" / "server.pem")
    url = database_url(request.param, tmp, request)
    runs = {name: make_run(tmp / "runs", name, failing, started_at=at, latency=lat)
            for name, failing, at, lat in (BASE, REGRESSED, RECOVERED)}
    cli = [str(Path(sys.executable).parent / "llmbench"), "server", "--database-url", url]
    first = subprocess.run([*cli, "import", *map(str, runs.values())], capture_output=True, text=True,
                           timeout=300, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("120 of 120 records stored") == 3
    again = subprocess.run([*cli, "import", str(runs["cand-0002"])], capture_output=True, text=True,
                           timeout=300, check=False)
    assert "0 of 120 records stored (120 already there)" in again.stdout
    server = start_server(url, tmp, ["--signing-key", str(private), "--trusted-key", str(public),
                                     "--max-upload-mb", "1"])
    try:
        yield server, {**runs, "private": private, "public": public, "tmp": tmp}
    finally:
        server.stop()


def test_runs_list_filters_and_admin_actions(served: tuple[Server, dict[str, Path]]) -> None:
    server, _ = served
    listing = server.get("/api/runs").json()
    assert [r["run_id"] for r in listing["runs"]] == ["next-0003", "cand-0002", "base-0001"]
    second = server.get("/api/runs", params={"per_page": 1, "page": 2}).json()
    assert second["runs"][0]["run_id"] == "cand-0002" and second["pages"] == 3
    since = server.get("/api/runs", params={"since": "2027-01-15T08:30:00+00:00"}).json()["runs"]
    assert [r["run_id"] for r in since] == ["next-0003", "cand-0002"]
    until = server.get("/api/runs", params={"until": str(1_800_000_000.0)}).json()["runs"]
    assert [r["run_id"] for r in until] == ["base-0001"]
    assert server.get("/api/runs", params={"model": "m2"}).json()["total"] == 3
    assert server.get("/api/runs", params={"model": "m3"}).json()["total"] == 0
    forbidden = server.post("/api/runs/cand-0002/tags", json={"add": ["nightly"]},
                            headers=server.auth("read"))
    assert forbidden.status_code == 403
    tagged = server.post("/api/runs/cand-0002/tags", json={"add": ["nightly", "gpu"]},
                         headers=server.auth("admin"))
    assert tagged.json()["tags"] == ["gpu", "nightly"]
    assert [r["run_id"] for r in server.get("/api/runs", params={"tag": "nightly"}).json()["runs"]] == [
        "cand-0002"]
    assert server.post("/api/runs/cand-0002/annotation", json={"text": "prompt v2 broke c01x"},
                       headers=server.auth("admin")).status_code == 200
    assert server.get("/api/runs", params={"q": "PROMPT V2"}).json()["runs"][0]["run_id"] == "cand-0002"
    assert server.get("/api/runs", params={"q": "'; drop table runs; --"}).json()["total"] == 0
    assert server.get("/api/runs", params={"since": "yesterday"}).status_code == 400


def test_run_detail_and_items_match_the_report_code(served: tuple[Server, dict[str, Path]]) -> None:
    server, runs = served
    detail = server.get("/api/runs/cand-0002").json()
    local = {r["model"]: r for r in side_from_path(runs["cand-0002"]).rows.values()}
    for row in detail["summary"]:
        assert row["accuracy"] == pytest.approx(local[row["model"]]["accuracy"])
        assert row["accuracy_ci_low"] == pytest.approx(local[row["model"]]["accuracy_ci_low"])
    assert detail["rankings"]["s"][0]["model"] == "m2"
    failed = server.get("/api/runs/cand-0002/items", params={"outcome": "failed", "per_page": 5}).json()
    assert failed["total"] == 12 and failed["pages"] == 3 and len(failed["items"]) == 5
    assert all(i["outcome"] == "failed" and i["model"] == "m1" for i in failed["items"])
    found = server.get("/api/runs/cand-0002/items", params={"q": "c015", "model": "m1"}).json()
    assert [i["case_id"] for i in found["items"]] == ["c015"]
    item = server.get(f"/api/runs/cand-0002/items/{found['items'][0]['id']}").json()
    assert item["record"]["response"] == "wrong" and item["record"]["expected"] == "answer 15"
    assert server.get("/api/runs/nope").status_code == 404


def test_compare_has_llmbench_compares_paired_statistics(served: tuple[Server, dict[str, Path]]) -> None:
    server, runs = served
    doc = server.get("/api/compare", params={"runs": "base-0001,cand-0002"}).json()
    local = compare([side_from_path(runs["base-0001"]), side_from_path(runs["cand-0002"])])
    by_model = {r["model"]: r for r in doc["rows"]}
    for row in local["rows"]:
        assert by_model[row["model"]]["paired"] == pytest.approx(row["paired"])
        assert by_model[row["model"]]["regressions"] == row["regressions"]
    assert by_model["m1"]["paired"]["pass_to_fail"] == 10 and "accuracy" in by_model["m1"]["regressions"]
    matrix = server.get("/api/compare", params={"runs": "base-0001,cand-0002", "regressions": "1",
                                                "per_page": 100}).json()["matrix"]
    assert [r["case_id"] for r in matrix["rows"]] == [f"c{i:03d}" for i in range(10, 20)]
    cell = matrix["rows"][0]["cells"]
    assert cell["base-0001|m1"]["outcome"] == "passed" and cell["cand-0002|m1"]["outcome"] == "failed"
    assert cell["cand-0002|m1"]["response"] == "wrong"
    assert server.get("/api/compare", params={"runs": "base-0001"}).status_code == 400


def test_trends_mark_the_regressed_run(served: tuple[Server, dict[str, Path]]) -> None:
    server, _ = served
    doc = server.get("/api/trends", params={"metric": "accuracy", "model": "m1"}).json()
    (series,) = doc["series"]
    assert [p["run_id"] for p in series["points"]] == ["base-0001", "cand-0002", "next-0003"]
    assert [p["regression"] for p in series["points"]] == [False, True, False]
    latency = server.get("/api/trends", params={"metric": "latency_p95", "model": "m2"}).json()
    assert [p["regression"] for p in latency["series"][0]["points"]] == [False, False, True]
    assert server.get("/api/trends", params={"metric": "vibes"}).status_code == 400


def test_exports_and_verification(served: tuple[Server, dict[str, Path]]) -> None:
    server, paths = served
    csv_text = server.get("/api/runs/cand-0002/export.csv").text
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert {r["model"] for r in rows} == {"m1", "m2"}
    pdf = server.get("/api/runs/cand-0002/export.pdf")
    assert pdf.content.startswith(b"%PDF")
    assert "cand-0002" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    bundle = server.get("/api/runs/cand-0002/export.zip").content

    def verify(data: bytes, key: bytes | None = None) -> dict[str, Any]:
        files: dict[str, Any] = {"bundle": ("run.zip", data, "application/zip")}
        if key is not None:
            files["public_key"] = ("key.pem", key, "application/x-pem-file")
        response = server.post("/api/exports/verify", files=files)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    assert verify(bundle)["verdict"] == "valid"  # signed by the key the server trusts
    other_private, other_public = signing.generate(paths["tmp"] / "keys" / "other.pem")
    wrong_key = verify(bundle, other_public.read_bytes())
    assert wrong_key["verdict"] == "invalid" and "another key" in wrong_key["reason"]
    tampered = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data.replace(b'"failed"', b'"passed"') if name == "records.jsonl" else data)
    broken = verify(tampered.getvalue())
    assert broken["verdict"] == "invalid" and "records.jsonl was altered" in broken["reason"]
    unsigned = export_run(paths["base-0001"], paths["tmp"] / "unsigned.zip")
    assert verify(unsigned.read_bytes())["verdict"] == "untrusted"
    self_signed = export_run(paths["base-0001"], paths["tmp"] / "self.zip", key_file=other_private)
    assert verify(self_signed.read_bytes())["verdict"] == "untrusted"
    assert verify(self_signed.read_bytes(), other_public.read_bytes())["verdict"] == "valid"
    junk = verify(b"not a zip")
    assert junk["verdict"] == "invalid" and "not a readable zip" in junk["reason"]
    big = server.post("/api/exports/verify", files={"bundle": ("big.zip", b"0" * (2 << 20))})
    assert big.status_code == 413


def test_delete_needs_an_admin_key(served: tuple[Server, dict[str, Path]]) -> None:
    server, runs = served
    import httpx

    assert httpx.delete(server.url + "/api/runs/next-0003", headers=server.auth("ingest")).status_code == 403
    assert httpx.delete(server.url + "/api/runs/next-0003", headers=server.auth("admin")).status_code == 200
    assert server.get("/api/runs/next-0003").status_code == 404
    assert server.get("/api/runs/next-0003/items").status_code == 404


def test_reads_need_a_key_when_required(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    server = start_server(database_url("sqlite", tmp_path, request), tmp_path, ["--read-key", "required"])
    try:
        assert server.get("/api/runs").status_code == 401
        page = server.get("/")
        assert page.status_code == 401 and "API key" in page.text
        assert server.get("/api/runs", headers=server.auth("read")).status_code == 200
        assert server.get("/", headers=server.auth("read")).status_code == 200
    finally:
        server.stop()


def test_forms_need_the_csrf_token(served: tuple[Server, dict[str, Path]]) -> None:
    server, _ = served
    import httpx

    cookies = {"llmbench_key": server.key("admin")}
    no_token = httpx.post(server.url + "/runs/base-0001/admin", data={"action": "delete"}, cookies=cookies)
    assert no_token.status_code == 403 and "CSRF" in no_token.text
    forged = httpx.post(server.url + "/runs/base-0001/admin", cookies={**cookies, "llmbench_csrf": "a"},
                        data={"action": "delete", "csrf_token": "b"})
    assert forged.status_code == 403
    assert server.get("/api/runs/base-0001").status_code == 200
    assert server.key("admin") not in server.get("/runs/base-0001", cookies=cookies).text
