"""Encrypted objects: round trips, every kind of tampering refused by name, ranges and seeking."""

from __future__ import annotations

import io
import math
import random
import secrets
import struct
import wave
from pathlib import Path

import av
import pytest

from sotto.crypto.chunks import OVERHEAD, ChunkError, encrypt_chunk
from sotto.storage.blobs import BlobStore, LocalBlobStore
from sotto.storage.encrypted import (
    DecryptingReader,
    ObjectClosed,
    ObjectMissing,
    ObjectWriter,
    chunk_name,
    delete_object,
    object_size,
    read_object,
    read_range,
)

PREFIX = "audio"
OBJECT = "0123456789abcdef0123456789abcdef"
SHORT = OBJECT[:12] + "…"
MiB = 1024 * 1024


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def key() -> bytes:
    return secrets.token_bytes(32)


def write(store: BlobStore, key: bytes, chunks: list[bytes], object_id: str = OBJECT) -> None:
    writer = ObjectWriter(store, key, prefix=PREFIX, object_id=object_id)
    for chunk in chunks:
        writer.append(chunk)
    writer.close()


def read_all(store: BlobStore, key: bytes, object_id: str = OBJECT) -> bytes:
    return b"".join(read_object(store, key, prefix=PREFIX, object_id=object_id))


def blob_path(store: LocalBlobStore, index: int, object_id: str = OBJECT) -> Path:
    return store.root / chunk_name(PREFIX, object_id, index)


def chunks_of(*sizes: int) -> list[bytes]:
    return [secrets.token_bytes(size) for size in sizes]


FIVE = (1000, 2000, 3000, 4000, 5000)  # data chunks 0-4, end marker 5


@pytest.mark.parametrize(
    "sizes",
    [(), (0,), (1,), (MiB,), (0, 1, MiB, 7, 0, 65536)],
    ids=["no chunks", "one empty chunk", "one byte", "1 MiB", "mixed"],
)
def test_round_trip_keeps_every_chunk(store: LocalBlobStore, key: bytes, sizes: tuple[int, ...]) -> None:
    chunks = chunks_of(*sizes)
    write(store, key, chunks)
    assert list(read_object(store, key, prefix=PREFIX, object_id=OBJECT)) == chunks
    assert object_size(store, prefix=PREFIX, object_id=OBJECT) == sum(sizes)
    assert len(store.names(f"{PREFIX}/{OBJECT}/")) == len(sizes) + 1  # the end marker


def test_stored_chunks_hold_no_plaintext(store: LocalBlobStore, key: bytes) -> None:
    plaintext = b"The client said her sister's name was Margaret. " * 100
    write(store, key, [plaintext])
    stored = blob_path(store, 0).read_bytes()
    assert len(stored) == len(plaintext) + OVERHEAD
    assert b"Margaret" not in stored


