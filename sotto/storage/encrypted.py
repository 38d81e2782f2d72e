"""Encrypted objects: a recording or transcript stored as a sequence of encrypted chunk blobs.

An object ``object_id`` under ``prefix`` is the blobs ``{prefix}/{object_id}/{index:08d}``:
data chunks 0..n-1, each any size, then at index n an empty chunk encrypted with
``final=True``, the end marker. Each chunk's associated data binds the object id, its index
and the final flag (see ``sotto.crypto.chunks``), so a chunk altered, swapped, reordered or
copied from another object fails authentication, and an object cut short is detected
because its end marker is missing: a marker cannot be made without the data key.

Readers check the end marker before yielding anything, then decrypt chunk by chunk; a
reader that stops early has verified only what it read. Plaintext exists only in memory.
"""

from __future__ import annotations

import bisect
import io
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sotto.crypto.chunks import OVERHEAD, ChunkError, decrypt_chunk, encrypt_chunk, short_id
from sotto.storage.blobs import BlobMissing, BlobStore

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_OBJECT_ID = re.compile(r"[A-Za-z0-9_-]+")


class ObjectMissing(ChunkError):
    """No chunk of the object is stored: it never existed or was deleted."""


class ObjectClosed(ChunkError):
    """The object already has its end marker; nothing more can be appended."""


def chunk_name(prefix: str, object_id: str, index: int) -> str:
    return f"{_object_prefix(prefix, object_id)}{index:08d}"


def _object_prefix(prefix: str, object_id: str) -> str:
    if not _OBJECT_ID.fullmatch(object_id):
        raise ValueError(f"object id {object_id!r} must be letters, digits, '_' or '-'")
    return f"{prefix}/{object_id}/"


class ObjectWriter:
    """Appends chunks to a new object, each stored as soon as it is given; ``close`` ends it.

    Deliberately not a context manager: an object must not get its end marker because an
    exception ended a ``with`` block, or a partial recording would read as complete.
    """

    def __init__(self, store: BlobStore, data_key: bytes, *, prefix: str, object_id: str) -> None:
        if store.names(_object_prefix(prefix, object_id)):
            raise ChunkError(f"object {short_id(object_id)} already exists; use ObjectWriter.resume to append")
        self._setup(store, data_key, prefix, object_id, next_index=0)

    def _setup(self, store: BlobStore, data_key: bytes, prefix: str, object_id: str, *, next_index: int) -> None:
        self._store = store
        self._key = data_key
        self._prefix = prefix
        self.object_id = object_id
        self._next = next_index
        self.closed = False

    @classmethod
    def resume(cls, store: BlobStore, data_key: bytes, *, prefix: str, object_id: str) -> ObjectWriter:
        """A writer that continues after the chunks already stored (say, after a restart).

        The stored chunks are the truth: ``next_index`` is one past the last of them.
        Refuses (ObjectClosed) if the object already has its end marker. Only the size of
        the last chunk is read, unless it is small enough to be an end marker.
        """
        count = _stored_count(store, prefix, object_id)
        if count:
            last = count - 1
            if _stored_size(store, prefix, object_id, last) == OVERHEAD and _decrypts(
                data_key, object_id, last, True, _get_chunk(store, prefix, object_id, last)
            ):
                raise ObjectClosed(f"object {short_id(object_id)} is already closed; nothing can be appended")
        writer = cls.__new__(cls)
        writer._setup(store, data_key, prefix, object_id, next_index=count)
        return writer

    @classmethod
    def continue_at(
        cls, store: BlobStore, data_key: bytes, *, prefix: str, object_id: str, next_index: int
    ) -> ObjectWriter:
        """A writer that continues at ``next_index``, which the caller's records say is next.

        For a caller whose database is the authority: a chunk stored by a transaction that
        then failed to commit sits at ``next_index`` or beyond, and is removed here so a
        retried chunk is not stored twice.
        """
        index = next_index
        while True:  # usually one failed lookup: orphans are rare
            name = chunk_name(prefix, object_id, index)
            try:
                store.size(name)
            except BlobMissing:
                break
            store.delete(name)
            index += 1
        writer = cls.__new__(cls)
        writer._setup(store, data_key, prefix, object_id, next_index=next_index)
        return writer

    @property
    def next_index(self) -> int:
        """The index the next appended chunk will get (= the number of data chunks stored)."""
        return self._next

    def append(self, plaintext: bytes) -> int:
        """Encrypt and store one chunk; returns its index."""
        if self.closed:
            raise ObjectClosed(f"object {short_id(self.object_id)} is already closed; nothing can be appended")
        index = self._next
        blob = encrypt_chunk(self._key, object_id=self.object_id, index=index, final=False, plaintext=plaintext)
        self._store.put(chunk_name(self._prefix, self.object_id, index), blob)
        self._next += 1
        return index

    def close(self) -> None:
        """Store the end marker; the object is complete and can be read."""
        if self.closed:
            return
        end = encrypt_chunk(self._key, object_id=self.object_id, index=self._next, final=True, plaintext=b"")
        self._store.put(chunk_name(self._prefix, self.object_id, self._next), end)
        self.closed = True


