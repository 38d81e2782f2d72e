"""Envelope encryption of small values (e-mail addresses, queued mail, signing data).

Each value gets its own random 256-bit data key, wrapped by the key store's KEK and
stored beside the AES-256-GCM ciphertext. The associated data names what the value is
and which row it belongs to, so a value copied into another row does not decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sotto.crypto.keystore import KeyStore

MAGIC = b"SE1"


class DecryptionError(RuntimeError):
    """The value was altered, belongs elsewhere, or its key is gone."""


def seal(keystore: KeyStore, plaintext: bytes, *, context: str) -> bytes:
    data_key = AESGCM.generate_key(bit_length=256)
    kek_id, wrapped = keystore.wrap(data_key)
    nonce = secrets.token_bytes(12)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, context.encode())
    kid = kek_id.encode()
    return MAGIC + struct.pack(">BH", len(kid), len(wrapped)) + kid + wrapped + nonce + ciphertext


def open_sealed(keystore: KeyStore, blob: bytes, *, context: str) -> bytes:
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 3:
        raise DecryptionError("not a sealed value")
    kid_len, wrapped_len = struct.unpack(">BH", blob[3:6])
    pos = 6
    kek_id = blob[pos : pos + kid_len].decode()
    pos += kid_len
    wrapped = blob[pos : pos + wrapped_len]
    pos += wrapped_len
    nonce, ciphertext = blob[pos : pos + 12], blob[pos + 12 :]
    data_key = keystore.unwrap(kek_id, wrapped)
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext, context.encode())
    except InvalidTag:
        raise DecryptionError("sealed value failed authentication") from None


def rewrap_sealed(keystore: KeyStore, blob: bytes) -> bytes:
    """The same sealed value with its data key re-wrapped under the current KEK.

    The nonce and ciphertext are kept byte for byte; a value already under the current
    KEK comes back unchanged (the same object).
    """
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 3:
        raise DecryptionError("not a sealed value")
    kid_len, wrapped_len = struct.unpack(">BH", blob[3:6])
    pos = 6
    kek_id = blob[pos : pos + kid_len].decode()
    if kek_id == keystore.current_kek_id():
        return blob
    wrapped = blob[pos + kid_len : pos + kid_len + wrapped_len]
    sealed_rest = blob[pos + kid_len + wrapped_len :]
    new_kek_id, new_wrapped = keystore.rewrap(kek_id, wrapped)
    kid = new_kek_id.encode()
    return MAGIC + struct.pack(">BH", len(kid), len(new_wrapped)) + kid + new_wrapped + sealed_rest


def keyed_hash(keystore: KeyStore, value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of a value under a purpose-specific key (hex), for matching without storing."""
    return hmac.new(keystore.mac_key(purpose), value.encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """SHA-256 of a link token: what the database keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A random link token carrying 256 bits."""
    return secrets.token_urlsafe(32)
