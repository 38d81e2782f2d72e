"""The longest a live recording may last (SOTTO_MAX_RECORDING_HOURS), counted from the session's start.

The server is the authority: past the limit it refuses audio with a plain message and ends the
session itself, so that what arrived in time is kept, checked and processed like any other
recording, whatever the page does. The recorder page is told how long it has left when it opens
an upload, and stops in time (tests/browser).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sotto import clock
from sotto.config import Settings
from sotto.db import session_scope
from sotto.recording.models import Recording, TherapySession
from sotto.runtime import Runtime
from support.app import Person, make_settings, work_off
from support.audio import recording
from support.consenting import consenting_client
from support.recording import live_recording, stored_audio
from support.smtp import LoopbackSmtpServer

# Shorter than the default 4 h so that moving the clock past it does not also sign the therapist out.
LIMIT = timedelta(minutes=15)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_server: LoopbackSmtpServer) -> Settings:
    return make_settings(tmp_path, database_url, smtp_server.port, max_recording_hours=LIMIT / timedelta(hours=1))


def test_a_live_recording_is_stopped_at_the_time_limit_and_what_came_before_is_kept(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus, session_id, url = live_recording(web, client.client.id)
    first, rest = recording("webm", seconds=2.0), b"audio past the limit"
    assert tus.patch(url, 0, first).status_code == 204

    clock.advance(LIMIT + timedelta(seconds=1))
    r = tus.patch(url, len(first), rest)

    assert r.status_code == 403
    assert r.json() == {
        "error": "This recording reached 15 minutes, the longest Sotto records, and was stopped. "
        "What was recorded up to then is saved.",
        "limit": True,
        "page": f"/sessions/{session_id}",
    }
    recording_id = url.rsplit("/", 1)[1]
    with session_scope(runtime.sessions) as session:
        row = session.get(TherapySession, session_id)
        rec = session.get(Recording, recording_id)
        assert row is not None and rec is not None
        assert row.status == "recorded" and row.browser_key_sealed is None
        assert rec.complete and rec.declared_length == len(first)
    assert stored_audio(runtime, recording_id) == first
    # Further audio, and a new upload for the session, are refused; the session was not destroyed.
    assert tus.patch(url, len(first), rest).status_code == 403
    assert tus.create(session_id).status_code == 403
    work_off(runtime, process=False)
    with session_scope(runtime.sessions) as session:
        row = session.get(TherapySession, session_id)
        assert row is not None and row.status == "recorded", row.problem


def test_audio_within_the_time_limit_is_accepted_and_the_page_is_told_the_time_left(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus, session_id, url = live_recording(web, client.client.id)
    clock.advance(LIMIT - timedelta(minutes=1))
    assert tus.patch(url, 0, b"audio").status_code == 204
    created = tus.create(session_id, source="call")
    assert created.status_code == 201
    assert 59 <= float(created.headers["Sotto-Seconds-Left"]) <= 60
    # A file uploaded for a session is judged by its own length, not by the clock.
    clock.advance(timedelta(minutes=2))
    upload = tus.create(session_id, source="upload", length=4, filetype="audio/wav")
    assert "Sotto-Seconds-Left" not in upload.headers


def test_a_live_upload_opened_past_the_time_limit_is_refused_and_the_session_ended(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus, session_id, url = live_recording(web, client.client.id)
    assert tus.patch(url, 0, recording("webm", seconds=1.0)).status_code == 204
    clock.advance(LIMIT + timedelta(seconds=1))
    r = tus.create(session_id)  # "Continue recording" after a long pause
    assert r.status_code == 403 and r.json()["limit"] is True
    with session_scope(runtime.sessions) as session:
        row = session.get(TherapySession, session_id)
        assert row is not None and row.status == "recorded"


def test_withdrawal_past_the_time_limit_still_destroys_the_session(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    """Consent comes first: the limit never keeps audio the client has withdrawn consent for."""
    client = consenting_client(runtime, signed_in_therapist.user)
    tus, session_id, url = live_recording(web, client.client.id)
    assert tus.patch(url, 0, b"audio").status_code == 204
    clock.advance(LIMIT + timedelta(seconds=1))
    r = web.post(f"/sessions/{session_id}/client-withdrew", headers=tus.headers())
    assert r.status_code == 200 and r.json()["status"] == "shredded"
    r = tus.patch(url, 5, b"more")
    assert r.status_code == 403 and "withdrawn" in r.json()["error"]