def test_swapped_chunks_fail_naming_the_first(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    one, two = blob_path(store, 1), blob_path(store, 2)
    first, second = one.read_bytes(), two.read_bytes()
    one.write_bytes(second)
    two.write_bytes(first)
    with pytest.raises(ChunkError, match=f"^chunk 1 of object {SHORT} failed authentication: it was altered, swapped"):
        read_all(store, key)


def test_reordered_chunks_fail(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    blobs = [blob_path(store, i).read_bytes() for i in range(5)]
    for index, blob in enumerate(reversed(blobs)):
        blob_path(store, index).write_bytes(blob)
    with pytest.raises(ChunkError, match=r"chunk 0 of object .* failed authentication"):
        read_all(store, key)


def test_altered_byte_fails_naming_its_chunk(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    path = blob_path(store, 3)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    chunks = read_object(store, key, prefix=PREFIX, object_id=OBJECT)
    for _ in range(3):
        next(chunks)  # the chunks before the altered one are fine
    with pytest.raises(ChunkError, match=f"^chunk 3 of object {SHORT} failed authentication"):
        next(chunks)


def test_chunk_cut_short_fails(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    blob_path(store, 2).write_bytes(b"short")
    with pytest.raises(ChunkError, match=r"chunk 2 of object .* is cut short"):
        read_all(store, key)


@pytest.mark.parametrize("same_key", [True, False], ids=["same key", "other key"])
def test_chunk_copied_from_another_object_fails(store: LocalBlobStore, key: bytes, same_key: bool) -> None:
    other = "f" * 32
    write(store, key, chunks_of(*FIVE))
    write(store, key if same_key else secrets.token_bytes(32), chunks_of(*FIVE), object_id=other)
    blob_path(store, 2).write_bytes(blob_path(store, 2, other).read_bytes())
    with pytest.raises(ChunkError, match=r"chunk 2 of object .* failed authentication"):
        read_all(store, key)


def test_dropping_the_last_chunk_and_end_marker_is_truncation(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    blob_path(store, 5).unlink()
    blob_path(store, 4).unlink()
    # Refused before a single byte is handed out.
    with pytest.raises(ChunkError, match=f"^object {SHORT} is truncated: it ends at chunk 3 without its end marker"):
        read_object(store, key, prefix=PREFIX, object_id=OBJECT)


def test_dropping_only_the_end_marker_is_truncation(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    blob_path(store, 5).unlink()
    with pytest.raises(ChunkError, match="is truncated"):
        read_all(store, key)


def test_end_marker_moved_up_after_dropping_chunks_fails(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    blob_path(store, 5).rename(blob_path(store, 3))
    blob_path(store, 4).unlink()
    with pytest.raises(ChunkError, match=r"chunk 3 of object .* failed authentication"):
        read_all(store, key)


def test_dropped_middle_chunk_is_reported_missing(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    blob_path(store, 2).unlink()
    with pytest.raises(ChunkError, match=f"^chunk 2 of object {SHORT} is missing$"):
        read_object(store, key, prefix=PREFIX, object_id=OBJECT)


def test_extra_chunk_after_the_end_marker_fails(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    blob_path(store, 6).write_bytes(blob_path(store, 0).read_bytes())
    with pytest.raises(ChunkError, match=r"has an extra chunk \(6\) after its end marker \(chunk 5\)"):
        read_all(store, key)


def test_end_marker_in_the_middle_fails(store: LocalBlobStore, key: bytes) -> None:
    """A writer that went on after closing (it needs the key): the early end marker is named."""
    write(store, key, chunks_of(*FIVE))
    for index in (6, 7):
        final = index == 7
        blob = encrypt_chunk(key, object_id=OBJECT, index=index, final=final, plaintext=b"" if final else b"more")
        blob_path(store, index).write_bytes(blob)
    with pytest.raises(ChunkError, match=r"has chunks after its end marker \(chunk 5\)"):
        read_all(store, key)


def test_unexpected_blob_in_an_object_fails(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(10))
    store.put(f"{PREFIX}/{OBJECT}/notes", b"x")
    with pytest.raises(ChunkError, match="holds a blob that is not a chunk"):
        read_all(store, key)


def test_wrong_key_fails(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(10, 20))
    with pytest.raises(ChunkError, match="failed authentication"):
        read_all(store, secrets.token_bytes(32))


def test_object_without_chunks_is_missing(store: LocalBlobStore, key: bytes) -> None:
    with pytest.raises(ObjectMissing, match="does not exist"):
        read_object(store, key, prefix=PREFIX, object_id=OBJECT)
    with pytest.raises(ObjectMissing):
        object_size(store, prefix=PREFIX, object_id=OBJECT)


def test_object_ids_cannot_name_other_folders(store: LocalBlobStore, key: bytes) -> None:
    for bad in ("../x", "a/b", ""):
        with pytest.raises(ValueError, match="object id"):
            ObjectWriter(store, key, prefix=PREFIX, object_id=bad)


def test_writer_stores_each_chunk_at_once_and_counts(store: LocalBlobStore, key: bytes) -> None:
    writer = ObjectWriter(store, key, prefix=PREFIX, object_id=OBJECT)
    assert writer.append(b"one") == 0
    assert store.names(f"{PREFIX}/{OBJECT}/") == [chunk_name(PREFIX, OBJECT, 0)]
    assert writer.append(b"two") == 1
    assert writer.next_index == 2
    writer.close()
    writer.close()  # closing twice is harmless
    with pytest.raises(ObjectClosed):
        writer.append(b"three")
    assert read_all(store, key) == b"onetwo"


def test_new_writer_refuses_an_existing_object(store: LocalBlobStore, key: bytes) -> None:
    ObjectWriter(store, key, prefix=PREFIX, object_id=OBJECT).append(b"first")
    with pytest.raises(ChunkError, match="already exists"):
        ObjectWriter(store, key, prefix=PREFIX, object_id=OBJECT)


def test_resumed_writer_continues_after_stored_chunks(store: LocalBlobStore, key: bytes) -> None:
    first = ObjectWriter(store, key, prefix=PREFIX, object_id=OBJECT)
    first.append(b"before ")
    first.append(b"")  # an empty chunk is a chunk, not an end
    first.append(b"restart, ")
    resumed = ObjectWriter.resume(store, key, prefix=PREFIX, object_id=OBJECT)
    assert resumed.next_index == 3
    assert resumed.append(b"after") == 3
    resumed.close()
    assert read_all(store, key) == b"before restart, after"


def test_resume_of_a_new_object_starts_at_zero(store: LocalBlobStore, key: bytes) -> None:
    writer = ObjectWriter.resume(store, key, prefix=PREFIX, object_id=OBJECT)
    assert writer.next_index == 0
    writer.close()
    assert read_all(store, key) == b""


def test_resume_refuses_a_closed_object(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(10))
    with pytest.raises(ObjectClosed, match="already closed"):
        ObjectWriter.resume(store, key, prefix=PREFIX, object_id=OBJECT)


RANGE_SIZES = (5, 0, 7, 3, 0, 10)


def test_read_range_matches_every_slice(store: LocalBlobStore, key: bytes) -> None:
    chunks = chunks_of(*RANGE_SIZES)
    plaintext = b"".join(chunks)
    write(store, key, chunks)
    for start in range(len(plaintext) + 2):
        for end in range(start, len(plaintext) + 3):
            got = b"".join(read_range(store, key, prefix=PREFIX, object_id=OBJECT, start=start, end=end))
            assert got == plaintext[start:end], (start, end)


class CountingStore(LocalBlobStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.fetched: list[int] = []

    def get(self, name: str) -> bytes:
        self.fetched.append(int(name.rsplit("/", 1)[1]))
        return super().get(name)


def test_read_range_decrypts_only_the_chunks_it_needs(tmp_path: Path, key: bytes) -> None:
    store = CountingStore(tmp_path / "blobs")
    chunks = chunks_of(*FIVE)
    plaintext = b"".join(chunks)
    write(store, key, chunks)
    store.fetched.clear()
    # Bytes 2500-3500 lie in chunk 1 (1000-2999) and chunk 2 (3000-5999).
    got = b"".join(read_range(store, key, prefix=PREFIX, object_id=OBJECT, start=2500, end=3500))
    assert got == plaintext[2500:3500]
    assert sorted(store.fetched) == [1, 2, 5]  # and the end marker


def test_read_range_refuses_a_truncated_object(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    blob_path(store, 5).unlink()
    with pytest.raises(ChunkError, match="truncated"):
        read_range(store, key, prefix=PREFIX, object_id=OBJECT, start=0, end=10)


def test_read_range_reports_an_altered_chunk_in_range(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    path = blob_path(store, 1)
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ChunkError, match="chunk 1 of object"):
        b"".join(read_range(store, key, prefix=PREFIX, object_id=OBJECT, start=900, end=1100))


def test_decrypting_reader_matches_plaintext_under_random_seeks(store: LocalBlobStore, key: bytes) -> None:
    rng = random.Random(20261126)
    chunks = [rng.randbytes(rng.choice([0, 1, 17, 4096, 70000])) for _ in range(40)]
    plaintext = b"".join(chunks)
    write(store, key, chunks)
    reader = DecryptingReader(store, key, prefix=PREFIX, object_id=OBJECT)
    expected = io.BytesIO(plaintext)
    assert reader.seekable() and reader.readable() and not reader.writable()
    assert reader.size == len(plaintext)
    for _ in range(2000):
        whence = rng.choice([io.SEEK_SET, io.SEEK_CUR, io.SEEK_END])
        offset = {
            io.SEEK_SET: rng.randrange(0, len(plaintext) + 100),
            io.SEEK_CUR: rng.randrange(-expected.tell(), 5000),
            io.SEEK_END: rng.randrange(-len(plaintext), 50),
        }[whence]
        assert reader.seek(offset, whence) == expected.seek(offset, whence)
        size = rng.choice([1, 7, 4096, 100000, -1])
        if rng.random() < 0.5:
            # RawIOBase may return fewer bytes than asked; keep reading to compare.
            want = expected.read(size)
            got = b""
            while len(got) < len(want):
                part = reader.read(len(want) - len(got))
                assert part, "reader stopped early"
                got += part
            assert got == want
        else:
            buffer = bytearray(max(size, 1))
            count = reader.readinto(buffer)
            assert count is not None
            assert bytes(buffer[:count]) == expected.read(count)
        assert reader.tell() == expected.tell()
    reader.seek(0)
    assert reader.readall() == plaintext
    assert io.BufferedReader(DecryptingReader(store, key, prefix=PREFIX, object_id=OBJECT)).read() == plaintext


def test_decrypting_reader_refuses_negative_seek_and_use_after_close(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(100))
    reader = DecryptingReader(store, key, prefix=PREFIX, object_id=OBJECT)
    with pytest.raises(ValueError, match="negative"):
        reader.seek(-1)
    reader.close()
    with pytest.raises(ValueError, match="closed"):
        reader.read(1)


def test_decrypting_reader_refuses_a_truncated_object(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    blob_path(store, 5).unlink()
    with pytest.raises(ChunkError, match="truncated"):
        DecryptingReader(store, key, prefix=PREFIX, object_id=OBJECT)


def wav_bytes(seconds: float = 1.5, rate: int = 16000) -> bytes:
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate))) for n in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def test_pyav_decodes_audio_straight_from_the_encrypted_object(store: LocalBlobStore, key: bytes) -> None:
    audio = wav_bytes()
    write(store, key, [audio[i : i + 3000] for i in range(0, len(audio), 3000)])
    with av.open(DecryptingReader(store, key, prefix=PREFIX, object_id=OBJECT)) as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert samples == 24000


def test_delete_object_removes_every_chunk(store: LocalBlobStore, key: bytes) -> None:
    write(store, key, chunks_of(*FIVE))
    write(store, key, chunks_of(3), object_id="f" * 32)
    assert delete_object(store, prefix=PREFIX, object_id=OBJECT) == 6
    assert store.names(f"{PREFIX}/{OBJECT}/") == []
    assert not (store.root / PREFIX / OBJECT).exists()
    assert read_all(store, key, "f" * 32)  # the other object is untouched
    with pytest.raises(ObjectMissing):
        read_object(store, key, prefix=PREFIX, object_id=OBJECT)