def read_object(store: BlobStore, data_key: bytes, *, prefix: str, object_id: str) -> Iterator[bytes]:
    """The object's plaintext, chunk by chunk, in order.

    Raises ObjectMissing, or ChunkError at once if a chunk is missing or the end marker is
    not there, and while iterating if a chunk fails authentication.
    """
    count = _verified_count(store, data_key, prefix, object_id)
    return (_decrypt_data(store, data_key, prefix, object_id, index) for index in range(count - 1))


def read_written(store: BlobStore, data_key: bytes, *, prefix: str, object_id: str, count: int) -> bytes:
    """The plaintext of an object's first `count` data chunks, each authenticated, end marker or not.

    For a writer looking back at what it has stored so far (an upload's first few bytes): the
    caller's own records say how many chunks there are. Readers of a finished object use
    read_object, which checks the end marker.
    """
    return b"".join(_decrypt_data(store, data_key, prefix, object_id, index) for index in range(count))


def object_size(store: BlobStore, *, prefix: str, object_id: str) -> int:
    """The plaintext size, from the stored sizes alone (nothing is decrypted or verified)."""
    count = _stored_count(store, prefix, object_id)
    if not count:
        raise ObjectMissing(f"object {short_id(object_id)} does not exist (it may have been deleted)")
    return sum(_chunk_sizes(store, prefix, object_id, count))


def read_range(
    store: BlobStore, data_key: bytes, *, prefix: str, object_id: str, start: int, end: int
) -> Iterator[bytes]:
    """The plaintext bytes [start, end) (end is clamped to the size), decrypting only the chunks they touch.

    The end marker is checked first, so a truncated object is refused even for a range
    within what remains.
    """
    if start < 0 or end < 0:
        raise ValueError("range bounds must not be negative")
    layout = _Layout.of(store, data_key, prefix, object_id)
    end = min(end, layout.size)
    return _range_chunks(store, data_key, prefix, object_id, layout, start, end)


def _range_chunks(
    store: BlobStore, data_key: bytes, prefix: str, object_id: str, layout: _Layout, start: int, end: int
) -> Iterator[bytes]:
    if start >= end:
        return
    for position in range(layout.position_of(start), len(layout.indices)):
        chunk_start = layout.starts[position]
        if chunk_start >= end:
            break
        plaintext = layout.checked(
            position, _decrypt_data(store, data_key, prefix, object_id, layout.indices[position])
        )
        yield plaintext[max(start - chunk_start, 0) : end - chunk_start]


def delete_object(store: BlobStore, *, prefix: str, object_id: str) -> int:
    """Remove every chunk of the object; returns how many blobs were removed."""
    return store.delete_prefix(_object_prefix(prefix, object_id))


class DecryptingReader(io.RawIOBase):
    """A read-only, seekable file over an encrypted object, decrypting chunk by chunk on demand.

    For decoders such as PyAV that want a file: plaintext stays in memory (the last two
    chunks read), never on disk.
    """

    _CACHED_CHUNKS = 2

    def __init__(self, store: BlobStore, data_key: bytes, *, prefix: str, object_id: str) -> None:
        super().__init__()
        self._store = store
        self._key = data_key
        self._prefix = prefix
        self._object_id = object_id
        self._layout = _Layout.of(store, data_key, prefix, object_id)
        self._pos = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()

    @property
    def size(self) -> int:
        return self._layout.size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._check_open()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_open()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self._layout.size + offset
        else:
            raise ValueError(f"invalid whence ({whence})")
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        self._pos = target
        return target

    def readinto(self, buffer: WriteableBuffer) -> int:
        self._check_open()
        view = memoryview(buffer).cast("B")
        if self._pos >= self._layout.size or not len(view):
            return 0
        position = self._layout.position_of(self._pos)
        plaintext = self._plaintext(position)
        offset = self._pos - self._layout.starts[position]
        count = min(len(view), len(plaintext) - offset)
        view[:count] = plaintext[offset : offset + count]
        self._pos += count
        return count

    def close(self) -> None:
        self._cache.clear()
        super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def _plaintext(self, position: int) -> bytes:
        index = self._layout.indices[position]
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        plaintext = self._layout.checked(
            position, _decrypt_data(self._store, self._key, self._prefix, self._object_id, index)
        )
        self._cache[index] = plaintext
        if len(self._cache) > self._CACHED_CHUNKS:
            self._cache.popitem(last=False)
        return plaintext


