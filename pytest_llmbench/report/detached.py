"""Detached Ed25519 signatures for single-file exports (CSV, PDF): ``FILE.sig`` beside FILE.

The .sig is JSON: schema, file name, SHA-256 and size of the file, signer fingerprint,
the base64 signature of the file's bytes and the signer's public key (which, as in a
zip bundle, only says who signed; trust comes from the user's trusted keys, see
``report/trust.py``: a valid signature by another key is UNTRUSTED, not valid).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path
from typing import Any

from pytest_llmbench.report import signing
from pytest_llmbench.report.export import ExportError, Trusted, Verification, _trusted

SCHEMA = "pytest-llmbench.signature"
SUFFIX = ".sig"


def signature_path(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


def sign_file(path: Path, key_file: Path) -> Path:
    """Write ``PATH.sig`` for ``path``, signed with the Ed25519 key in ``key_file``."""
    private = signing.load_private_key(key_file)
    data = path.read_bytes()
    doc = {"schema": SCHEMA, "schema_version": 1, "algorithm": "Ed25519", "file": path.name,
           "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
           "fingerprint": signing.fingerprint(private.public_key()),
           "signature": base64.b64encode(private.sign(data)).decode("ascii"),
           "public_key": signing.public_pem(private.public_key()).decode("ascii")}
    out = signature_path(path)
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return out


def _load(sig: Path) -> dict[str, Any]:
    try:
        doc = json.loads(sig.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExportError(f"{sig}: cannot read the signature ({exc.strerror})") from None
    except ValueError:
        raise ExportError(f"{sig}: not an llmbench signature (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ExportError(f"{sig}: not an llmbench signature (schema is not {SCHEMA!r})")
    return doc


def verify_file(path: Path, public_key: Trusted = None) -> Verification:
    """Check ``path`` against ``path.sig``: its hash, then the signature and who made it."""
    sig = signature_path(path)
    if not sig.is_file():
        raise ExportError(f"{path}: not a zip bundle and {sig.name} is missing (nothing to verify)")
    doc = _load(sig)
    keys = _trusted(public_key)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExportError(f"{path}: cannot read ({exc.strerror})") from None
    result = Verification(signed=True, files=1, against=sig.name, trusted_count=len(keys))
    if hashlib.sha256(data).hexdigest() != doc.get("sha256"):
        result.problems.append(f"{path.name} was altered (SHA-256 differs from {sig.name})")
    try:
        signature = base64.b64decode(str(doc.get("signature")), validate=True)
    except (binascii.Error, ValueError):
        result.problems.append(f"{sig.name}: the signature is not base64")
        return result
    if not doc.get("public_key"):
        result.problems.append(f"{sig.name} has no public_key")
        return result
    key = signing.public_key_from_pem(str(doc["public_key"]).encode(), f"{sig}: public_key")
    result.fingerprint = signing.fingerprint(key)
    if doc.get("fingerprint") != result.fingerprint:
        result.problems.append(f"{sig.name}: fingerprint does not match its public_key")
        return result
    if not signing.check(key, signature, data):
        if not result.problems:
            result.problems.append(f"{sig.name} was altered (the signature does not match)")
        return result
    match = next((k for k in keys if k.fingerprint == result.fingerprint), None)
    result.trusted = match is not None
    result.trusted_by = match.source if match else None
    return result
