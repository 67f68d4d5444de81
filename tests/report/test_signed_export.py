"""``llmbench keygen | export | verify`` and ``--llmbench-sign``: a good bundle verifies,
and altering, removing or adding any file, or signing with another key, is named."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import write_suite
from tests.report.runs import cases, make_run


def llmbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


def rewrite(bundle: Path, out: Path, change: dict[str, bytes | None]) -> Path:
    """A copy of ``bundle`` with members replaced (bytes), removed (None) or added."""
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name not in change:
                dst.writestr(name, src.read(name))
        for name, data in change.items():
            if data is not None:
                dst.writestr(name, data)
    return out


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    runs = tmp_path / ".llmbench" / "runs"
    run = make_run(runs, "r1", cases(20, {3}))
    (run / "summary.json").write_text('{"rows": []}\n')
    (run / "ingest").mkdir()
    (run / "ingest" / "state.json").write_text("{}")
    keys = llmbench("keygen", "keys/bench", cwd=tmp_path)
    assert keys.returncode == 0, keys.stderr
    assert (tmp_path / "keys/bench").stat().st_mode & 0o777 == 0o600
    out = llmbench("export", "r1", "--sign", "keys/bench", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"signed bundle written: {run / 'r1.zip'}"
    return run / "r1.zip", tmp_path / "keys/bench.pub"


def test_good_bundle_verifies(signed: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pub = signed
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("signature/manifest.json"))
    assert names == {"run.json", "records.jsonl", "summary.json", "signature/manifest.json",
                     "signature/manifest.sig", "signature/public_key.pem"}  # no ingest spool
    assert manifest["run_id"] == "r1" and set(manifest["files"]) == {"run.json", "records.jsonl",
                                                                     "summary.json"}
    ok = llmbench("verify", str(bundle), "--public-key", str(pub), cwd=tmp_path)
    assert ok.returncode == 0
    assert ok.stdout.strip() == f"{bundle}: valid: 3 files match the manifest, signed by the given public key"
    untrusted = llmbench("verify", str(bundle), cwd=tmp_path)
    assert untrusted.returncode == 3
    assert untrusted.stdout.strip().startswith(f"{bundle}: UNTRUSTED: 3 files match the manifest, "
                                               "validly signed by ed25519:")
    assert "no trusted key was given" in untrusted.stdout


@pytest.mark.parametrize("name", ["run.json", "records.jsonl", "summary.json"])
def test_each_altered_file_is_named(signed: tuple[Path, Path], tmp_path: Path, name: str) -> None:
    bundle, pub = signed
    with zipfile.ZipFile(bundle) as z:
        data = z.read(name) + b" "
    bad = rewrite(bundle, tmp_path / "bad.zip", {name: data})
    result = llmbench("verify", str(bad), "--public-key", str(pub), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.strip() == (f"{bad}: INVALID: {name} was altered (SHA-256 differs from "
                                     "the manifest)")


def test_manifest_signature_removal_and_additions(signed: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pub = signed
    with zipfile.ZipFile(bundle) as z:
        manifest = json.loads(z.read("signature/manifest.json"))
    # an attacker who alters a file and updates its hash in the manifest breaks the signature
    manifest["files"]["records.jsonl"]["sha256"] = "0" * 64
    forged = rewrite(bundle, tmp_path / "forged.zip",
                     {"signature/manifest.json": json.dumps(manifest).encode()})
    out = llmbench("verify", str(forged), "--public-key", str(pub), cwd=tmp_path).stdout
    assert "signature/manifest.json or signature/manifest.sig was altered" in out
    removed = rewrite(bundle, tmp_path / "removed.zip", {"records.jsonl": None, "extra.txt": b"x"})
    out = llmbench("verify", str(removed), "--public-key", str(pub), cwd=tmp_path).stdout
    assert "records.jsonl is missing; extra.txt was added (not in the manifest)" in out
    unsigned = rewrite(bundle, tmp_path / "unsigned.zip", {"signature/manifest.sig": None})
    out = llmbench("verify", str(unsigned), "--public-key", str(pub), cwd=tmp_path).stdout
    assert "the bundle is not signed" in out


def test_another_signers_key_is_rejected(signed: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, _ = signed
    llmbench("keygen", "other", cwd=tmp_path)
    result = llmbench("verify", str(bundle), "--public-key", "other.pub", cwd=tmp_path)
    assert result.returncode == 3
    assert "UNTRUSTED: 3 files match the manifest, validly signed by ed25519:" in result.stdout
    assert "not among the 1 trusted keys" in result.stdout


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "not.zip").write_text("hello")
    bad = llmbench("verify", "not.zip", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("llmbench verify: error: not.zip: not a readable zip")
    make_run(tmp_path / ".llmbench" / "runs", "r1", cases(2))
    (tmp_path / "k").write_text("nope")
    out = llmbench("export", "r1", "--sign", "k", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith("llmbench export: error: k: not an unencrypted PEM private key")
    llmbench("keygen", "k2", cwd=tmp_path)
    again = llmbench("keygen", "k2", cwd=tmp_path)
    assert again.returncode == 2 and "k2 exists (pass --force to replace it)" in again.stderr


def test_sign_at_the_end_of_a_run(pytester: pytest.Pytester) -> None:
    from pytest_llmbench.report.export import verify_bundle
    from pytest_llmbench.report.signing import generate

    write_suite(pytester.path)
    private, public = generate(pytester.path / "signing.key")
    result = pytester.runpytest("arith.yaml", "--llmbench-models", "inproc:oracle",
                                "--llmbench-run-id", "r1", "--llmbench-sign", "signing.key")
    assert result.ret == pytest.ExitCode.OK
    bundle = pytester.path / ".llmbench" / "runs" / "r1" / "r1.zip"
    result.stdout.fnmatch_lines([f"signed export: {bundle}"])
    verification = verify_bundle(bundle, public)
    assert verification.valid and verification.trusted
    assert verification.files >= 4  # run.json, records.jsonl, records.csv, summary.json/csv
    missing = pytester.runpytest("arith.yaml", "--llmbench-sign", "missing.key")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["*missing.key: cannot read the private key*"])
