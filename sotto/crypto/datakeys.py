"""Data keys for large objects (recordings, transcripts): one random 256-bit key per object.

The key is stored only wrapped by the key store's key-encryption key, in ``data_keys``.
Deleting the row is the crypto-shred: without it the object's chunks cannot be decrypted,
wherever copies of them may linger. Services here do not commit.
"""

from __future__ import annotations

import secrets
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.orm import Session

from sotto.crypto.keystore import KeyStore
from sotto.crypto.models import DataKey
from sotto.db import new_id

DATA_KEY_BYTES = 32


class KeyDestroyed(RuntimeError):
    """The data key was destroyed, so the content it protected is gone for good."""

    def __init__(self, key_id: str) -> None:
        super().__init__("This content was deleted: its key no longer exists.")
        self.key_id = key_id


def create_data_key(session: Session, *, keystore: KeyStore, purpose: str) -> tuple[str, bytes]:
    """A new random data key, stored wrapped; returns (key id, plaintext key) for immediate use."""
    data_key = secrets.token_bytes(DATA_KEY_BYTES)
    kek_id, wrapped = keystore.wrap(data_key)
    key_id = new_id()
    session.add(DataKey(id=key_id, purpose=purpose, kek_id=kek_id, wrapped=wrapped))
    return key_id, data_key


def load_data_key(session: Session, *, keystore: KeyStore, key_id: str) -> bytes:
    """The plaintext data key, or KeyDestroyed if it was shredded (KeyStoreError if its KEK is gone)."""
    row = session.get(DataKey, key_id)
    if row is None:
        raise KeyDestroyed(key_id)
    return keystore.unwrap(row.kek_id, row.wrapped)


def destroy_data_key(session: Session, *, key_id: str) -> bool:
    """Delete the wrapped key (the crypto-shred); False if it was already gone."""
    result = cast(CursorResult[Any], session.execute(delete(DataKey).where(DataKey.id == key_id)))
    return result.rowcount > 0
