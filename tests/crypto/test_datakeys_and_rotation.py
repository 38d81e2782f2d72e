"""Data keys and their shredding; key rotation re-wraps everything and retires the old key."""

from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import LargeBinary, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from sotto.accounts.models import User
from sotto.cli import app
from sotto.config import get_settings
from sotto.crypto import rotation
from sotto.crypto.datakeys import KeyDestroyed, create_data_key, destroy_data_key, load_data_key
from sotto.crypto.envelope import DecryptionError, open_sealed, rewrap_sealed, seal
from sotto.crypto.keystore import FileKeyStore, KeyStore, KeyStoreError
from sotto.crypto.models import DataKey
from sotto.crypto.rotation import RotationError, rotate_keys, sealed_columns
from sotto.db import session_scope
from sotto.models import metadata
from sotto.runtime import Runtime, build_runtime
from sotto.storage.blobs import LocalBlobStore
from sotto.storage.encrypted import ObjectWriter, read_object
from support.app import Person, create_practice

PREFIX = "audio"
AUDIO = b"RIFF....WAVEfmt " + bytes(range(256)) * 40


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def store_object(runtime: Runtime, blobs: LocalBlobStore, keystore: KeyStore | None = None) -> str:
    """A data key and an object encrypted under it; returns the key id (also the object id)."""
    with session_scope(runtime.sessions) as session:
        key_id, key = create_data_key(session, keystore=keystore or runtime.keystore, purpose="recording")
    writer = ObjectWriter(blobs, key, prefix=PREFIX, object_id=key_id)
    writer.append(AUDIO[:1000])
    writer.append(AUDIO[1000:])
    writer.close()
    return key_id


def read_back(runtime: Runtime, blobs: LocalBlobStore, key_id: str, keystore: KeyStore | None = None) -> bytes:
    with session_scope(runtime.sessions) as session:
        key = load_data_key(session, keystore=keystore or runtime.keystore, key_id=key_id)
    return b"".join(read_object(blobs, key, prefix=PREFIX, object_id=key_id))


def data_key_rows(runtime: Runtime) -> dict[str, tuple[str, bytes]]:
    with session_scope(runtime.sessions) as session:
        return {row.id: (row.kek_id, row.wrapped) for row in session.scalars(select(DataKey))}


def sealed_values(runtime: Runtime) -> dict[tuple[str, str, tuple], bytes]:
    """Every envelope-sealed value in the database, by (table, column, primary key)."""
    found = {}
    with session_scope(runtime.sessions) as session:
        for table, column in sealed_columns():
            keys = list(table.primary_key.columns)
            for row in session.execute(select(*keys, column).where(column.is_not(None))):
                found[(table.name, column.name, tuple(row[:-1]))] = row[-1]
    return found


def sealed_parts(blob: bytes) -> tuple[str, bytes]:
    """(KEK id, nonce + ciphertext) of a sealed value."""
    kid_len, wrapped_len = struct.unpack(">BH", blob[3:6])
    return blob[6 : 6 + kid_len].decode(), blob[6 + kid_len + wrapped_len :]


def totp_secret(runtime: Runtime, person: Person, keystore: KeyStore | None = None) -> str:
    with session_scope(runtime.sessions) as session:
        user = session.get(User, person.id)
        assert user is not None and user.totp_secret_sealed is not None
        sealed = user.totp_secret_sealed
    return open_sealed(keystore or runtime.keystore, sealed, context=f"totp:{person.id}").decode()


def key_file(runtime: Runtime) -> Path:
    return runtime.settings.key_file


def kek_ids_in_file(runtime: Runtime) -> set[str]:
    return set(json.loads(key_file(runtime).read_text())["keks"])


def save_old_key_file(runtime: Runtime, tmp_path: Path) -> FileKeyStore:
    copy = tmp_path / "old-keys" / "sotto.key"
    copy.parent.mkdir(mode=0o700)
    shutil.copy2(key_file(runtime), copy)
    return FileKeyStore(copy)


