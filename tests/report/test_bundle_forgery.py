"""Forged bundles against ``llmbench verify``: duplicate entries, entries outside the
manifest, non-portable names, a swapped or unsigned embedded key and re-signing by
another key are all rejected; exit 0 only for a signature by a key the user trusts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from pytest_llmbench.report import signing
from tests.report.runs import cases, make_run

FORGED = b'{"case_id": "q0000", "outcome": "passed", "forged": true}\n'


def llmbench(*args: str, cwd: Path, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "pytest_llmbench.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, **(env or {})})


def entries(bundle: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(bundle) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def write(out: Path, items: list[tuple[str, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicates we forge
        with zipfile.ZipFile(out, "w") as z:
            for name, data in items:
                z.writestr(name, data)
    return out


def resign(items: list[tuple[str, bytes]], key_file: Path, *,
           name_key: bool = True) -> list[tuple[str, bytes]]:
    """The bundle re-signed by another key (an attacker's): manifest, sig and key replaced."""
    private = signing.load_private_key(key_file)
    pem = signing.public_pem(private.public_key())
    manifest = json.loads(dict(items)["signature/manifest.json"])
    manifest["signer"] = {"algorithm": "Ed25519",
                          "fingerprint": signing.fingerprint(private.public_key())}
    if name_key:
        manifest["signer"]["public_key"] = pem.decode()
    data = json.dumps(manifest).encode()
    replaced = {"signature/manifest.json": data, "signature/manifest.sig": private.sign(data),
                "signature/public_key.pem": pem}
    return [(n, replaced.get(n, d)) for n, d in items]


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    run = make_run(tmp_path / ".llmbench" / "runs", "r1", cases(4))
    assert llmbench("keygen", "keys/bench", cwd=tmp_path).returncode == 0
    assert llmbench("keygen", "keys/attacker", cwd=tmp_path).returncode == 0
    out = llmbench("export", "r1", "--sign", "keys/bench", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return run / "r1.zip", tmp_path / "keys/bench.pub"


def verify(bundle: Path, *args: str, cwd: Path, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return llmbench("verify", str(bundle), *args, cwd=cwd, env=env)


def test_a_duplicate_records_entry_placed_first_is_rejected(signed: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    bundle, pub = signed
    forged = write(tmp_path / "dup.zip", [("records.jsonl", FORGED), *entries(bundle)])
    if shutil.which("unzip"):  # what a person extracting it would see: the forged line
        shown = subprocess.run(["unzip", "-p", str(forged), "records.jsonl"],
                               capture_output=True, check=False).stdout
        assert shown.startswith(FORGED)
    result = verify(forged, "--public-key", str(pub), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.strip() == (f"{forged}: INVALID: records.jsonl appears 2 times (a zip "
                                     "reader may show any of them)")


def test_a_duplicate_manifest_is_rejected(signed: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pub = signed
    items = entries(bundle)
    forged = write(tmp_path / "dup.zip", [("signature/manifest.json", b"{}"), *items])
    result = verify(forged, "--public-key", str(pub), cwd=tmp_path)
    assert result.returncode == 1 and "signature/manifest.json appears 2 times" in result.stdout


@pytest.mark.parametrize(("name", "words"), [
    ("extra.txt", "extra.txt was added (not in the manifest)"),
    ("evil/", "entry name 'evil/' is not portable: it has an empty, '.' or '..' part"),
    ("../records.jsonl", "it has an empty, '.' or '..' part"),
    ("C:records.jsonl", "it holds ':' or"),
    ("/etc/passwd", "it is absolute"),
    ("a\\b.txt", "it holds ':' or"),
    ("a b.txt", "it has characters outside"),
])
def test_entries_outside_the_manifest_or_not_portable_are_rejected(
        signed: tuple[Path, Path], tmp_path: Path, name: str, words: str) -> None:
    bundle, pub = signed
    forged = write(tmp_path / "extra.zip", [*entries(bundle), (name, b"x")])
    result = verify(forged, "--public-key", str(pub), cwd=tmp_path)
    assert result.returncode == 1 and words in result.stdout, result.stdout


def test_a_swapped_embedded_key_is_rejected(signed: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pub = signed
    other = (tmp_path / "keys/attacker.pub").read_bytes()
    items = [(n, other if n == "signature/public_key.pem" else d) for n, d in entries(bundle)]
    result = verify(write(tmp_path / "swap.zip", items), "--public-key", str(pub), cwd=tmp_path)
    assert result.returncode == 1
    assert "signature/public_key.pem (ed25519:" in result.stdout
    assert "is not the key the manifest names" in result.stdout


def test_an_embedded_key_the_signature_does_not_cover_is_rejected(
        signed: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pub = signed
    items = resign(entries(bundle), tmp_path / "keys/attacker", name_key=False)
    result = verify(write(tmp_path / "v1.zip", items), "--public-key", str(pub), cwd=tmp_path)
    assert result.returncode == 1
    assert "does not name the signer's public key" in result.stdout


def test_a_bundle_resigned_by_another_key_is_untrusted(signed: tuple[Path, Path],
                                                       tmp_path: Path) -> None:
    bundle, pub = signed
    items = [(n, FORGED if n == "records.jsonl" else d) for n, d in entries(bundle)]
    manifest = json.loads(dict(items)["signature/manifest.json"])
    import hashlib

    manifest["files"]["records.jsonl"]["sha256"] = hashlib.sha256(FORGED).hexdigest()
    items = [(n, json.dumps(manifest).encode() if n == "signature/manifest.json" else d)
             for n, d in items]
    forged = write(tmp_path / "resigned.zip", resign(items, tmp_path / "keys/attacker"))
    trusted = verify(forged, "--public-key", str(pub), cwd=tmp_path)
    assert trusted.returncode == 3
    assert "UNTRUSTED:" in trusted.stdout and "not among the 1 trusted keys" in trusted.stdout
    nobody = verify(forged, cwd=tmp_path)
    assert nobody.returncode == 3 and "no trusted key was given" in nobody.stdout


def test_trusted_keys_file_and_environment(signed: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, pub = signed
    keys = tmp_path / "trusted_keys.pem"
    keys.write_text("# the attacker's key first, then ours\n"
                    + (tmp_path / "keys/attacker.pub").read_text() + "\n" + pub.read_text())
    by_file = verify(bundle, "--trusted-keys", str(keys), cwd=tmp_path)
    assert by_file.returncode == 0, by_file.stdout
    assert f"(trusted in --trusted-keys {keys})" in by_file.stdout
    by_env = verify(bundle, cwd=tmp_path, env={"LLMBENCH_TRUSTED_KEYS": str(keys)})
    assert by_env.returncode == 0 and "LLMBENCH_TRUSTED_KEYS" in by_env.stdout
    only_attacker = verify(bundle, "--public-key", "keys/attacker.pub", cwd=tmp_path)
    assert only_attacker.returncode == 3
    (tmp_path / "empty.pem").write_text("no keys here\n")
    bad = verify(bundle, "--trusted-keys", "empty.pem", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "llmbench verify: error: empty.pem: no PEM public key in it"


def test_an_unsigned_bundle_is_not_verified(tmp_path: Path) -> None:
    run = make_run(tmp_path / ".llmbench" / "runs", "r1", cases(2))
    assert llmbench("export", "r1", cwd=tmp_path).returncode == 0
    result = verify(run / "r1.zip", cwd=tmp_path)
    assert result.returncode == 4
    assert "NOT VERIFIED (unsigned): 2 files match the manifest" in result.stdout


def test_export_names_are_portable_and_lock_files_stay_out(tmp_path: Path) -> None:
    run = make_run(tmp_path / ".llmbench" / "runs", "r1", cases(2))
    (run / "records.jsonl.lock").write_text("")
    fitted = run / "variants" / "s" / "v" / "openai:gpt-4o.json"
    fitted.parent.mkdir(parents=True)
    fitted.write_text("{}")
    assert llmbench("keygen", "k", cwd=tmp_path).returncode == 0
    assert llmbench("export", "r1", "--sign", "k", cwd=tmp_path).returncode == 0
    names = [n for n, _ in entries(run / "r1.zip")]
    assert "variants/s/v/openai%3Agpt-4o.json" in names
    assert not any(":" in n or n.endswith(".lock") for n in names), names
    manifest = json.loads(dict(entries(run / "r1.zip"))["signature/manifest.json"])
    assert manifest["files"]["variants/s/v/openai%3Agpt-4o.json"]["path"] == \
        "variants/s/v/openai:gpt-4o.json"
    ok = verify(run / "r1.zip", "--public-key", "k.pub", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout
