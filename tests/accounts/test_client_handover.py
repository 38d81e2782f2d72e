"""Handing a departed therapist's clients to a colleague: the clients, their sessions and consent
records move; a consent that named the departed therapist ends, so recording needs a new form."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sotto.accounts.models import Practice, Role, User
from sotto.audit.models import AuditEvent
from sotto.clients import service as clients
from sotto.clients.models import Client
from sotto.consent.models import Consent
from sotto.db import session_scope
from sotto.recording import service as recordings
from sotto.recording.models import Recording, Source, TherapySession
from sotto.runtime import Runtime
from support.app import Person, another_browser, create_person, create_practice, form_token, sign_in
from support.consenting import consenting_client


@pytest.fixture
def successor(runtime: Runtime, practice: Practice) -> Person:
    return create_person(runtime, practice, Role.THERAPIST, "dr.okafor@quietharbor.test", "Dr. Lee Okafor")


def act(web: TestClient, user_id: str, action: str, **data: str) -> object:
    return web.post(f"/admin/users/{user_id}/{action}", data={**data, "csrf_token": form_token(web, "/admin/users")})


def hand_over(web: TestClient, from_id: str, to_id: str, confirm: str = "yes"):  # type: ignore[no-untyped-def]
    return act(web, from_id, "hand-over", to=to_id, confirm=confirm)


def recorded_session(runtime: Runtime, therapist: Person, client_id: str) -> str:
    with session_scope(runtime.sessions) as session:
        user = session.get(User, therapist.id)
        client = session.get(Client, client_id)
        assert user is not None and client is not None
        row = recordings.start_session(session, keystore=runtime.keystore, therapist=user, client=client)
        recordings.end_session(
            session, keystore=runtime.keystore, store=runtime.blobs, therapy_session=row, actor="test"
        )
        return row.id


def owners(runtime: Runtime, client_id: str) -> set[str]:
    """Every therapist a row about this client names."""
    with session_scope(runtime.sessions) as session:
        client = session.get(Client, client_id)
        assert client is not None
        found = {client.therapist_id}
        found |= set(session.scalars(select(Consent.therapist_id).where(Consent.client_id == client_id)))
        found |= set(session.scalars(select(TherapySession.therapist_id).where(TherapySession.client_id == client_id)))
        return found


def events(runtime: Runtime, action: str) -> list[AuditEvent]:
    with session_scope(runtime.sessions) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_handed_over_client_and_sessions_are_the_new_therapists_and_no_longer_the_old_ones(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, successor: Person
) -> None:
    held = consenting_client(runtime, therapist.user, pseudonym="Client K")
    session_id = recorded_session(runtime, therapist, held.client.id)
    assert act(web, therapist.id, "deactivate").status_code == 200

    r = hand_over(web, therapist.id, successor.id)

    assert r.status_code == 200, r.text
    assert "1 client of Dr. Sam Rivera is now Dr. Lee Okafor&#39;s" in r.text
    assert owners(runtime, held.client.id) == {successor.id}
    theirs = another_browser(web)
    sign_in(theirs, successor)
    assert f'href="/clients/{held.client.id}"' in theirs.get("/").text
    page = theirs.get(f"/clients/{held.client.id}")
    assert page.status_code == 200 and f"/sessions/{session_id}" in page.text
    session_page = theirs.get(f"/sessions/{session_id}")
    assert session_page.status_code == 200
    assert "Recorded by</dt><dd" in session_page.text and "Dr. Sam Rivera, before" in session_page.text

    assert act(web, therapist.id, "reactivate").status_code == 200
    back = another_browser(web)
    sign_in(back, therapist)
    assert f'href="/clients/{held.client.id}"' not in back.get("/").text
    for path in (f"/clients/{held.client.id}", f"/sessions/{session_id}", f"/consents/{held.consent.id}"):
        r = back.get(path)
        assert r.status_code == 404 and "Not found" in r.text, path


def test_consent_of_a_handed_over_client_no_longer_permits_recording_until_a_new_form_is_signed(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, successor: Person
) -> None:
    held = consenting_client(runtime, therapist.user, pseudonym="Client K")
    assert act(web, therapist.id, "deactivate").status_code == 200
    assert hand_over(web, therapist.id, successor.id).status_code == 200

    with session_scope(runtime.sessions) as session:
        consent = session.get(Consent, held.consent.id)
        assert consent is not None and consent.status == "expired" and consent.expired_at is not None
    [ended] = events(runtime, "consent.ended")
    assert ended.subject == f"consent:{held.consent.id}" and ended.actor == f"user:{admin.id}"
    assert ended.details == {"reason": "therapist handed over", "to": successor.id}
    theirs = another_browser(web)
    sign_in(theirs, successor)
    r = theirs.post(f"/clients/{held.client.id}/sessions", data={"csrf_token": form_token(theirs, "/")})
    assert r.status_code == 403
    assert r.json()["error"] == (
        "The client's consent named their previous therapist and ended when the client was handed over to you. "
        "Send them a new consent form to record."
    )

    renewed = consenting_client(runtime, successor.user, pseudonym="Client K", email="client.k.new@example.test")
    assert renewed.client.id == held.client.id
    r = theirs.post(f"/clients/{held.client.id}/sessions", data={"csrf_token": form_token(theirs, "/")})
    assert r.status_code == 201, r.text


def test_a_session_still_recording_takes_no_more_audio_after_the_hand_over(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, successor: Person
) -> None:
    held = consenting_client(runtime, therapist.user, pseudonym="Client K")
    with session_scope(runtime.sessions) as session:
        user = session.get(User, therapist.id)
        client = session.get(Client, held.client.id)
        assert user is not None and client is not None
        row = recordings.start_session(session, keystore=runtime.keystore, therapist=user, client=client)
        rec = recordings.open_recording(
            session, keystore=runtime.keystore, therapy_session=row, source=Source.MICROPHONE, media_type="audio/webm"
        )
        recording_id = rec.id
    assert act(web, therapist.id, "deactivate").status_code == 200
    assert hand_over(web, therapist.id, successor.id).status_code == 200

    with session_scope(runtime.sessions) as session:
        rec = session.get(Recording, recording_id)
        assert rec is not None
        with pytest.raises(recordings.RecordingRefused):
            recordings.append_chunk(
                session, keystore=runtime.keystore, store=runtime.blobs, recording=rec, offset=0, data=b"\0" * 64
            )


def test_every_moved_client_gets_an_audit_entry(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, successor: Person
) -> None:
    first = consenting_client(runtime, therapist.user, pseudonym="Client K")
    second = consenting_client(runtime, therapist.user, pseudonym="Blue Heron", email="heron@example.test")
    assert act(web, therapist.id, "deactivate").status_code == 200
    assert "2 clients of Dr. Sam Rivera are now" in hand_over(web, therapist.id, successor.id).text

    moved = events(runtime, "client.handed_over")
    assert sorted(e.subject or "" for e in moved) == sorted([f"client:{first.client.id}", f"client:{second.client.id}"])
    for event in moved:
        assert event.actor == f"user:{admin.id}"
        assert event.details == {"from": therapist.id, "to": successor.id, "renamed": False}


def test_users_page_offers_the_hand_over_only_for_a_deactivated_therapist_with_clients(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, successor: Person, practice: Practice
) -> None:
    consenting_client(runtime, therapist.user, pseudonym="Client K")
    idle = create_person(runtime, practice, Role.THERAPIST, "dr.idle@quietharbor.test", "Dr. Idle Invented")
    assert act(web, therapist.id, "deactivate").status_code == 200
    assert act(web, idle.id, "deactivate").status_code == 200

    page = web.get("/admin/users").text
    assert f'action="/admin/users/{therapist.id}/hand-over"' in page
    assert "1 client" in page
    assert f'<option value="{successor.id}">' in page
    assert f'action="/admin/users/{idle.id}/hand-over"' not in page
    assert f'<option value="{idle.id}">' not in page and f'<option value="{therapist.id}">' not in page


def test_hand_over_without_the_box_ticked_moves_nothing(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, successor: Person
) -> None:
    held = consenting_client(runtime, therapist.user, pseudonym="Client K")
    assert act(web, therapist.id, "deactivate").status_code == 200
    r = hand_over(web, therapist.id, successor.id, confirm="")
    assert r.status_code == 400 and "Tick the box" in r.text
    assert owners(runtime, held.client.id) == {therapist.id}


def test_hand_over_from_an_active_therapist_is_refused_with_a_plain_message(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, successor: Person
) -> None:
    held = consenting_client(runtime, therapist.user, pseudonym="Client K")
    r = hand_over(web, therapist.id, successor.id)
    assert r.status_code == 400
    assert "Deactivate Dr. Sam Rivera&#39;s account before handing over their clients." in r.text
    assert owners(runtime, held.client.id) == {therapist.id}
    assert not events(runtime, "client.handed_over")


def refused(runtime: Runtime, acting: Person, from_id: str, to_id: str) -> str:
    with session_scope(runtime.sessions) as session:
        admin_row = session.get(User, acting.id)
        assert admin_row is not None
        with pytest.raises(ValueError) as caught:
            clients.hand_over_clients(
                session, keystore=runtime.keystore, admin=admin_row, from_user_id=from_id, to_user_id=to_id
            )
        session.rollback()
    return str(caught.value)


def test_hand_over_to_a_deactivated_therapist_or_another_practices_is_refused(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, successor: Person
) -> None:
    held = consenting_client(runtime, therapist.user, pseudonym="Client K")
    elsewhere = create_person(
        runtime, create_practice(runtime, name="Far Shore Therapy"), Role.THERAPIST, "dr.far@farshore.test", "Dr. Far"
    )
    assert act(web, therapist.id, "deactivate").status_code == 200
    assert act(web, successor.id, "deactivate").status_code == 200

    for to_id in (successor.id, elsewhere.id, therapist.id, admin.id, "no-such-user"):
        message = refused(runtime, admin, therapist.id, to_id)
        assert message == "Choose an active therapist of the practice to take the clients.", to_id
    assert owners(runtime, held.client.id) == {therapist.id}
    assert not events(runtime, "client.handed_over")


def test_hand_over_by_someone_not_an_admin_is_refused(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, successor: Person
) -> None:
    held = consenting_client(runtime, therapist.user, pseudonym="Client K")
    assert act(web, therapist.id, "deactivate").status_code == 200

    assert (
        refused(runtime, successor, therapist.id, successor.id) == "Only an active practice admin can change accounts."
    )
    theirs = another_browser(web)
    sign_in(theirs, successor)
    assert hand_over(theirs, therapist.id, successor.id).status_code in (403, 404)
    assert owners(runtime, held.client.id) == {therapist.id}


def test_a_pseudonym_the_new_therapist_already_uses_gets_a_number(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, successor: Person
) -> None:
    other = consenting_client(runtime, therapist.user, pseudonym="Blue Heron", email="heron@example.test")
    clash = consenting_client(runtime, therapist.user, pseudonym="Client K")
    own = consenting_client(runtime, successor.user, pseudonym="Client K", email="another.k@example.test")
    consenting_client(runtime, successor.user, pseudonym="Client K 2", email="a.third.k@example.test")
    assert act(web, therapist.id, "deactivate").status_code == 200

    r = hand_over(web, therapist.id, successor.id)

    assert r.status_code == 200
    assert "already had a client called Client K, so this one is now Client K 3." in r.text
    with session_scope(runtime.sessions) as session:
        names = {c.id: (c.pseudonym, c.therapist_id) for c in session.scalars(select(Client))}
    assert names[clash.client.id] == ("Client K 3", successor.id)
    assert names[own.client.id] == ("Client K", successor.id)
    assert names[other.client.id] == ("Blue Heron", successor.id)
    renamed = {e.subject: e.details["renamed"] for e in events(runtime, "client.handed_over")}
    assert renamed == {f"client:{clash.client.id}": True, f"client:{other.client.id}": False}
