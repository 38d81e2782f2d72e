"""The key that seals a live session's unsent audio in the recorder page: kept on the server, sealed,
given only to the owning therapist while the session records, and destroyed when it stops."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from sotto import clock
from sotto.accounts.models import Practice, Role
from sotto.audit.models import AuditEvent
from sotto.db import session_scope
from sotto.jobs.service import run_periodic
from sotto.recording.models import TherapySession
from sotto.runtime import Runtime
from support.app import Person, create_person, form_token, sign_in, work_off
from support.audio import recording
from support.consenting import ConsentingClient, consenting_client
from support.scan import database_bytes
from support.tus import Tus


@pytest.fixture
def client(runtime: Runtime, signed_in_therapist: Person) -> ConsentingClient:
    return consenting_client(runtime, signed_in_therapist.user)


@pytest.fixture
def live(web: TestClient, client: ConsentingClient) -> tuple[Tus, str]:
    """A live session with a microphone upload open: what the recorder page holds."""
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    assert tus.create(session_id).status_code == 201
    return tus, session_id


def ask_for_key(tus: Tus, session_id: str) -> Response:
    return tus.web.post(f"/sessions/{session_id}/browser-key", headers=tus.headers())


def key_of(answer: Response) -> bytes:
    assert answer.status_code == 200, answer.text
    assert "no-store" in answer.headers["cache-control"]
    encoded = answer.json()["key"]
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded  # base64url, unpadded
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def sealed_key(runtime: Runtime, session_id: str) -> bytes | None:
    with session_scope(runtime.sessions) as session:
        row = session.get(TherapySession, session_id)
        assert row is not None
        return row.browser_key_sealed


def handed_out(runtime: Runtime, session_id: str) -> int:
    with session_scope(runtime.sessions) as session:
        return len(
            session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "session.browser_key_issued", AuditEvent.subject == f"session:{session_id}"
                )
            ).all()
        )


def assert_key_destroyed(runtime: Runtime, tus: Tus, session_id: str, gone: str) -> None:
    assert sealed_key(runtime, session_id) is None
    answer = ask_for_key(tus, session_id)
    assert answer.status_code == 410 and answer.json()["gone"] == gone, answer.text
    said = {"destroyed": "has been destroyed", "ended": "has ended"}[gone]
    assert answer.json()["error"].startswith(f"This session {said}:")
    assert "no-store" in answer.headers["cache-control"]
    assert "key" not in answer.json()


def test_owner_gets_the_same_key_each_time_while_recording(runtime: Runtime, live: tuple[Tus, str]) -> None:
    tus, session_id = live
    first, second = key_of(ask_for_key(tus, session_id)), key_of(ask_for_key(tus, session_id))
    assert first == second and len(first) == 32
    assert handed_out(runtime, session_id) == 2  # one audit entry per page that asked


def test_each_session_has_its_own_key(
    runtime: Runtime, web: TestClient, live: tuple[Tus, str], client: ConsentingClient
) -> None:
    tus, session_id = live
    other = tus.start_session(client.client.id).json()["session"]
    assert key_of(ask_for_key(tus, session_id)) != key_of(ask_for_key(tus, other))


def test_the_key_is_asked_for_with_the_csrf_token(runtime: Runtime, live: tuple[Tus, str]) -> None:
    tus, session_id = live
    answer = tus.web.post(f"/sessions/{session_id}/browser-key")
    assert answer.status_code == 403 and "key" not in answer.text
    assert handed_out(runtime, session_id) == 0


@pytest.mark.parametrize("role", ["therapist", "supervisor", "admin", "anonymous"])
def test_nobody_but_the_owning_therapist_gets_the_key(
    runtime: Runtime, web: TestClient, live: tuple[Tus, str], role: str
) -> None:
    _, session_id = live
    with session_scope(runtime.sessions) as session:
        practice = session.scalars(select(Practice)).one()
        session.expunge(practice)
    with TestClient(web.app, base_url="http://testserver", follow_redirects=False) as browser:
        if role != "anonymous":
            sign_in(browser, create_person(runtime, practice, Role(role), f"{role}@quietharbor.test", f"Pat {role}"))
        answer = browser.post(
            f"/sessions/{session_id}/browser-key", headers={"X-CSRF-Token": form_token(browser, "/login")}
        )
    assert answer.status_code == (401 if role == "anonymous" else 403 if role != "therapist" else 404), answer.text
    assert '"key"' not in answer.text
    assert handed_out(runtime, session_id) == 0


def test_ending_the_session_destroys_the_key(runtime: Runtime, live: tuple[Tus, str]) -> None:
    tus, session_id = live
    key_of(ask_for_key(tus, session_id))
    assert tus.end(session_id).status_code == 200
    assert_key_destroyed(runtime, tus, session_id, "ended")


def test_an_abandoned_session_ended_by_the_server_loses_its_key(runtime: Runtime, live: tuple[Tus, str]) -> None:
    _, session_id = live
    clock.advance(timedelta(hours=runtime.settings.max_recording_hours + 2))
    run_periodic(runtime)
    assert sealed_key(runtime, session_id) is None  # (the therapist was signed out long ago)


def test_withdrawal_by_the_clients_link_destroys_the_key(
    runtime: Runtime, web: TestClient, live: tuple[Tus, str], client: ConsentingClient
) -> None:
    tus, session_id = live
    key_of(ask_for_key(tus, session_id))
    with TestClient(web.app, base_url="http://testserver") as device:  # the client's phone
        page = f"/my/{client.my_token}"
        assert device.post(f"{page}/withdraw", data={"csrf_token": form_token(device, page)}).status_code == 200
    assert_key_destroyed(runtime, tus, session_id, "destroyed")


def test_the_therapists_withdrawal_control_destroys_the_key(runtime: Runtime, live: tuple[Tus, str]) -> None:
    tus, session_id = live
    assert tus.web.post(f"/sessions/{session_id}/client-withdrew", headers=tus.headers()).status_code == 200
    assert_key_destroyed(runtime, tus, session_id, "destroyed")


def test_deleting_the_session_destroys_the_key(runtime: Runtime, live: tuple[Tus, str]) -> None:
    tus, session_id = live
    r = tus.web.post(f"/sessions/{session_id}/delete", data={"csrf_token": tus.csrf, "confirm": "yes"})
    assert r.status_code == 303
    assert_key_destroyed(runtime, tus, session_id, "destroyed")


def test_a_finished_file_upload_keeps_no_key(runtime: Runtime, web: TestClient, client: ConsentingClient) -> None:
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    _, last = tus.upload_file(session_id, recording("wav", seconds=1.0))
    assert last.status_code == 204
    work_off(runtime, process=False)
    assert sealed_key(runtime, session_id) is None


def test_the_key_is_never_stored_in_plaintext(runtime: Runtime, live: tuple[Tus, str]) -> None:
    tus, session_id = live
    key = key_of(ask_for_key(tus, session_id))
    sealed = sealed_key(runtime, session_id)
    assert sealed is not None and key not in sealed
    stored = database_bytes(runtime)
    for form in (key, key.hex().encode(), base64.b64encode(key), base64.urlsafe_b64encode(key).rstrip(b"=")):
        assert form not in stored
