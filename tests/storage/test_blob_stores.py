"""Blob stores: every registered store keeps the protocol; the local one guards names and modes."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sotto.storage.blobs import BLOB_STORES, BlobMissing, BlobNameError, BlobStore, LocalBlobStore

# One way to build each registered store for a test; a new store must add its own here.
FACTORIES: dict[str, Callable[[Path], BlobStore]] = {
    "local": lambda tmp_path: LocalBlobStore(tmp_path / "blobs"),
}


def test_every_registered_store_has_a_test_factory() -> None:
    assert set(FACTORIES) == set(BLOB_STORES)


@pytest.fixture(params=sorted(BLOB_STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return FACTORIES[request.param](tmp_path)


def test_put_then_get_and_size(store: BlobStore) -> None:
    store.put("audio/r1/00000000", b"abc")
    assert store.get("audio/r1/00000000") == b"abc"
    assert store.size("audio/r1/00000000") == 3


def test_put_replaces_a_blob(store: BlobStore) -> None:
    store.put("a/b", b"first")
    store.put("a/b", b"second, longer")
    assert store.get("a/b") == b"second, longer"


def test_empty_blob_is_kept(store: BlobStore) -> None:
    store.put("a/empty", b"")
    assert store.get("a/empty") == b""
    assert store.size("a/empty") == 0


def test_missing_blob_raises_blob_missing(store: BlobStore) -> None:
    with pytest.raises(BlobMissing):
        store.get("nothing/here")
    with pytest.raises(BlobMissing):
        store.size("nothing/here")


def test_names_are_sorted_and_filtered_by_prefix(store: BlobStore) -> None:
    for name in ["x/2/b", "x/1/a", "x/10/a", "y/1/a", "x/1/c"]:
        store.put(name, b".")
    assert store.names("x/1/") == ["x/1/a", "x/1/c"]
    assert store.names("x/1") == ["x/1/a", "x/1/c", "x/10/a"]
    assert store.names("") == ["x/1/a", "x/1/c", "x/10/a", "x/2/b", "y/1/a"]
    assert store.names("z/") == []


def test_delete_and_delete_prefix(store: BlobStore) -> None:
    for name in ["x/1/a", "x/1/b", "x/2/a"]:
        store.put(name, b".")
    store.delete("x/2/a")
    store.delete("x/2/a")  # deleting what is gone is not an error
    assert store.names("x/") == ["x/1/a", "x/1/b"]
    assert store.delete_prefix("x/1/") == 2
    assert store.names("") == []
    assert store.delete_prefix("x/1/") == 0


@pytest.mark.parametrize(
    "name", ["../escape", "/etc/passwd", "a/../../b", "a//b", "a/./b", ".hidden", "a/.tmp", "a b", "a\\b", "", "é"]
)
def test_local_store_refuses_unsafe_names(tmp_path: Path, name: str) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(BlobNameError):
        store.put(name, b"x")
    with pytest.raises(BlobNameError):
        store.get(name)
    assert not (tmp_path / "escape").exists()


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would leave files world-readable, to show the store sets modes itself."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_local_store_files_are_0600_and_folders_0700(tmp_path: Path, open_umask: None) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("audio/r1/deep/00000000", b"secret-ish")
    assert stat.S_IMODE((tmp_path / "blobs/audio/r1/deep/00000000").stat().st_mode) == 0o600
    for folder in ["blobs", "blobs/audio", "blobs/audio/r1", "blobs/audio/r1/deep"]:
        assert stat.S_IMODE((tmp_path / folder).stat().st_mode) == 0o700, folder


def test_local_put_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("a/b", b"data")
    assert sorted(p.name for p in (tmp_path / "blobs/a").iterdir()) == ["b"]


def test_failed_local_put_keeps_the_old_blob_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("a/b", b"old")

    def crash(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        store.put("a/b", b"new")
    monkeypatch.undo()
    assert store.get("a/b") == b"old"
    assert sorted(p.name for p in (tmp_path / "blobs/a").iterdir()) == ["b"]


def test_local_names_skip_writes_in_progress(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("a/b", b"data")
    (tmp_path / "blobs/a/.c.1234.tmp").write_bytes(b"half")
    assert store.names("a/") == ["a/b"]


def test_local_delete_prefix_removes_the_emptied_folder_only(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("audio/r1/00000000", b".")
    store.put("audio/r2/00000000", b".")
    store.delete_prefix("audio/r1/")
    assert not (tmp_path / "blobs/audio/r1").exists()
    assert (tmp_path / "blobs/audio/r2/00000000").exists()
