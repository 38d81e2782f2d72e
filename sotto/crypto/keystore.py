"""Key stores hold the key-encryption keys (KEKs) outside the database and the blob store.

A key store wraps and unwraps data keys and derives MAC keys; it never hands out a KEK.
Implementations register in ``KEY_STORES`` by the name used in settings.

Rotation (``sotto keys rotate``) is part of the protocol because an external KMS can do
each step too: ``begin_rotation`` is creating a key version (Vault transit ``rotate``) or
a new key behind the alias (AWS KMS ``CreateKey`` + ``UpdateAlias``); ``rewrap`` is Vault's
``rewrap`` or AWS's ``ReEncrypt``, which never show the data key to the caller; ``retire``
is raising ``min_decryption_version`` or disabling / scheduling deletion of the old key;
``kek_ids`` lists the versions or keys still usable. The MAC root is not rotated: keyed
hashes already stored (the audit chain and its anchor, look-up hashes) must keep matching.

Anchors are part of the protocol too: small records the database must not be able to
vouch for itself, kept wherever the keys are kept (the audit log's newest known-good entry,
see ``sotto.audit.anchor``). The key store holds them as opaque bytes and replaces them by
compare-and-swap, which an external store offers as well (Vault KV's ``cas``, a conditional
put on an object store); sealing them and deciding what may replace what is the caller's.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from sotto import clock
from sotto.files import write_private_file


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

    def rewrap(self, kek_id: str, wrapped: bytes) -> tuple[str, bytes]:
        """A wrapped data key re-wrapped under the current KEK; returns (kek id, wrapped key)."""
        ...

    def kek_ids(self) -> list[str]:
        """Every KEK that can still unwrap, the current one included."""
        ...

    def begin_rotation(self) -> str:
        """Create a new KEK and make it current, keeping the old ones; returns its id."""
        ...

    def retire(self, kek_ids: Iterable[str]) -> None:
        """Destroy these KEKs (never the current one): what they wrapped can no longer be unwrapped."""
        ...

    def read_anchor(self, name: str) -> bytes | None:
        """What ``replace_anchor`` last stored under ``name``, or None if nothing was."""
        ...

    def replace_anchor(self, name: str, *, expected: bytes | None, new: bytes) -> bool:
        """Store ``new`` under ``name`` if what is stored is still ``expected`` (None: nothing yet).

        All or nothing, and durable before it returns. Returns False, changing nothing,
        when something else is stored, so two writers cannot undo each other's change.
        """
        ...


# Anchor names become part of a file name beside the key file.
_ANCHOR_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


class FileKeyStore:
    """KEKs in a JSON file created with mode 0600, kept outside the data directory.

    The file is reread whenever it changes on disk, so a server keeps working while
    ``sotto keys rotate`` replaces its keys: new data keys are wrapped under the new KEK
    at once. Changes to the file are made under a lock file and by atomic replacement.

    Anchors are files beside the key file (``sotto.key.audit.anchor``), not entries in it:
    the audit anchor changes every few minutes, and the file holding every KEK should not
    be rewritten that often. They are replaced the same way, under a lock file of their own.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._data = self._load_or_create()

    def _load_or_create(self) -> dict:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            kek_id = _new_kek_id()
            data = {
                "format": 1,
                "current": kek_id,
                "keks": {kek_id: _b64(secrets.token_bytes(32))},
                "mac_root": _b64(secrets.token_bytes(32)),
            }
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            self._stamp = self._file_stamp()
            return data
        return self._read()

    def _read(self) -> dict:
        stamp = self._file_stamp()
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            raise KeyStoreError(f"key file {self.path} is readable by others (mode {mode:o}); chmod 600 it")
        try:
            data = json.loads(self.path.read_text())
            _ = data["keks"][data["current"]], data["mac_root"]
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyStoreError(f"key file {self.path} is not a Sotto key file") from exc
        self._stamp = stamp
        return data

    def _file_stamp(self) -> tuple[int, int, int]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise KeyStoreError(f"key file {self.path} has disappeared") from None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _fresh(self) -> dict:
        """The key file's contents as they are on disk now (reread only if it changed)."""
        if self._file_stamp() != self._stamp:
            self._data = self._read()
        return self._data

    def current_kek_id(self) -> str:
        return str(self._fresh()["current"])

    def kek_ids(self) -> list[str]:
        return sorted(self._fresh()["keks"])

    def _kek(self, kek_id: str) -> bytes:
        try:
            return _unb64(self._fresh()["keks"][kek_id])
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

    def rewrap(self, kek_id: str, wrapped: bytes) -> tuple[str, bytes]:
        return self.wrap(self.unwrap(kek_id, wrapped))

    def mac_key(self, purpose: str) -> bytes:
        root = _unb64(self._fresh()["mac_root"])
        return hmac.new(root, b"sotto/" + purpose.encode(), hashlib.sha256).digest()

    def begin_rotation(self) -> str:
        with self._locked() as data:
            kek_id = _new_kek_id()
            data["keks"][kek_id] = _b64(secrets.token_bytes(32))
            data["current"] = kek_id
        return kek_id

    def retire(self, kek_ids: Iterable[str]) -> None:
        with self._locked() as data:
            doomed = set(kek_ids)
            if data["current"] in doomed:
                raise KeyStoreError(f"the current key {data['current']!r} cannot be retired")
            data["keks"] = {k: v for k, v in data["keks"].items() if k not in doomed}

    def _anchor_path(self, name: str) -> Path:
        if not _ANCHOR_NAME.fullmatch(name):
            raise ValueError(f"not an anchor name: {name!r}")
        return self.path.with_name(f"{self.path.name}.{name}.anchor")

    def read_anchor(self, name: str) -> bytes | None:
        path = self._anchor_path(name)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyStoreError(f"anchor file {path} cannot be read: {exc.strerror}") from None

    def replace_anchor(self, name: str, *, expected: bytes | None, new: bytes) -> bool:
        path = self._anchor_path(name)
        with _exclusive(path.with_name(path.name + ".lock")):
            if self.read_anchor(name) != expected:
                return False
            write_private_file(path, new)  # temporary file, fsync, rename, fsync of the folder
        return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict]:
        """The file's contents to change; written back atomically (mode 0600) when the block ends."""
        with _exclusive(self.path.with_name(self.path.name + ".lock")):
            data = self._read()  # another process may have changed it since we loaded it
            yield data
            write_private_file(self.path, json.dumps(data).encode())
            self._data = self._read()


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created 0600) for the block, across processes."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


KEY_STORES = {"file": FileKeyStore}


def _new_kek_id() -> str:
    return "kek-" + clock.now().strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(4)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)
