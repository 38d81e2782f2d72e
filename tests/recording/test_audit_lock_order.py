"""Sweeps and jobs that touch several rows lock them all before they write to the audit log.

The audit log is one lock every writer takes. A transaction that holds it and then waits
for a row deadlocks with one that holds that row and then writes to the log (a client's
deletion, a withdrawal, a therapist's Stop, a client's page applying an expiry, an admin's
hand-over of a departed therapist's clients): PostgreSQL cancels one of them and what it did is
rolled back. Each test holds a row the way such a transaction does, lets the sweep reach the
row, then lets the holder write to the log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sotto import clock
from sotto.accounts import service as accounts
from sotto.accounts.models import Practice, Role, User
from sotto.audit.models import AuditEvent, DeletionReceipt
from sotto.clients import service as clients
from sotto.clients.models import Client
from sotto.consent import service as consents
from sotto.consent import signing
from sotto.consent.models import Consent
from sotto.consent.tasks import expire_consents
from sotto.db import Base, lock_row, session_scope
from sotto.recording import requests as client_requests
from sotto.recording import service as recordings
from sotto.recording.models import Recording, TherapySession
from sotto.recording.tasks import check_audio, end_abandoned_sessions, enforce_retention
from sotto.runtime import Runtime
from support.app import Person, create_person, sign_in
from support.audio import recording
from support.consenting import consenting_client
from support.recording import live_recording, upload, wait_until_blocked
from support.tus import Tus


def race(
    runtime: Runtime, held: tuple[type[Base], str], then: Callable[[Session], None], sweep: Callable[[], None]
) -> list[BaseException]:
    """One transaction locks the ``held`` row; once ``sweep`` (in another) waits for it, the
    first goes on with ``then``, which writes to the audit log. What either raised is returned."""
    locked, go_on = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def holder() -> None:
        try:
            with session_scope(runtime.sessions) as session:
                lock_row(session, *held)
                locked.set()
                go_on.wait(10)
                then(session)
        except BaseException as exc:  # reported by the caller's assertion
            failures.append(exc)

    def sweeper() -> None:
        try:
            sweep()
        except BaseException as exc:  # reported by the caller's assertion
            failures.append(exc)

    threads = [threading.Thread(target=holder), threading.Thread(target=sweeper)]
    threads[0].start()
    assert locked.wait(10)
    threads[1].start()
    wait_until_blocked(runtime)
    go_on.set()
    for thread in threads:
        thread.join(60)
    return failures


def test_the_consent_expiry_sweep_does_not_deadlock_with_a_client_opening_their_page(
    runtime: Runtime, signed_in_therapist: Person
) -> None:
    first = consenting_client(runtime, signed_in_therapist.user, pseudonym="Client A", email="a@example.org")
    second = consenting_client(runtime, signed_in_therapist.user, pseudonym="Client B", email="b@example.org")
    clock.advance(timedelta(days=366))  # both consents are past their term, neither marked expired yet

    def open_page(session: Session) -> None:
        consent = signing.consent_for_client_token(session, keystore=runtime.keystore, token=second.my_token)
        assert consent.status == "expired"

    failures = race(runtime, (Consent, second.consent.id), open_page, lambda: expire_consents(runtime))
    assert failures == []
    with session_scope(runtime.sessions) as session:
        for consent_id in (first.consent.id, second.consent.id):
            consent = session.get(Consent, consent_id)
            assert consent is not None and consent.status == "expired"
        expired = session.scalars(select(AuditEvent.subject).where(AuditEvent.action == "consent.expired")).all()
        assert sorted(expired) == sorted([f"consent:{first.consent.id}", f"consent:{second.consent.id}"])


def test_the_home_page_applying_expiries_does_not_deadlock_with_a_client_opening_their_page(
    runtime: Runtime, signed_in_therapist: Person, web: TestClient
) -> None:
    """The therapist's home page applies every client's due expiry in one transaction, as the sweep does."""
    first = consenting_client(runtime, signed_in_therapist.user, pseudonym="Client A", email="a@example.org")
    second = consenting_client(runtime, signed_in_therapist.user, pseudonym="Client B", email="b@example.org")
    clock.advance(timedelta(days=366))
    sign_in(web, signed_in_therapist)  # the earlier sign-in has timed out meanwhile
    pages: list[int] = []

    def open_page(session: Session) -> None:
        signing.consent_for_client_token(session, keystore=runtime.keystore, token=second.my_token)

    failures = race(runtime, (Consent, second.consent.id), open_page, lambda: pages.append(web.get("/").status_code))
    assert failures == [] and pages == [200]
    with session_scope(runtime.sessions) as session:
        for consent_id in (first.consent.id, second.consent.id):
            consent = session.get(Consent, consent_id)
            assert consent is not None and consent.status == "expired"


def test_the_retention_sweep_does_not_deadlock_with_a_clients_deletion(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    session_ids = [upload(runtime, web, client.client.id, recording("wav", seconds=1.0))[1] for _ in range(2)]
    with session_scope(runtime.sessions) as session:
        for session_id in session_ids:
            row = session.get(TherapySession, session_id)
            assert row is not None and row.status == "recorded"
            row.audio_expires_at = clock.now() - timedelta(seconds=1)
    kept_until_today, deleted_by_client = session_ids

    def delete(session: Session) -> None:
        row = session.get(TherapySession, deleted_by_client)
        assert row is not None
        client_requests.delete_for_client(
            session, keystore=runtime.keystore, settings=runtime.settings, therapy_session=row
        )

    failures = race(runtime, (TherapySession, deleted_by_client), delete, lambda: enforce_retention(runtime))
    assert failures == []
    with session_scope(runtime.sessions) as session:
        deleted = session.get(TherapySession, deleted_by_client)
        assert deleted is not None and deleted.status == "shredded"
        keys = session.scalars(select(Recording.data_key_id).where(Recording.session_id.in_(session_ids))).all()
        assert keys == [None, None]
        receipts = {(r.subject, r.what) for r in session.scalars(select(DeletionReceipt))}
        assert receipts == {
            (f"session:{kept_until_today}", "the session's audio"),
            (f"session:{deleted_by_client}", "everything recorded of this session"),
        }


def test_ending_abandoned_sessions_does_not_deadlock_with_the_therapist_pressing_stop(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    _, abandoned, _ = live_recording(web, client.client.id)
    _, stopped, _ = live_recording(web, client.client.id)
    clock.advance(timedelta(hours=runtime.settings.max_recording_hours + 2))

    def stop(session: Session) -> None:
        row = session.get(TherapySession, stopped)
        assert row is not None
        recordings.end_session(
            session,
            keystore=runtime.keystore,
            store=runtime.blobs,
            therapy_session=row,
            actor=f"user:{signed_in_therapist.id}",
        )

    failures = race(runtime, (TherapySession, stopped), stop, lambda: end_abandoned_sessions(runtime))
    assert failures == []
    with session_scope(runtime.sessions) as session:
        for session_id in (abandoned, stopped):
            row = session.get(TherapySession, session_id)
            assert row is not None and row.status == "recorded"
        ended = session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "session.recorded")).all()
        assert sorted(ended) == sorted(["system", f"user:{signed_in_therapist.id}"])


def test_checking_audio_does_not_deadlock_with_a_withdrawal(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    """The check destroys an unreadable recording with a receipt, then marks the session; a withdrawal
    locks the session, then destroys its recordings."""
    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    cut_off = recording("flac", seconds=2.0)
    url = tus.create(session_id).headers["Location"]
    assert tus.patch(url, 0, cut_off[: len(cut_off) // 2]).status_code == 204
    assert tus.end(session_id).status_code in (200, 303)

    def withdraw(session: Session) -> None:
        consent = session.get(Consent, client.consent.id)
        assert consent is not None
        assert consents.withdraw(session, keystore=runtime.keystore, consent=consent, by="client", actor="client")

    failures = race(
        runtime, (TherapySession, session_id), withdraw, lambda: check_audio(runtime, session_id=session_id)
    )
    assert failures == []
    with session_scope(runtime.sessions) as session:
        consent = session.get(Consent, client.consent.id)
        row = session.get(TherapySession, session_id)
        assert consent is not None and consent.status == "withdrawn"
        assert row is not None and row.status == "shredded"


def test_the_last_piece_of_an_upload_does_not_deadlock_with_a_withdrawal(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Completing an upload marks its session recorded; a withdrawal locks the session, then its recordings.
    The upload must take the session's row before the recording's, or the two wait for each other."""
    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    data = recording("wav", seconds=1.0)
    url = tus.create(session_id, source="upload", length=len(data), filetype="").headers["Location"]
    last = len(data) // 2
    assert tus.patch(url, 0, data[:last]).status_code == 204
    writing, go_on = threading.Event(), threading.Event()
    real_load_data_key = recordings.load_data_key

    def load_data_key_then_pause(*args: Any, **kwargs: Any) -> Any:
        key = real_load_data_key(*args, **kwargs)
        if not writing.is_set():  # the upload's transaction holds its locks here
            writing.set()
            go_on.wait(10)
        return key

    monkeypatch.setattr(recordings, "load_data_key", load_data_key_then_pause)
    answers: list[int] = []
    failures: list[BaseException] = []

    def withdraw() -> None:
        try:
            with session_scope(runtime.sessions) as session:
                consent = session.get(Consent, client.consent.id)
                assert consent is not None
                consents.withdraw(session, keystore=runtime.keystore, consent=consent, by="client", actor="client")
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    uploader = threading.Thread(target=lambda: answers.append(tus.patch(url, last, data[last:]).status_code))
    uploader.start()
    assert writing.wait(10)
    withdrawal = threading.Thread(target=withdraw)
    withdrawal.start()
    wait_until_blocked(runtime)
    go_on.set()
    for thread in (uploader, withdrawal):
        thread.join(60)
    assert failures == [] and answers == [204]
    with session_scope(runtime.sessions) as session:
        consent = session.get(Consent, client.consent.id)
        row = session.get(TherapySession, session_id)
        assert consent is not None and consent.status == "withdrawn"
        assert row is not None and row.status == "shredded"