# --- data keys -------------------------------------------------------------------------


def test_each_data_key_is_new_and_loads_back(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        first_id, first = create_data_key(session, keystore=runtime.keystore, purpose="recording")
        second_id, second = create_data_key(session, keystore=runtime.keystore, purpose="transcript")
    assert len(first) == 32 and first != second and first_id != second_id
    with session_scope(runtime.sessions) as session:
        assert load_data_key(session, keystore=runtime.keystore, key_id=first_id) == first
        assert load_data_key(session, keystore=runtime.keystore, key_id=second_id) == second
        assert session.get(DataKey, second_id).purpose == "transcript"  # type: ignore[union-attr]


def test_data_key_is_stored_only_wrapped(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        key_id, key = create_data_key(session, keystore=runtime.keystore, purpose="recording")
    with session_scope(runtime.sessions) as session:
        row = session.get(DataKey, key_id)
        assert row is not None
        stored = b"".join(str(value).encode() for value in (row.id, row.purpose, row.kek_id, row.created_at))
        assert key not in row.wrapped + stored
        assert key.hex().encode() not in stored


def test_destroyed_data_key_makes_the_object_unreadable(runtime: Runtime, blobs: LocalBlobStore) -> None:
    key_id = store_object(runtime, blobs)
    assert read_back(runtime, blobs, key_id) == AUDIO
    with session_scope(runtime.sessions) as session:
        assert destroy_data_key(session, key_id=key_id) is True
    with pytest.raises(KeyDestroyed) as caught:
        read_back(runtime, blobs, key_id)
    assert str(caught.value) == "This content was deleted: its key no longer exists."
    with session_scope(runtime.sessions) as session:
        assert destroy_data_key(session, key_id=key_id) is False


def test_destroying_a_key_loaded_in_the_same_session_forgets_it(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        key_id, _key = create_data_key(session, keystore=runtime.keystore, purpose="recording")
        session.flush()
        load_data_key(session, keystore=runtime.keystore, key_id=key_id)
        assert destroy_data_key(session, key_id=key_id) is True
        with pytest.raises(KeyDestroyed):
            load_data_key(session, keystore=runtime.keystore, key_id=key_id)


# --- the key file ----------------------------------------------------------------------


def test_begin_rotation_adds_a_current_key_and_keeps_the_old(tmp_path: Path) -> None:
    keystore = FileKeyStore(tmp_path / "keys" / "sotto.key")
    old = keystore.current_kek_id()
    old_id, wrapped = keystore.wrap(b"k" * 32)
    new = keystore.begin_rotation()
    assert new != old and keystore.current_kek_id() == new
    assert keystore.kek_ids() == sorted([old, new])
    assert keystore.unwrap(old_id, wrapped) == b"k" * 32
    assert keystore.rewrap(old_id, wrapped)[0] == new
    assert stat.S_IMODE((tmp_path / "keys" / "sotto.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys" / "sotto.key.lock").stat().st_mode) == 0o600


def test_retire_removes_keys_but_never_the_current_one(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "sotto.key"
    keystore = FileKeyStore(path)
    old = keystore.current_kek_id()
    old_id, wrapped = keystore.wrap(b"k" * 32)
    new = keystore.begin_rotation()
    with pytest.raises(KeyStoreError, match="current"):
        keystore.retire([new])
    keystore.retire([old])
    assert keystore.kek_ids() == [new]
    assert old not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["sotto.key", "sotto.key.lock"]
    with pytest.raises(KeyStoreError, match="does not hold"):
        keystore.unwrap(old_id, wrapped)


def test_mac_keys_survive_rotation(tmp_path: Path) -> None:
    keystore = FileKeyStore(tmp_path / "keys" / "sotto.key")
    before = keystore.mac_key("audit")
    old = keystore.current_kek_id()
    keystore.begin_rotation()
    keystore.retire([old])
    assert keystore.mac_key("audit") == before


def test_another_process_sees_the_rotated_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "sotto.key"
    rotating, running = FileKeyStore(path), FileKeyStore(path)
    old = running.current_kek_id()
    new = rotating.begin_rotation()
    assert running.wrap(b"k" * 32)[0] == new
    rotating.retire([old])
    assert running.kek_ids() == [new]


def test_rewrap_sealed_refuses_what_is_not_sealed(tmp_path: Path) -> None:
    with pytest.raises(DecryptionError):
        rewrap_sealed(FileKeyStore(tmp_path / "k" / "sotto.key"), b"plain bytes")


# --- rotation --------------------------------------------------------------------------


def test_every_binary_column_is_covered_by_rotation() -> None:
    """A binary column is a sealed value (``*_sealed``) or a wrapped data key; nothing else escapes rotation."""
    rotated = {(table.name, column.name) for table, column in sealed_columns()}
    for table in metadata.sorted_tables:
        for column in table.columns:
            where = (table.name, column.name)
            if isinstance(column.type, LargeBinary) or _holds_bytes(column.type):
                assert where in rotated or where == ("data_keys", "wrapped"), (
                    f"{table.name}.{column.name} is binary but rotation does not know it: name it *_sealed if it "
                    "holds a sealed value, or teach sotto.crypto.rotation about it"
                )
            if column.name.endswith("_sealed"):
                assert where in rotated, f"{table.name}.{column.name} is named *_sealed but is not binary"


def _holds_bytes(column_type: object) -> bool:
    try:
        return column_type.python_type is bytes  # type: ignore[attr-defined]
    except NotImplementedError:
        return False


def test_rotation_rewraps_everything_and_the_old_key_no_longer_works(
    runtime: Runtime, therapist: Person, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    key_id = store_object(runtime, blobs)
    chunk_files = {p: p.read_bytes() for p in blobs.root.rglob("*") if p.is_file()}
    sealed_before = sealed_values(runtime)
    assert {(t, c) for t, c, _ in sealed_before} >= {
        ("users", "totp_secret_sealed"),
        ("seal_certificates", "pkcs12_sealed"),
    }
    (old_wrapped_kek, old_wrapped) = data_key_rows(runtime)[key_id]
    old_kek = runtime.keystore.current_kek_id()
    old_keys = save_old_key_file(runtime, tmp_path)

    report = rotate_keys(runtime.sessions, runtime.keystore)

    new_kek = runtime.keystore.current_kek_id()
    assert report.new_kek_id == new_kek != old_kek
    assert report.retired == [old_kek]
    assert report.data_keys == 1
    assert report.sealed_values == len(sealed_before)
    # Everything reads, through this key store and through one loading the file afresh.
    for keystore in (runtime.keystore, FileKeyStore(key_file(runtime))):
        assert read_back(runtime, blobs, key_id, keystore) == AUDIO
        assert totp_secret(runtime, therapist, keystore) == therapist.totp_secret
    # Only the wrapping changed: chunk files and sealed ciphertexts are byte for byte the same.
    assert {p: p.read_bytes() for p in blobs.root.rglob("*") if p.is_file()} == chunk_files
    sealed_after = sealed_values(runtime)
    assert sealed_after.keys() == sealed_before.keys()
    for where, blob in sealed_after.items():
        kek, ciphertext = sealed_parts(blob)
        assert kek == new_kek, where
        assert ciphertext == sealed_parts(sealed_before[where])[1], where
    new_wrapped_kek, new_wrapped = data_key_rows(runtime)[key_id]
    assert new_wrapped_kek == new_kek and new_wrapped != old_wrapped
    # The old KEK is gone from the file, and it no longer opens anything.
    assert kek_ids_in_file(runtime) == {new_kek}
    assert old_kek not in key_file(runtime).read_text()
    with pytest.raises(KeyStoreError):
        runtime.keystore.unwrap(old_wrapped_kek, old_wrapped)
    with pytest.raises(KeyStoreError):
        old_keys.unwrap(new_kek, new_wrapped)
    with pytest.raises(KeyStoreError):
        read_back(runtime, blobs, key_id, old_keys)
    with pytest.raises(KeyStoreError):
        totp_secret(runtime, therapist, old_keys)


def test_failure_mid_rotation_changes_nothing_and_a_rerun_finishes(
    runtime: Runtime, therapist: Person, blobs: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id = store_object(runtime, blobs)
    rows_before, sealed_before = data_key_rows(runtime), sealed_values(runtime)
    old_kek = runtime.keystore.current_kek_id()
    calls = 0

    def fail_on_second_value(keystore: KeyStore, blob: bytes) -> bytes:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the disk caught fire")
        return rewrap_sealed(keystore, blob)

    monkeypatch.setattr(rotation, "rewrap_sealed", fail_on_second_value)
    with pytest.raises(RuntimeError, match="caught fire"):
        rotate_keys(runtime.sessions, runtime.keystore)
    monkeypatch.undo()

    # The database is as it was; the key file holds the old key beside the new current one.
    assert data_key_rows(runtime) == rows_before
    assert sealed_values(runtime) == sealed_before
    first_attempt = runtime.keystore.current_kek_id()
    assert kek_ids_in_file(runtime) == {old_kek, first_attempt}
    for keystore in (runtime.keystore, FileKeyStore(key_file(runtime))):
        assert read_back(runtime, blobs, key_id, keystore) == AUDIO
        assert totp_secret(runtime, therapist, keystore) == therapist.totp_secret

    report = rotate_keys(runtime.sessions, runtime.keystore)
    assert sorted(report.retired) == sorted([old_kek, first_attempt])
    assert kek_ids_in_file(runtime) == {report.new_kek_id}
    assert read_back(runtime, blobs, key_id) == AUDIO
    assert totp_secret(runtime, therapist) == therapist.totp_secret


def test_keys_written_under_the_old_kek_during_rotation_are_rewrapped_too(
    runtime: Runtime, blobs: LocalBlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A process that has not seen the new key file yet wraps under the old KEK, and its
    # transaction commits after the rotation's main pass.
    stale = save_old_key_file(runtime, tmp_path)
    late: list[str] = []
    rewrap_pass = rotation._rewrap_everything

    passes = 0

    def with_a_late_writer(session: Session, keystore: KeyStore) -> tuple[int, int, int]:
        nonlocal passes
        passes += 1
        if passes == 2:  # after the main pass committed, before the next pass reads anything
            late.append(store_object(runtime, blobs, stale))
        return rewrap_pass(session, keystore)

    monkeypatch.setattr(rotation, "_rewrap_everything", with_a_late_writer)
    report = rotate_keys(runtime.sessions, runtime.keystore)
    assert report.data_keys == 1
    assert data_key_rows(runtime)[late[0]][0] == report.new_kek_id
    assert read_back(runtime, blobs, late[0]) == AUDIO


def test_rotation_keeps_the_old_kek_while_writes_under_it_keep_coming(
    runtime: Runtime, blobs: LocalBlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = save_old_key_file(runtime, tmp_path)
    old_kek = runtime.keystore.current_kek_id()
    rewrap_pass = rotation._rewrap_everything
    written: list[str] = []

    def always_another(session: Session, keystore: KeyStore) -> tuple[int, int, int]:
        written.append(store_object(runtime, blobs, stale))
        return rewrap_pass(session, keystore)

    monkeypatch.setattr(rotation, "_rewrap_everything", always_another)
    with pytest.raises(RotationError, match="old key is kept"):
        rotate_keys(runtime.sessions, runtime.keystore)
    assert old_kek in kek_ids_in_file(runtime)
    for key_id in written:
        assert read_back(runtime, blobs, key_id) == AUDIO


def test_rotation_does_not_bring_back_a_value_cleared_meanwhile(
    runtime: Runtime, therapist: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    if runtime.engine.dialect.name == "sqlite":
        pytest.skip("on SQLite the rotation holds the write lock throughout, so nothing can clear a value meanwhile")

    cleared: list[bool] = []

    def cleared_meanwhile(keystore: KeyStore, blob: bytes) -> bytes:
        if sealed_parts(blob)[1] == totp_ciphertext and not cleared:
            # Another transaction ends the value between the rotation's read and its write.
            with session_scope(runtime.sessions) as other:
                other.execute(update(User).where(User.id == therapist.id).values(totp_secret_sealed=None))
            cleared.append(True)
        return rewrap_sealed(keystore, blob)

    totp_ciphertext = next(
        sealed_parts(blob)[1] for (table, _c, _k), blob in sealed_values(runtime).items() if table == "users"
    )
    monkeypatch.setattr(rotation, "rewrap_sealed", cleared_meanwhile)
    rotate_keys(runtime.sessions, runtime.keystore)
    assert cleared
    with session_scope(runtime.sessions) as session:
        user = session.get(User, therapist.id)
        assert user is not None and user.totp_secret_sealed is None


def test_values_sealed_after_rotation_use_the_new_key(runtime: Runtime) -> None:
    report = rotate_keys(runtime.sessions, runtime.keystore)
    blob = seal(runtime.keystore, b"later", context="test")
    assert sealed_parts(blob)[0] == report.new_kek_id


# --- the command -----------------------------------------------------------------------


@pytest.fixture
def sotto_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings pointing into tmp_path (SQLite, outbox mail), and nothing from the outer environment."""
    for name in list(os.environ):
        if name.upper().startswith("SOTTO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOTTO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SOTTO_KEY_FILE", str(tmp_path / "keys" / "sotto.key"))
    monkeypatch.setenv("SOTTO_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_keys_rotate_command_rewraps_and_reports(sotto_env: Path, tmp_path: Path) -> None:
    runtime = build_runtime(get_settings())
    blobs = LocalBlobStore(tmp_path / "blobs")
    try:
        create_practice(runtime)
        key_id = store_object(runtime, blobs)
        old_kek = runtime.keystore.current_kek_id()
    finally:
        runtime.close()

    result = CliRunner().invoke(app, ["keys", "rotate"])

    assert result.exit_code == 0, result.output
    keys = json.loads((sotto_env / "keys" / "sotto.key").read_text())
    assert list(keys["keks"]) == [keys["current"]] != [old_kek]
    assert result.output.strip() == (
        f"re-wrapped 1 data key(s) and 1 sealed value(s) under new key {keys['current']}; retired 1 old key(s)"
    )
    runtime = build_runtime(get_settings())
    try:
        assert read_back(runtime, blobs, key_id) == AUDIO
    finally:
        runtime.close()


def test_keys_group_lists_rotate(sotto_env: Path) -> None:
    result = CliRunner().invoke(app, ["keys", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0
    assert "rotate" in result.output


def test_a_key_wrapped_by_a_transaction_still_open_is_not_lost_to_the_rotation(runtime: Runtime) -> None:
    """A transaction that wrapped a key under the old KEK and commits after the rotation's last
    pass left that key under a retired KEK on PostgreSQL: the content it protected was lost.
    (SQLite's writers hold the write lock from their start, so the rotation waits there anyway.)"""
    wrapped, commit = threading.Event(), threading.Event()
    created: list[tuple[str, bytes]] = []

    def upload_in_progress() -> None:
        with session_scope(runtime.sessions) as session:
            created.append(create_data_key(session, keystore=runtime.keystore, purpose="recording"))
            session.flush()
            wrapped.set()
            commit.wait(30)

    writer = threading.Thread(target=upload_in_progress)
    writer.start()
    assert wrapped.wait(10)
    rotating = threading.Thread(target=rotate_keys, args=(runtime.sessions, runtime.keystore))
    rotating.start()
    rotating.join(1.5)  # the rotation's passes are done; it must not retire the old key yet
    commit.set()
    writer.join(10)
    rotating.join(30)
    [(key_id, data_key)] = created
    with session_scope(runtime.sessions) as session:
        assert load_data_key(session, keystore=runtime.keystore, key_id=key_id) == data_key
