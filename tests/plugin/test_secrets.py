"""No secret anywhere: a key a server echoes (in an error message, in an answer) and the
password of the ingest URL never reach any file of the run, the terminal or the payload."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pytest_llmbench.redaction import Scrubber, scrub, strip_userinfo
from tests.conftest import read_records, write_suite
from tests.malformed_server import MalformedServer

GATEWAY = "gwKEYplanted0123456789"  # a config key through ${VAR}: no telltale name or shape
ANTHROPIC = "antKEYplanted987654321"
INGEST_PW = "PWplanted55555xyz"


def _files(root: Path) -> list[tuple[Path, bytes]]:
    """Every file under ``root``, the members of zip bundles too."""
    out = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        out.append((path, data))
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as bundle:
                out += [(path / name, bundle.read(name)) for name in bundle.namelist()]
    return out


def test_planted_keys_and_url_password_appear_nowhere(pytester: pytest.Pytester,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_llmbench.report.signing import generate

    monkeypatch.setenv("GATEWAY_CRED", GATEWAY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC)
    monkeypatch.delenv("INGEST_API_KEY", raising=False)
    rows = [{"id": f"c{i}", "question": "the capital of France", "answer": "Paris"}
            for i in range(2)]
    write_suite(pytester.path, rows=rows)
    generate(pytester.path / "signing.key")
    with MalformedServer() as server:
        pytester.makefile(".yaml", llmbench=f"""
models:
  openai:echo:
    base_url: {server.base_url}/v1
    api_key: ${{GATEWAY_CRED}}
    max_retries: 0
    headers: {{x-bad-mode: echo_key}}
  openai:reject:
    base_url: {server.base_url}/v1
    api_key: ${{GATEWAY_CRED}}
    max_retries: 0
    headers: {{x-bad-mode: error_key}}
  anthropic:reject:
    base_url: {server.base_url}
    max_retries: 0
    headers: {{x-bad-mode: error_key}}
""")
        ingest_url = f"http://ingestuser:{INGEST_PW}@127.0.0.1:{server.port}/ingest"
        result = pytester.runpytest_subprocess(
            "arith.yaml", "--llmbench-models", "openai:echo,openai:reject,anthropic:reject",
            "-n", "2", "--llmbench-debug", "--llmbench-cache", "readwrite",
            "--llmbench-record", "rec", "--llmbench-sign", "signing.key",
            "--llmbench-ingest-url", ingest_url, "--junitxml", "junit.xml",
            "-p", "no:cacheprovider")
        ingested = list(server.ingested)
    result.assert_outcomes(failed=2, errors=4)
    out = result.stdout.str() + result.stderr.str()
    # the echoes did happen, and were redacted
    assert "Incorrect API key provided: [redacted]" in out
    records = read_records(pytester)
    assert {r["error"] for r in records if r["outcome"] == "error"} == {
        "openai:reject - AuthenticationError: Incorrect API key provided: [redacted]",
        "anthropic:reject - AuthenticationError: Incorrect API key provided: [redacted]"}
    assert {r["response"] for r in records if r["outcome"] == "failed"} == {
        "Paris (you sent [redacted])"}
    # the ingest went out with the URL's credentials as Basic auth, not in the payload
    assert ingested and all(h.get("authorization", "").startswith("Basic ")
                            for h, _ in ingested)
    run = pytester.path / ".llmbench" / "runs" / "latest"
    names = {p.name for p, _ in _files(pytester.path)}
    assert {"records.jsonl", "records.csv", "run.json", "report.html", "junit.xml",
            "debug.log", "state.json"} <= names
    assert any(p.suffix == ".zip" for p in run.iterdir())
    assert (run / "run.json").read_text().count(f"127.0.0.1:{server.port}/ingest") >= 1
    for secret in (GATEWAY, ANTHROPIC, INGEST_PW):
        assert secret not in out
        for path, data in _files(pytester.path):
            assert secret.encode() not in data, f"{secret} in {path}"
        for _, body in ingested:
            assert secret.encode() not in body


def test_strip_userinfo_remembers_the_password() -> None:
    url = "https://bob:s3cr3t-pass-word@ingest.example.com:8443/api?x=1"
    assert strip_userinfo(url) == "https://ingest.example.com:8443/api?x=1"
    assert scrub("the password s3cr3t-pass-word leaked") == "the password [redacted] leaked"
    assert Scrubber()("see http://u:p4ssw0rd@h/x") == "see http://h/x"
