"""Recordings sent over tus, for the recording tests: a whole file, a live recording, what was stored."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import text

from sotto.crypto.datakeys import load_data_key
from sotto.db import is_postgres, session_scope
from sotto.recording.models import Recording, TherapySession
from sotto.recording.service import AUDIO_PREFIX
from sotto.runtime import Runtime
from sotto.storage.encrypted import read_object
from support.app import work_off
from support.tus import Tus


def upload(runtime: Runtime, web: TestClient, client_id: str, data: bytes) -> tuple[Tus, str, str, int]:
    tus = Tus(web)
    session_id = tus.start_session(client_id).json()["session"]
    url, last = tus.upload_file(session_id, data)
    work_off(runtime, process=False)
    return tus, session_id, url, last.status_code


def session_row(runtime: Runtime, session_id: str) -> TherapySession:
    with session_scope(runtime.sessions) as session:
        row = session.get(TherapySession, session_id)
        assert row is not None
        return row


def live_recording(web: TestClient, client_id: str) -> tuple[Tus, str, str]:
    tus = Tus(web)
    started = tus.start_session(client_id)
    assert started.status_code == 201, started.text
    session_id = started.json()["session"]
    created = tus.create(session_id)
    assert created.status_code == 201, created.text
    return tus, session_id, created.headers["Location"]


def stored_audio(runtime: Runtime, recording_id: str) -> bytes:
    with session_scope(runtime.sessions) as session:
        rec = session.get(Recording, recording_id)
        assert rec is not None and rec.data_key_id is not None
        key = load_data_key(session, keystore=runtime.keystore, key_id=rec.data_key_id)
    return b"".join(read_object(runtime.blobs, key, prefix=AUDIO_PREFIX, object_id=recording_id))


def wait_until_blocked(runtime: Runtime, seconds: float = 10) -> None:
    """Return once another transaction waits for a lock (PostgreSQL); SQLite's writers just queue."""
    with session_scope(runtime.sessions) as session:
        if not is_postgres(session):
            time.sleep(0.5)
            return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with runtime.engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the withdrawal never waited for the session's row")
