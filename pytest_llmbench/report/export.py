"""Signed export bundles: a zip of a run's files, a manifest of their SHA-256 hashes and
an Ed25519 signature of the manifest, and the check that names what was tampered with.

Layout of ``<run_id>.zip``: the run's files at the top (run.json, records.jsonl,
summaries, reports, compare.json), then ``signature/manifest.json``,
``signature/manifest.sig`` (raw 64-byte Ed25519 signature of the manifest's bytes) and
``signature/public_key.pem``. The embedded key only says who signed; trust comes
from ``llmbench verify --public-key`` with a key obtained elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.report import signing
from pytest_llmbench.report.ingest_spool import SPOOL_DIR
from pytest_llmbench.results.run_dir import RUN_FILE

SCHEMA = "pytest-llmbench.export"
SCHEMA_VERSION = 1
SIG_DIR = "signature/"
MANIFEST = SIG_DIR + "manifest.json"
SIGNATURE = SIG_DIR + "manifest.sig"
PUBLIC_KEY = SIG_DIR + "public_key.pem"
_SKIPPED_SUFFIXES = (".zip", ".tmp")


class ExportError(LLMBenchError):
    """A run that cannot be exported, or a file that is not an export bundle."""


def run_files(run_path: Path) -> list[Path]:
    """The files a bundle holds: everything in the run folder but the ingest spool,
    temporary files and earlier bundles."""
    if not (run_path / RUN_FILE).is_file():
        raise ExportError(f"{run_path}: not a run directory ({RUN_FILE} is missing)")
    files = []
    for path in sorted(run_path.rglob("*")):
        rel = path.relative_to(run_path)
        if (path.is_file() and not path.is_symlink() and rel.parts[0] != SPOOL_DIR
                and not path.name.endswith(_SKIPPED_SUFFIXES)):
            files.append(path)
    return files


def export_run(run_path: Path, out: Path | None = None, key_file: Path | None = None) -> Path:
    """Write the bundle (signed when ``key_file`` is given) and return its path."""
    files = run_files(run_path)
    info = json.loads((run_path / RUN_FILE).read_text(encoding="utf-8"))
    run_id = str(info.get("run_id") or run_path.name)
    out = out or run_path / f"{run_id}.zip"
    private = signing.load_private_key(key_file) if key_file else None
    entries: dict[str, Any] = {}
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in files:
            name = path.relative_to(run_path).as_posix()
            data = path.read_bytes()
            entries[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            bundle.writestr(name, data)
        manifest: dict[str, Any] = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION,
                                    "run_id": run_id, "created_at": time.time(), "files": entries}
        if private is not None:
            manifest["signer"] = {"algorithm": "Ed25519",
                                  "fingerprint": signing.fingerprint(private.public_key())}
        manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
        bundle.writestr(MANIFEST, manifest_bytes)
        if private is not None:
            bundle.writestr(SIGNATURE, private.sign(manifest_bytes))
            bundle.writestr(PUBLIC_KEY, signing.public_pem(private.public_key()))
    tmp.replace(out)
    return out


@dataclass
class Verification:
    signed: bool = False
    trusted: bool = False
    fingerprint: str | None = None
    files: int = 0
    against: str = "the manifest"
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.problems:
            return "INVALID: " + "; ".join(self.problems)
        if not self.signed:
            return f"valid (unsigned): {self.files} files match {self.against}"
        who = "the given public key" if self.trusted else \
            f"the embedded key {self.fingerprint} (not checked against a trusted key: pass --public-key)"
        return f"valid: {self.files} files match {self.against}, signed by {who}"


def verify_bundle(bundle_path: Path, public_key: Path | None = None) -> Verification:
    """Check the signature, then every file's hash; every problem names the file."""
    result = Verification()
    try:
        bundle = zipfile.ZipFile(bundle_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ExportError(f"{bundle_path}: not a readable zip ({exc})") from None
    with bundle:
        names = set(bundle.namelist())
        if MANIFEST not in names:
            raise ExportError(f"{bundle_path}: not an llmbench export ({MANIFEST} is missing)")
        manifest_bytes = bundle.read(MANIFEST)
        _check_signature(bundle, names, manifest_bytes, public_key, result)
        try:
            manifest = json.loads(manifest_bytes)
            files: dict[str, dict[str, Any]] = manifest["files"]
        except (ValueError, KeyError, TypeError):
            result.problems.append(f"{MANIFEST} is not a valid manifest")
            return result
        result.files = len(files)
        for name, entry in sorted(files.items()):
            if name not in names:
                result.problems.append(f"{name} is missing")
            elif hashlib.sha256(bundle.read(name)).hexdigest() != entry.get("sha256"):
                result.problems.append(f"{name} was altered (SHA-256 differs from the manifest)")
        for name in sorted(names - set(files) - {MANIFEST, SIGNATURE, PUBLIC_KEY}):
            if not name.endswith("/"):
                result.problems.append(f"{name} was added (not in the manifest)")
    return result


def _check_signature(bundle: zipfile.ZipFile, names: set[str], manifest_bytes: bytes,
                     trusted_key: Path | None, result: Verification) -> None:
    if SIGNATURE not in names:
        if trusted_key is not None:
            result.problems.append(f"the bundle is not signed ({SIGNATURE} is missing)")
        return
    result.signed = True
    if PUBLIC_KEY not in names and trusted_key is None:
        result.problems.append(f"{PUBLIC_KEY} is missing: pass --public-key")
        return
    key = signing.load_public_key(trusted_key) if trusted_key else \
        signing.public_key_from_pem(bundle.read(PUBLIC_KEY), PUBLIC_KEY)
    result.fingerprint = signing.fingerprint(key)
    result.trusted = trusted_key is not None
    if not signing.check(key, bundle.read(SIGNATURE), manifest_bytes):
        embedded = (signing.public_key_from_pem(bundle.read(PUBLIC_KEY), PUBLIC_KEY)
                    if PUBLIC_KEY in names else None)
        if trusted_key and embedded is not None and signing.fingerprint(embedded) != result.fingerprint:
            result.problems.append(f"signed by another key ({signing.fingerprint(embedded)}), "
                                   f"not by {trusted_key} ({result.fingerprint})")
        else:
            result.problems.append(f"{MANIFEST} or {SIGNATURE} was altered (the signature does "
                                   "not match)")