def hand_over(runtime: Runtime, admin: Person, departed: Person, successor: Person) -> Callable[[], None]:
    """The admin's hand-over of ``departed``'s clients to ``successor``, in a transaction of its own."""

    def run() -> None:
        with session_scope(runtime.sessions) as session:
            by = session.get(User, admin.id)
            assert by is not None
            clients.hand_over_clients(
                session, keystore=runtime.keystore, admin=by, from_user_id=departed.id, to_user_id=successor.id
            )

    return run


def departed_therapist_and_colleagues(runtime: Runtime, practice: Practice, therapist: Person) -> tuple[Person, ...]:
    """An admin, ``therapist`` deactivated, and two active colleagues who could take the clients."""
    admin = create_person(runtime, practice, Role.ADMIN, "admin@quietharbor.test", "Pat Admin")
    first = create_person(runtime, practice, Role.THERAPIST, "dr.okafor@quietharbor.test", "Dr. Lee Okafor")
    second = create_person(runtime, practice, Role.THERAPIST, "dr.moss@quietharbor.test", "Dr. Ari Moss")
    with session_scope(runtime.sessions) as session:
        by = session.get(User, admin.id)
        assert by is not None
        accounts.deactivate_user(session, keystore=runtime.keystore, admin=by, user_id=therapist.id)
    return admin, first, second


