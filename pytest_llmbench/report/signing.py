"""Ed25519 keys and signatures through the ``cryptography`` package (extra ``sign``).

Imported lazily: only export, verify and keygen need it, and a missing package
gives one line saying which extra to install.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pytest_llmbench.errors import LLMBenchError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class SigningError(LLMBenchError):
    """A missing or unreadable key, or the cryptography package is not installed."""


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pragma: no cover - the test extra installs it
        raise SigningError("signing needs the 'cryptography' package: "
                           "pip install 'pytest-llmbench[sign]'") from None
    return serialization, ed25519


def generate(private_path: Path, force: bool = False) -> tuple[Path, Path]:
    """Write a new key pair: ``PATH`` (private, mode 0600) and ``PATH.pub``."""
    serialization, ed25519 = _crypto()
    public_path = private_path.with_name(private_path.name + ".pub")
    for path in (private_path, public_path):
        if path.exists() and not force:
            raise SigningError(f"{path} exists (pass --force to replace it)")
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(public_pem(key.public_key()))
    return private_path, public_path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    serialization, ed25519 = _crypto()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"{path}: cannot read the private key ({exc.strerror})") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise SigningError(f"{path}: not an Ed25519 private key (make one with llmbench keygen)")
    return cast("Ed25519PrivateKey", key)


def public_key_from_pem(data: bytes, source: str) -> Ed25519PublicKey:
    serialization, ed25519 = _crypto()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SigningError(f"{source}: not a PEM public key ({exc})") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise SigningError(f"{source}: not an Ed25519 public key")
    return cast("Ed25519PublicKey", key)


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"{path}: cannot read the public key ({exc.strerror})") from None
    return public_key_from_pem(data, str(path))


def public_pem(key: Ed25519PublicKey) -> bytes:
    serialization, _ = _crypto()
    return bytes(key.public_bytes(serialization.Encoding.PEM,
                                  serialization.PublicFormat.SubjectPublicKeyInfo))


def fingerprint(key: Ed25519PublicKey) -> str:
    """``ed25519:`` + the first 32 hex digits of SHA-256 of the raw public key."""
    serialization, _ = _crypto()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


def check(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
