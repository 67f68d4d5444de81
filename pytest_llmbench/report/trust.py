"""The public keys a user trusts to sign exports, and portable bundle entry names.

A signature proves only that *some* key signed; ``llmbench verify`` passes only when
that key is one the user trusts: ``--public-key PUB`` (repeatable), ``--trusted-keys
FILE``, or ``$LLMBENCH_TRUSTED_KEYS`` (files separated by ``os.pathsep``). A trusted-keys
file holds one or more PEM public keys (as written by ``llmbench keygen``), one after
the other; text outside the PEM blocks is ignored (comments).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_llmbench.report import signing

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ENV = "LLMBENCH_TRUSTED_KEYS"
_PEM = re.compile(rb"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.DOTALL)
_PORTABLE = re.compile(r"[A-Za-z0-9._@+=,-]")


@dataclass(frozen=True)
class TrustedKey:
    key: Ed25519PublicKey
    fingerprint: str
    source: str  # "--public-key PATH", "PATH" (a trusted-keys file) or "$LLMBENCH_TRUSTED_KEYS"


def keys_in_file(path: Path, source: str | None = None) -> list[TrustedKey]:
    """Every PEM public key in ``path``; a file with none is an error naming it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise signing.SigningError(f"{path}: cannot read the trusted keys "
                                   f"({exc.strerror})") from None
    blocks = _PEM.findall(data)
    if not blocks:
        raise signing.SigningError(f"{path}: no PEM public key in it")
    out = []
    for number, block in enumerate(blocks, 1):
        key = signing.public_key_from_pem(block, f"{path} (key {number})")
        out.append(TrustedKey(key, signing.fingerprint(key), source or str(path)))
    return out


def trusted_keys(public_keys: Sequence[Path] = (), trusted_file: Path | None = None,
                 environ: dict[str, str] | None = None) -> list[TrustedKey]:
    """The trusted set from the command line and the environment (may be empty)."""
    env = os.environ if environ is None else environ
    keys: list[TrustedKey] = []
    for path in public_keys:
        keys += keys_in_file(path, f"--public-key {path}")
    if trusted_file is not None:
        keys += keys_in_file(trusted_file, f"--trusted-keys {trusted_file}")
    for part in filter(None, env.get(ENV, "").split(os.pathsep)):
        keys += keys_in_file(Path(part), f"${ENV} ({part})")
    return keys


def portable_name(relative: str) -> str:
    """A zip entry name any unzip on any system extracts the same way: characters
    outside ``[A-Za-z0-9._@+=,-]`` (``:``, ``\\``, spaces, ``%``...) percent-encoded per
    path component; '.', '..' and names ending in '.' encoded too."""
    parts = []
    for part in relative.split("/"):
        encoded = "".join(c if _PORTABLE.fullmatch(c) else
                          "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in part)
        if encoded in ("", ".", "..") or encoded.endswith("."):
            encoded = encoded[:-1] + "%2E" if encoded else "%"
        parts.append(encoded)
    return "/".join(parts)


def unportable_reason(name: str) -> str | None:
    """Why ``name`` is not an entry name this exporter writes (None when it is)."""
    if not name or name.startswith("/"):
        return "it is absolute or empty"
    if "\\" in name or ":" in name:
        return "it holds ':' or '\\'"
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "it has an empty, '.' or '..' part"
    if any(not (_PORTABLE.fullmatch(c) or c == "%") for p in parts for c in p):
        return "it has characters outside [A-Za-z0-9._@+=,%-]"
    return None
