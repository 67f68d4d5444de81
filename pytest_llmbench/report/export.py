"""Signed export bundles: a zip of a run's files, a manifest of their SHA-256 hashes and
an Ed25519 signature of the manifest, and the check that names what was tampered with.

Layout of ``<run_id>.zip``: the run's files at the top (run.json, records.jsonl,
summaries, reports, compare.json), then ``signature/manifest.json``,
``signature/manifest.sig`` (raw 64-byte Ed25519 signature of the manifest's bytes) and
``signature/public_key.pem``. The manifest names the signer's public key, so the
embedded key is covered by the signature. The embedded key only says who signed;
trust comes from a key obtained elsewhere (``report/trust.py``).

A bundle verifies only when it is unambiguous: every entry name appears once, is
portable (no ``:``, ``\\``, ``..``) and is in the manifest (or is one of the three
signature files), and the embedded key is the one the manifest names. Lock files and
temporary files never enter a bundle.
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmbench.errors import LLMBenchError
from pytest_llmbench.report import signing, trust
from pytest_llmbench.report.ingest_spool import SPOOL_DIR
from pytest_llmbench.results.run_dir import RUN_FILE

SCHEMA = "pytest-llmbench.export"
SCHEMA_VERSION = 2  # 2: the manifest names the signer's public key
SIG_DIR = "signature/"
MANIFEST = SIG_DIR + "manifest.json"
SIGNATURE = SIG_DIR + "manifest.sig"
PUBLIC_KEY = SIG_DIR + "public_key.pem"
_SKIPPED_SUFFIXES = (".zip", ".tmp", ".lock")
EXIT_VERIFIED, EXIT_INVALID, EXIT_UNTRUSTED, EXIT_UNSIGNED = 0, 1, 3, 4


class ExportError(LLMBenchError):
    """A run that cannot be exported, or a file that is not an export bundle."""


def run_files(run_path: Path) -> list[Path]:
    """The files a bundle holds: everything in the run folder but the ingest spool,
    temporary and lock files and earlier bundles."""
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
            relative = path.relative_to(run_path).as_posix()
            name = trust.portable_name(relative)
            if name in entries:
                raise ExportError(f"{path}: two files map to the bundle entry {name!r}")
            data = path.read_bytes()
            entries[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                             **({"path": relative} if name != relative else {})}
            bundle.writestr(name, data)
        manifest: dict[str, Any] = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION,
                                    "run_id": run_id, "created_at": time.time(), "files": entries}
        if private is not None:
            manifest["signer"] = {"algorithm": "Ed25519",
                                  "fingerprint": signing.fingerprint(private.public_key()),
                                  "public_key": signing.public_pem(private.public_key())
                                  .decode("ascii")}
        manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")
        bundle.writestr(MANIFEST, manifest_bytes)
        if private is not None:
            bundle.writestr(SIGNATURE, private.sign(manifest_bytes))
            bundle.writestr(PUBLIC_KEY, signing.public_pem(private.public_key()))
    tmp.replace(out)
    return out


@dataclass
class Verification:
    """What a check found. ``exit_code``: 0 only for intact files signed by a trusted key."""

    signed: bool = False
    trusted: bool = False
    fingerprint: str | None = None
    files: int = 0
    against: str = "the manifest"
    trusted_by: str | None = None
    trusted_count: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Intact: no problem found (says nothing about who signed)."""
        return not self.problems

    @property
    def verified(self) -> bool:
        return self.valid and self.signed and self.trusted

    @property
    def exit_code(self) -> int:
        if self.problems:
            return EXIT_INVALID
        if not self.signed:
            return EXIT_UNSIGNED
        return EXIT_VERIFIED if self.trusted else EXIT_UNTRUSTED

    def summary(self) -> str:
        if self.problems:
            return "INVALID: " + "; ".join(self.problems)
        if not self.signed:
            return (f"NOT VERIFIED (unsigned): {self.files} files match {self.against}, but "
                    "no signature says who wrote them")
        if not self.trusted:
            where = (f"not among the {self.trusted_count} trusted keys" if self.trusted_count
                     else "no trusted key was given: pass --public-key, --trusted-keys or set "
                          f"${trust.ENV}")
            return (f"UNTRUSTED: {self.files} files match {self.against}, validly signed by "
                    f"{self.fingerprint}, which is not a key you trust ({where})")
        who = "the given public key" if self.trusted_by and \
            self.trusted_by.startswith("--public-key") else \
            f"{self.fingerprint} (trusted in {self.trusted_by})"
        return f"valid: {self.files} files match {self.against}, signed by {who}"