def test_a_hand_over_does_not_deadlock_with_a_withdrawal(
    runtime: Runtime, practice: Practice, therapist: Person
) -> None:
    """A withdrawal locks the consent, then its sessions, then writes to the log; the hand-over takes
    the consents and sessions before its first audit entry, so it waits and then moves what is left."""
    client = consenting_client(runtime, therapist.user)
    with session_scope(runtime.sessions) as session:
        user, held = session.get(User, therapist.id), session.get(Client, client.client.id)
        assert user is not None and held is not None
        session_id = recordings.start_session(session, keystore=runtime.keystore, therapist=user, client=held).id
    admin, successor, _ = departed_therapist_and_colleagues(runtime, practice, therapist)

    def withdraw(session: Session) -> None:
        consent = session.get(Consent, client.consent.id)
        assert consent is not None
        assert consents.withdraw(session, keystore=runtime.keystore, consent=consent, by="client", actor="client")

    failures = race(runtime, (Consent, client.consent.id), withdraw, hand_over(runtime, admin, therapist, successor))
    assert failures == []
    with session_scope(runtime.sessions) as session:
        consent = session.get(Consent, client.consent.id)
        row = session.get(TherapySession, session_id)
        held = session.get(Client, client.client.id)
        assert consent is not None and consent.status == "withdrawn" and consent.therapist_id == successor.id
        assert row is not None and row.status == "shredded"
        assert held is not None and held.therapist_id == successor.id


def test_two_admins_handing_over_the_same_therapist_at_once_give_each_client_to_one_colleague(
    runtime: Runtime, practice: Practice, therapist: Person
) -> None:
    held = [
        consenting_client(runtime, therapist.user, pseudonym=f"Client {letter}", email=f"{letter}@example.org")
        for letter in "AB"
    ]
    admin, first, second = departed_therapist_and_colleagues(runtime, practice, therapist)

    def first_hand_over(session: Session) -> None:
        by = session.get(User, admin.id)
        assert by is not None
        clients.hand_over_clients(
            session, keystore=runtime.keystore, admin=by, from_user_id=therapist.id, to_user_id=first.id
        )

    failures = race(runtime, (Practice, practice.id), first_hand_over, hand_over(runtime, admin, therapist, second))
    assert failures == []
    with session_scope(runtime.sessions) as session:
        for one in held:
            owners = {session.scalar(select(Client.therapist_id).where(Client.id == one.client.id))}
            owners |= set(session.scalars(select(Consent.therapist_id).where(Consent.client_id == one.client.id)))
            assert owners == {first.id}
        moved = session.scalars(select(AuditEvent).where(AuditEvent.action == "client.handed_over")).all()
        assert len(moved) == 2
