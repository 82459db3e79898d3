"""Credentials at rest: Fernet encryption with the instance key, and redaction for API responses.

The key comes from `FLOWRIGHT_SECRET_KEY` (any string; a Fernet key is derived with HKDF-SHA256) or,
when unset, from `secret.key` in the instance folder (`FLOWRIGHT_HOME`, default `./.flowright`),
generated on first use with mode 0600.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_FILE = "secret.key"


class CredentialError(ValueError):
    """A ciphertext that this key cannot open (another key, or tampered)."""


def derive_key(secret: str) -> bytes:
    """A Fernet key from any string."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"flowright-credentials",
                info=b"flowright fernet key v1")
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


def instance_secret(home: str | os.PathLike[str] | None = None) -> str:
    """The instance's secret: FLOWRIGHT_SECRET_KEY, else the generated key file of the instance folder."""
    if os.environ.get("FLOWRIGHT_SECRET_KEY"):
        return os.environ["FLOWRIGHT_SECRET_KEY"]
    folder = Path(home or os.environ.get("FLOWRIGHT_HOME") or ".flowright")
    path = folder / KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process wrote it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(Fernet.generate_key().decode())
    return path.read_text().strip()


class CredentialBox:
    """Encrypts credential values (a JSON object) to a text token, and back."""

    def __init__(self, secret: str | None = None, *, home: str | os.PathLike[str] | None = None) -> None:
        self._fernet = Fernet(derive_key(secret if secret is not None else instance_secret(home)))

    def encrypt(self, values: Mapping[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(dict(values), separators=(",", ":")).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        try:
            data = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            raise CredentialError("the credential cannot be decrypted with this instance's key") from None
        if not isinstance(data, dict):
            raise CredentialError("the credential is not an object")
        return data


def redact(schema: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` without any property the schema marks `writeOnly` (nested objects included)."""
    properties = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for name, value in values.items():
        prop = properties.get(name) or {}
        if prop.get("writeOnly"):
            continue
        if isinstance(value, Mapping) and prop.get("properties"):
            value = redact(prop, value)
        out[name] = value
    return out