@dataclass(frozen=True)
class _Layout:
    """Where each non-empty data chunk's plaintext starts, from stored sizes; end marker checked."""

    indices: list[int]  # chunk indices of the non-empty data chunks
    starts: list[int]  # their plaintext offsets, strictly increasing
    size: int

    @classmethod
    def of(cls, store: BlobStore, data_key: bytes, prefix: str, object_id: str) -> _Layout:
        count = _verified_count(store, data_key, prefix, object_id)
        indices, starts, offset = [], [], 0
        for index, size in enumerate(_chunk_sizes(store, prefix, object_id, count - 1)):
            if size:
                indices.append(index)
                starts.append(offset)
                offset += size
        return cls(indices, starts, offset)

    def checked(self, position: int, plaintext: bytes) -> bytes:
        """``plaintext`` if it is as long as its stored size said (offsets rely on that)."""
        expected = (self.starts[position + 1] if position + 1 < len(self.starts) else self.size) - self.starts[position]
        if len(plaintext) != expected:
            raise ChunkError(f"chunk {self.indices[position]} changed size while being read")
        return plaintext

    def position_of(self, offset: int) -> int:
        """The position in ``indices`` of the chunk holding plaintext byte ``offset``."""
        return max(bisect.bisect_right(self.starts, offset) - 1, 0)


def _stored_count(store: BlobStore, prefix: str, object_id: str) -> int:
    """How many chunks are stored (0 if none), after checking they are numbered 0..n-1."""
    base = _object_prefix(prefix, object_id)
    indices = []
    for name in store.names(base):
        tail = name[len(base) :]
        if len(tail) != 8 or not tail.isdigit():
            raise ChunkError(f"object {short_id(object_id)} holds a blob that is not a chunk: {tail!r}")
        indices.append(int(tail))
    indices.sort()
    for expected, index in enumerate(indices):
        if index != expected:
            raise ChunkError(f"chunk {expected} of object {short_id(object_id)} is missing")
    return len(indices)


def _verified_count(store: BlobStore, data_key: bytes, prefix: str, object_id: str) -> int:
    """The number of chunks, end marker included, after checking the end marker is the last."""
    count = _stored_count(store, prefix, object_id)
    if not count:
        raise ObjectMissing(f"object {short_id(object_id)} does not exist (it may have been deleted)")
    last = count - 1
    blob = _get_chunk(store, prefix, object_id, last)
    try:
        end = decrypt_chunk(data_key, object_id=object_id, index=last, final=True, blob=blob)
    except ChunkError:
        if _decrypts(data_key, object_id, last, False, blob):
            raise ChunkError(
                f"object {short_id(object_id)} is truncated: it ends at chunk {last} without its end marker"
            ) from None
        if last and _decrypts(data_key, object_id, last - 1, True, _get_chunk(store, prefix, object_id, last - 1)):
            raise ChunkError(
                f"object {short_id(object_id)} has an extra chunk ({last}) after its end marker (chunk {last - 1})"
            ) from None
        raise
    if end:
        raise ChunkError(f"object {short_id(object_id)} has a malformed end marker (chunk {last})")
    return count


def _decrypt_data(store: BlobStore, data_key: bytes, prefix: str, object_id: str, index: int) -> bytes:
    blob = _get_chunk(store, prefix, object_id, index)
    try:
        return decrypt_chunk(data_key, object_id=object_id, index=index, final=False, blob=blob)
    except ChunkError:
        if _decrypts(data_key, object_id, index, True, blob):
            raise ChunkError(f"object {short_id(object_id)} has chunks after its end marker (chunk {index})") from None
        raise


def _decrypts(data_key: bytes, object_id: str, index: int, final: bool, blob: bytes) -> bool:
    try:
        decrypt_chunk(data_key, object_id=object_id, index=index, final=final, blob=blob)
    except ChunkError:
        return False
    return True


def _get_chunk(store: BlobStore, prefix: str, object_id: str, index: int) -> bytes:
    try:
        return store.get(chunk_name(prefix, object_id, index))
    except BlobMissing:
        raise ChunkError(f"chunk {index} of object {short_id(object_id)} is missing") from None


def _chunk_sizes(store: BlobStore, prefix: str, object_id: str, count: int) -> list[int]:
    """Plaintext sizes of chunks 0..count-1, from the stored sizes."""
    sizes = []
    for index in range(count):
        stored = _stored_size(store, prefix, object_id, index)
        if stored < OVERHEAD:
            raise ChunkError(f"chunk {index} of object {short_id(object_id)} is cut short: it was altered")
        sizes.append(stored - OVERHEAD)
    return sizes


def _stored_size(store: BlobStore, prefix: str, object_id: str, index: int) -> int:
    try:
        return store.size(chunk_name(prefix, object_id, index))
    except BlobMissing:
        raise ChunkError(f"chunk {index} of object {short_id(object_id)} is missing") from None