Trusted = Path | Sequence[trust.TrustedKey] | None


def _trusted(keys: Trusted) -> list[trust.TrustedKey]:
    if keys is None:
        return []
    if isinstance(keys, Path):
        return trust.keys_in_file(keys, f"--public-key {keys}")
    return list(keys)


def verify_bundle(bundle_path: Path, public_key: Trusted = None) -> Verification:
    """Check the entries, the signature, then every file's hash; problems name the file.

    ``public_key``: the trusted keys (a .pub path, or ``trust.trusted_keys(...)``)."""
    result = Verification()
    keys = _trusted(public_key)
    result.trusted_count = len(keys)
    try:
        bundle = zipfile.ZipFile(bundle_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ExportError(f"{bundle_path}: not a readable zip ({exc})") from None
    with bundle:
        listed = [info.filename for info in bundle.infolist()]
        names = set(listed)
        if MANIFEST not in names:
            raise ExportError(f"{bundle_path}: not an llmbench export ({MANIFEST} is missing)")
        for name in sorted(names):
            if (count := listed.count(name)) > 1:
                result.problems.append(f"{name} appears {count} times (a zip reader may show "
                                       "any of them)")
            elif (why := trust.unportable_reason(name)) is not None:
                result.problems.append(f"entry name {name!r} is not portable: {why}")
        if result.problems:
            return result
        manifest_bytes = bundle.read(MANIFEST)
        try:
            manifest = json.loads(manifest_bytes)
            files: dict[str, dict[str, Any]] = manifest["files"]
            if not isinstance(files, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            result.problems.append(f"{MANIFEST} is not a valid manifest")
            return result
        _check_signature(bundle, names, manifest, manifest_bytes, keys, result)
        result.files = len(files)
        for name, entry in sorted(files.items()):
            if name not in names:
                result.problems.append(f"{name} is missing")
            elif hashlib.sha256(bundle.read(name)).hexdigest() != entry.get("sha256"):
                result.problems.append(f"{name} was altered (SHA-256 differs from the manifest)")
        for name in sorted(names - set(files) - {MANIFEST, SIGNATURE, PUBLIC_KEY}):
            result.problems.append(f"{name} was added (not in the manifest)")
    return result


def _check_signature(bundle: zipfile.ZipFile, names: set[str], manifest: dict[str, Any],
                     manifest_bytes: bytes, keys: list[trust.TrustedKey],
                     result: Verification) -> None:
    if SIGNATURE not in names:
        if PUBLIC_KEY in names:
            result.problems.append(f"{PUBLIC_KEY} is present but the bundle is not signed "
                                   f"({SIGNATURE} is missing)")
        elif keys:
            result.problems.append(f"the bundle is not signed ({SIGNATURE} is missing)")
        return
    result.signed = True
    found = manifest.get("signer")
    signer: dict[str, Any] = found if isinstance(found, dict) else {}
    named_pem = signer.get("public_key")
    if not isinstance(named_pem, str):
        result.problems.append(f"{MANIFEST} does not name the signer's public key (the "
                               "embedded key is not covered by the signature)")
        return
    key = signing.public_key_from_pem(named_pem.encode("ascii", "replace"),
                                      f"{MANIFEST}: signer.public_key")
    result.fingerprint = signing.fingerprint(key)
    if PUBLIC_KEY in names:
        embedded = signing.public_key_from_pem(bundle.read(PUBLIC_KEY), PUBLIC_KEY)
        if signing.fingerprint(embedded) != result.fingerprint:
            result.problems.append(f"{PUBLIC_KEY} ({signing.fingerprint(embedded)}) is not the "
                                   f"key the manifest names ({result.fingerprint})")
            return
    if signer.get("fingerprint") != result.fingerprint:
        result.problems.append(f"{MANIFEST}: signer.fingerprint does not match its public key")
        return
    if not signing.check(key, bundle.read(SIGNATURE), manifest_bytes):
        result.problems.append(f"{MANIFEST} or {SIGNATURE} was altered (the signature does "
                               "not match)")
        return
    match = next((k for k in keys if k.fingerprint == result.fingerprint), None)
    result.trusted = match is not None
    result.trusted_by = match.source if match else None
