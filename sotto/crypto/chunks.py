"""AES-256-GCM for one chunk of a large object.

A chunk is ``nonce (12 bytes) | ciphertext | tag (16 bytes)``. Its associated data binds the
format version, the object id, the chunk's index and whether it is the object's final
chunk, so a chunk that is altered, swapped with another, moved to another index or
another object, or presented as the end of an object when it is not, fails to decrypt.
"""

from __future__ import annotations

import secrets
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
OVERHEAD = NONCE_BYTES + TAG_BYTES  # stored size = plaintext size + OVERHEAD
_AAD_LABEL = b"sotto/chunk"


class ChunkError(RuntimeError):
    """An encrypted object is damaged: a chunk is altered, swapped, moved, missing or extra."""


def short_id(object_id: str) -> str:
    """Enough of an object id to find it, for messages."""
    return object_id if len(object_id) <= 12 else object_id[:12] + "…"


def _associated_data(object_id: str, index: int, final: bool) -> bytes:
    oid = object_id.encode()
    # Length-prefixed so no two (object, index, final) triples share an encoding.
    return _AAD_LABEL + struct.pack(">BH", FORMAT_VERSION, len(oid)) + oid + struct.pack(">Q?", index, final)


def encrypt_chunk(data_key: bytes, *, object_id: str, index: int, final: bool, plaintext: bytes) -> bytes:
    """Nonce then ciphertext and tag, built in one buffer (no copy of a large chunk)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    blob = bytearray(len(plaintext) + OVERHEAD)
    blob[:NONCE_BYTES] = nonce
    AESGCM(data_key).encrypt_into(
        nonce, plaintext, _associated_data(object_id, index, final), memoryview(blob)[NONCE_BYTES:]
    )
    return blob  # type: ignore[return-value]  # a bytearray serves wherever bytes are read


def decrypt_chunk(data_key: bytes, *, object_id: str, index: int, final: bool, blob: bytes) -> bytes:
    """The chunk's plaintext, or ChunkError naming the object and the chunk."""
    if len(blob) < OVERHEAD:
        raise ChunkError(f"chunk {index} of object {short_id(object_id)} is cut short: it was altered")
    try:
        return AESGCM(data_key).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(object_id, index, final)
        )
    except InvalidTag:
        raise ChunkError(
            f"chunk {index} of object {short_id(object_id)} failed authentication: it was altered, swapped or moved"
        ) from None
