"""Anchors in key stores: every registered store keeps the protocol; the key file's are files beside it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from sotto.crypto.keystore import KEY_STORES, FileKeyStore, KeyStore

# One way to build each registered store for a test; a new store must add its own here.
FACTORIES: dict[str, Callable[[Path], KeyStore]] = {
    "file": lambda tmp_path: FileKeyStore(tmp_path / "keys" / "sotto.key"),
}


def test_every_registered_key_store_has_a_test_factory() -> None:
    assert set(FACTORIES) == set(KEY_STORES)


@pytest.fixture(params=sorted(KEY_STORES))
def keystore(request: pytest.FixtureRequest, tmp_path: Path) -> KeyStore:
    return FACTORIES[request.param](tmp_path)


def test_no_anchor_reads_as_none(keystore: KeyStore) -> None:
    assert keystore.read_anchor("audit") is None


def test_first_anchor_is_stored_when_none_was_expected(keystore: KeyStore) -> None:
    assert keystore.replace_anchor("audit", expected=None, new=b"first")
    assert keystore.read_anchor("audit") == b"first"


def test_anchor_is_replaced_only_over_what_was_expected(keystore: KeyStore) -> None:
    keystore.replace_anchor("audit", expected=None, new=b"first")
    assert not keystore.replace_anchor("audit", expected=b"something else", new=b"second")
    assert not keystore.replace_anchor("audit", expected=None, new=b"second")
    assert keystore.read_anchor("audit") == b"first"
    assert keystore.replace_anchor("audit", expected=b"first", new=b"second")
    assert keystore.read_anchor("audit") == b"second"


def test_anchors_of_different_names_are_kept_apart(keystore: KeyStore) -> None:
    keystore.replace_anchor("audit", expected=None, new=b"a")
    keystore.replace_anchor("other", expected=None, new=b"b")
    assert (keystore.read_anchor("audit"), keystore.read_anchor("other")) == (b"a", b"b")


def test_of_writers_racing_from_the_same_anchor_exactly_one_wins(keystore: KeyStore) -> None:
    keystore.replace_anchor("audit", expected=None, new=b"start")
    start = threading.Barrier(8)
    won: list[bytes] = []

    def write(n: int) -> None:
        start.wait()
        if keystore.replace_anchor("audit", expected=b"start", new=b"writer %d" % n):
            won.append(b"writer %d" % n)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and keystore.read_anchor("audit") == won[0]


# --- the key file's anchors ------------------------------------------------------------------


def test_key_file_anchor_is_a_private_file_beside_the_key_file(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys" / "sotto.key")
    store.replace_anchor("audit", expected=None, new=b"anchor")
    path = tmp_path / "keys" / "sotto.key.audit.anchor"
    assert path.read_bytes() == b"anchor"
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "sotto.key",
        "sotto.key.audit.anchor",
        "sotto.key.audit.anchor.lock",
    ]


@pytest.mark.parametrize("name", ["", "../escape", "a/b", "Audit", ".hidden", "x" * 41])
def test_key_file_refuses_anchor_names_that_are_not_plain(tmp_path: Path, name: str) -> None:
    store = FileKeyStore(tmp_path / "keys" / "sotto.key")
    with pytest.raises(ValueError, match="not an anchor name"):
        store.replace_anchor(name, expected=None, new=b"x")


def test_key_file_anchor_write_that_fails_leaves_the_old_anchor_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileKeyStore(tmp_path / "keys" / "sotto.key")
    store.replace_anchor("audit", expected=None, new=b"old anchor")

    def power_cut(src: object, dst: object) -> None:
        raise OSError("power cut before the rename")

    monkeypatch.setattr(os, "replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        store.replace_anchor("audit", expected=b"old anchor", new=b"new anchor")
    monkeypatch.undo()
    assert store.read_anchor("audit") == b"old anchor"
    assert not [p for p in (tmp_path / "keys").iterdir() if p.name.endswith(".tmp")]
