"""Blob stores keep opaque, already-encrypted bytes under slash-separated names.

``LocalBlobStore`` (a directory, the embedded default) is the only implementation today.
The protocol is shaped so an S3-compatible store can implement it without changes to its
callers: ``put`` maps to PutObject (atomic there by nature), ``get``/``size`` to
GetObject/HeadObject, ``names`` to ListObjectsV2 with a prefix, ``delete_prefix`` to
listing plus DeleteObjects. Implementations register in ``BLOB_STORES`` by the name a
setting will use, the way the built-in one does.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Protocol

from sotto.files import write_private_file

_NAME = re.compile(r"[A-Za-z0-9/_.\-]+")


class BlobMissing(LookupError):
    """No blob is stored under that name."""


class BlobNameError(ValueError):
    """A blob name that could escape the store or is not portable between stores."""


class BlobStore(Protocol):
    def put(self, name: str, data: bytes) -> None:
        """Store ``data`` under ``name``, replacing any blob there; readers see all of it or none."""
        ...

    def get(self, name: str) -> bytes:
        """The blob's bytes, or BlobMissing."""
        ...

    def size(self, name: str) -> int:
        """The blob's length in bytes, or BlobMissing."""
        ...

    def delete(self, name: str) -> None:
        """Remove the blob if it exists."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every blob whose name starts with ``prefix``; returns how many."""
        ...

    def names(self, prefix: str) -> list[str]:
        """Every blob name starting with ``prefix``, sorted."""
        ...


def check_name(name: str) -> str:
    """``name`` if it is a relative path of [A-Za-z0-9/_.-] with no empty or dot-led parts."""
    if not _NAME.fullmatch(name) or name.startswith("/"):
        raise BlobNameError(f"blob name {name!r} is not allowed: use letters, digits, '/', '_', '.', '-'")
    for part in name.split("/"):
        # Dot-led parts also keep "..", "." and our temporary files out of the namespace.
        if not part or part.startswith("."):
            raise BlobNameError(f"blob name {name!r} is not allowed: empty, '.' or '..' parts")
    return name


class LocalBlobStore:
    """Blobs as files under ``root``: directories 0700, files 0600, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, name: str) -> Path:
        return self.root / check_name(name)

    def _make_dirs(self, folder: Path) -> None:
        # mkdir(parents=True) would create the parents with the umask's mode, not 0700.
        missing = []
        while folder != self.root and not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for each in reversed(missing):
            with contextlib.suppress(FileExistsError):
                each.mkdir(mode=0o700)

    def put(self, name: str, data: bytes) -> None:
        path = self._path(name)
        self._make_dirs(path.parent)
        write_private_file(path, data)

    def get(self, name: str) -> bytes:
        try:
            return self._path(name).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BlobMissing(name) from None

    def size(self, name: str) -> int:
        path = self._path(name)
        if not path.is_file():
            raise BlobMissing(name)
        return path.stat().st_size

    def delete(self, name: str) -> None:
        path = self._path(name)
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
            path.unlink()
            _fsync_dir(path.parent)

    def delete_prefix(self, prefix: str) -> int:
        names = self.names(prefix)
        for name in names:
            self.delete(name)
        self._remove_empty_dirs(prefix)
        return len(names)

    def names(self, prefix: str) -> list[str]:
        if prefix:
            check_name(prefix.rstrip("/") or "/")
        # Only the deepest folder the prefix names for certain needs walking.
        start = self.root / prefix.rpartition("/")[0] if "/" in prefix else self.root
        if not start.is_dir():
            return []
        found = []
        for folder, _dirs, files in os.walk(start):
            for file in files:
                if file.startswith("."):  # a write in progress
                    continue
                name = (Path(folder) / file).relative_to(self.root).as_posix()
                if name.startswith(prefix):
                    found.append(name)
        return sorted(found)

    def _remove_empty_dirs(self, prefix: str) -> None:
        # Only folders inside the one the prefix names: a parent such as "recordings/" may be
        # about to receive another object's first chunk.
        if not prefix.endswith("/"):
            return
        top = self.root / prefix.rstrip("/")
        if not top.is_dir():
            return
        for folder, _dirs, _files in os.walk(top, topdown=False):
            with contextlib.suppress(OSError):  # not empty: a blob arrived meanwhile
                Path(folder).rmdir()


def _fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` survive a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


BLOB_STORES = {"local": LocalBlobStore}
