"""One chunk's AES-256-GCM: its associated data ties it to its object, index and place."""

from __future__ import annotations

import secrets

import pytest

from sotto.crypto.chunks import OVERHEAD, ChunkError, decrypt_chunk, encrypt_chunk

KEY = secrets.token_bytes(32)
OBJECT = "ab12cd34ef56ab12cd34ef56ab12cd34"


def sealed(**changes: object) -> bytes:
    params: dict = dict(object_id=OBJECT, index=3, final=False, plaintext=b"session audio")
    params.update(changes)
    return encrypt_chunk(KEY, **params)


def test_chunk_round_trip_and_overhead() -> None:
    blob = sealed()
    assert len(blob) == len(b"session audio") + OVERHEAD
    assert decrypt_chunk(KEY, object_id=OBJECT, index=3, final=False, blob=blob) == b"session audio"


def test_same_plaintext_encrypts_differently_each_time() -> None:
    assert sealed() != sealed()


@pytest.mark.parametrize(
    ("where", "expected_index"),
    [
        (dict(object_id="ab12cd34ef56ab12cd34ef56ab12cd35"), 3),
        (dict(index=4), 4),
        (dict(final=True), 3),
    ],
    ids=["other object", "other index", "presented as final"],
)
def test_chunk_read_anywhere_else_fails_naming_object_and_index(where: dict, expected_index: int) -> None:
    params: dict = dict(object_id=OBJECT, index=3, final=False)
    params.update(where)
    with pytest.raises(ChunkError) as caught:
        decrypt_chunk(KEY, blob=sealed(), **params)
    object_id = params["object_id"]
    assert str(caught.value) == (
        f"chunk {expected_index} of object {object_id[:12]}… failed authentication: it was altered, swapped or moved"
    )


def test_flipped_bit_fails() -> None:
    blob = bytearray(sealed())
    blob[-1] ^= 0x80
    with pytest.raises(ChunkError, match="chunk 3 of object ab12cd34ef56… failed authentication"):
        decrypt_chunk(KEY, object_id=OBJECT, index=3, final=False, blob=bytes(blob))


def test_blob_shorter_than_nonce_and_tag_fails() -> None:
    with pytest.raises(ChunkError, match="cut short"):
        decrypt_chunk(KEY, object_id=OBJECT, index=0, final=False, blob=b"x" * (OVERHEAD - 1))
