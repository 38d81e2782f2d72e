"""Key stores hold the key-encryption keys (KEKs) outside the database and the blob store.

A key store wraps and unwraps data keys and derives MAC keys; it never hands out a KEK.
Implementations register in ``KEY_STORES`` by the name used in settings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from sotto import clock


class KeyStoreError(RuntimeError):
    """The key store is missing, unreadable or does not hold the key asked for."""


class KeyStore(Protocol):
    def current_kek_id(self) -> str: ...

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        """Wrap a data key under the current KEK; returns (kek id, wrapped key)."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        """Unwrap a data key, or raise KeyStoreError."""
        ...

    def mac_key(self, purpose: str) -> bytes:
        """A stable 256-bit key for keyed hashes, distinct for each purpose."""
        ...


class FileKeyStore:
    """KEKs in a JSON file created with mode 0600, kept outside the data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data = self._load_or_create()

    def _load_or_create(self) -> dict:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            kek_id = "kek-" + clock.now().strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(4)
            data = {
                "format": 1,
                "current": kek_id,
                "keks": {kek_id: _b64(secrets.token_bytes(32))},
                "mac_root": _b64(secrets.token_bytes(32)),
            }
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
            return data
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            raise KeyStoreError(f"key file {self.path} is readable by others (mode {mode:o}); chmod 600 it")
        try:
            data = json.loads(self.path.read_text())
            _ = data["keks"][data["current"]], data["mac_root"]
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyStoreError(f"key file {self.path} is not a Sotto key file") from exc
        return data

    def current_kek_id(self) -> str:
        return str(self._data["current"])

    def _kek(self, kek_id: str) -> bytes:
        try:
            return _unb64(self._data["keks"][kek_id])
        except KeyError:
            raise KeyStoreError(f"the key store does not hold key {kek_id!r}") from None

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        kek_id = self.current_kek_id()
        return kek_id, aes_key_wrap(self._kek(kek_id), data_key)

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        try:
            return aes_key_unwrap(self._kek(kek_id), wrapped)
        except InvalidUnwrap:
            raise KeyStoreError(f"data key does not unwrap under {kek_id!r}") from None

    def mac_key(self, purpose: str) -> bytes:
        root = _unb64(self._data["mac_root"])
        return hmac.new(root, b"sotto/" + purpose.encode(), hashlib.sha256).digest()


KEY_STORES = {"file": FileKeyStore}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)
