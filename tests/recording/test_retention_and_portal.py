"""Retention rules, deletion receipts, and the client's own page."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import ExitStack, closing
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sotto import clock
from sotto.audit.models import AuditEvent, DeletionReceipt
from sotto.consent.models import Consent
from sotto.crypto.models import DataKey
from sotto.db import lock_row, session_scope
from sotto.jobs.service import run_periodic
from sotto.pipeline import tasks as processing
from sotto.pipeline.stages import PipelineError
from sotto.pipeline.types import Segment, Transcript
from sotto.recording import service as recordings
from sotto.recording.models import ClientRequest, Recording, TherapySession
from sotto.review import service as review
from sotto.review.models import SessionTranscript
from sotto.runtime import Runtime
from support.app import Person, form_token, links_in, set_practice, sign_in, work_off
from support.audio import recording
from support.consenting import consenting_client
from support.recording import session_row, upload
from support.scan import stored_anywhere
from support.smtp import LoopbackSmtpServer
from support.tus import Tus


def test_audio_kept_n_days_is_a_silenced_copy_destroyed_on_time(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    set_practice(runtime, audio_retention_days=2)
    client = consenting_client(runtime, signed_in_therapist.user)
    _, session_id, url, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    work_off(runtime)
    row = session_row(runtime, session_id)
    assert row.status == "processed"
    assert row.audio_expires_at is not None and row.ended_at is not None
    assert row.audio_expires_at - row.ended_at == timedelta(days=2)
    # Processing kept a redacted copy and destroyed the original at once.
    original_id = url.rsplit("/", 1)[1]
    assert runtime.blobs.names(f"audio/{original_id}") == []
    with session_scope(runtime.sessions) as session:
        [kept] = [r for r in session.scalars(select(Recording)) if r.data_key_id is not None]
        assert kept.source == "redacted" and kept.complete and kept.id != original_id
        [first] = session.scalars(select(DeletionReceipt)).all()
        assert first.what == "the session's original audio" and "silenced" in first.reason
    sign_in(web, signed_in_therapist)
    assert web.get(f"{url}/audio").status_code == 410
    assert web.get(f"/recordings/{kept.id}/audio").status_code == 200

    clock.advance(timedelta(days=1))
    run_periodic(runtime)
    assert session_row(runtime, session_id).audio_expires_at is not None  # not yet

    clock.advance(timedelta(days=1, minutes=1))
    run_periodic(runtime)
    work_off(runtime)
    assert runtime.blobs.names(f"audio/{kept.id}") == []
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(DataKey).where(DataKey.purpose == "recording")).all() == []
        receipts = session.scalars(select(DeletionReceipt).order_by(DeletionReceipt.audit_seq)).all()
        assert receipts[-1].reason == "the practice's retention period ended" and receipts[-1].by == "system"
    sign_in(web, signed_in_therapist)  # the earlier sign-in has expired
    assert web.get(f"/recordings/{kept.id}/audio").status_code == 410


def test_zero_day_audio_is_destroyed_when_processing_finishes(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    url, _ = tus.upload_file(session_id, recording("wav", seconds=1.0))
    work_off(runtime, process=False)
    row = session_row(runtime, session_id)
    # Kept, encrypted, while it waits for processing: not on a calendar.
    assert row.status == "recorded" and row.audio_expires_at is None and row.stage == "queued"
    assert runtime.blobs.names(f"audio/{url.rsplit('/', 1)[1]}") != []

    work_off(runtime)
    row = session_row(runtime, session_id)
    assert row.status == "processed" and row.processed_at is not None and row.audio_expires_at is None
    assert runtime.blobs.names(f"audio/{url.rsplit('/', 1)[1]}") == []
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(DataKey).where(DataKey.purpose == "recording")).all() == []
        [receipt] = session.scalars(select(DeletionReceipt)).all()
        assert receipt.reason == "processing finished; the practice does not keep audio"


def test_transcript_retention_destroys_the_whole_session(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    _, session_id, _, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    with session_scope(runtime.sessions) as session:
        row = session.get(TherapySession, session_id)
        assert row is not None
        row.processed_at = clock.now()
        row.transcript_expires_at = clock.now() + timedelta(days=30)
    clock.advance(timedelta(days=31))
    run_periodic(runtime)
    assert session_row(runtime, session_id).status == "shredded"


def test_kept_audio_has_a_date_when_the_practice_began_keeping_audio_after_the_session_ended(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    _, session_id, _, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    assert session_row(runtime, session_id).audio_expires_at is None  # no audio was to be kept
    set_practice(runtime, audio_retention_days=2)  # changed while the session waited for processing
    work_off(runtime)
    row = session_row(runtime, session_id)
    assert row.status == "processed" and row.ended_at is not None
    assert row.audio_expires_at == row.ended_at + timedelta(days=2)
    clock.advance(timedelta(days=2, minutes=1))
    run_periodic(runtime)
    work_off(runtime)
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(DataKey).where(DataKey.purpose == "recording")).all() == []
    assert runtime.blobs.names("audio/") == []


def test_a_transcript_kept_by_a_session_that_failed_later_is_destroyed_on_time(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_practice(runtime, audio_retention_days=2, transcript_retention_days=30)

    def broken(runtime: Runtime, plan: object, transcript: object) -> None:
        raise PipelineError("damaged", "The kept copy could not be written.")

    monkeypatch.setattr(processing, "_silence", broken)  # fails after the transcript was stored
    client = consenting_client(runtime, signed_in_therapist.user)
    _, session_id, _, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    work_off(runtime)
    assert session_row(runtime, session_id).status == "failed"
    with session_scope(runtime.sessions) as session:
        assert len(session.scalars(select(SessionTranscript)).all()) == 1
    with TestClient(web.app, base_url="http://testserver") as device:  # what the client is told is kept
        kept = device.get(f"/my/{client.my_token}").text
    expires = session_row(runtime, session_id).transcript_expires_at
    assert expires is not None and "Transcript and notes: a transcript, until" in kept
    clock.advance(timedelta(days=31))
    run_periodic(runtime)
    work_off(runtime)
    assert session_row(runtime, session_id).status == "shredded"
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(SessionTranscript)).all() == []
        assert session.scalars(select(DataKey)).all() == []
    assert runtime.blobs.names("transcripts/") == [] and runtime.blobs.names("audio/") == []


def test_a_transcript_stored_while_the_session_is_being_deleted_is_deleted_too(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    _, session_id, _, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    with session_scope(runtime.sessions) as session:
        row = session.get(TherapySession, session_id)
        assert row is not None
        row.status = "processing"
    stored, commit = threading.Event(), threading.Event()

    def store_checkpoint() -> None:
        # What the processing job does: store the transcript under a lock on the session's row.
        with session_scope(runtime.sessions) as session:
            lock_row(session, TherapySession, session_id)
            review.store_transcript(
                session,
                keystore=runtime.keystore,
                store=runtime.blobs,
                session_id=session_id,
                transcript=Transcript(duration=1.0, segments=[Segment(0.0, 1.0, "words of the session")]),
            )
            stored.set()
            commit.wait(10)

    def delete() -> None:
        with session_scope(runtime.sessions) as session:
            row = session.get(TherapySession, session_id)
            assert row is not None
            recordings.shred_session(
                session, keystore=runtime.keystore, therapy_session=row, by="client", reason="asked for deletion"
            )

    worker = threading.Thread(target=store_checkpoint)
    worker.start()
    assert stored.wait(10)
    deletion = threading.Thread(target=delete)
    deletion.start()
    deletion.join(1.5)  # it reaches the transcripts while the worker's transaction is still open
    commit.set()
    worker.join()
    deletion.join()
    assert session_row(runtime, session_id).status == "shredded"
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(SessionTranscript)).all() == []
        assert session.scalars(select(DataKey)).all() == []
    work_off(runtime, process=False)
    assert runtime.blobs.names("transcripts/") == []


def my_page(device: TestClient, token: str) -> str:
    return f"/my/{token}"


def test_client_sees_sessions_and_deletes_one_at_once(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    _, session_id, _, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    with TestClient(web.app, base_url="http://testserver") as device:
        page = my_page(device, client.my_token)
        html = device.get(page).text
        assert "until the transcript is made" in html and "Ask for a copy" in html
        r = device.post(f"{page}/sessions/{session_id}/delete", data={"csrf_token": form_token(device, page)})
        assert r.status_code == 200 and "A receipt is below" in r.text and "Deletion receipts" in r.text
    assert session_row(runtime, session_id).status == "shredded"


def test_deletion_as_a_request_goes_to_the_therapist(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, smtp_server: LoopbackSmtpServer
) -> None:
    set_practice(runtime, client_deletion="request", request_response_days=14)
    client = consenting_client(runtime, signed_in_therapist.user)
    _, session_id, _, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    work_off(runtime)
    with TestClient(web.app, base_url="http://testserver") as device:
        page = my_page(device, client.my_token)
        r = device.post(f"{page}/sessions/{session_id}/delete", data={"csrf_token": form_token(device, page)})
        assert "must do so by" in r.text
        again = device.post(f"{page}/sessions/{session_id}/delete", data={"csrf_token": form_token(device, page)})
        assert "Deletion requested" in again.text
    assert session_row(runtime, session_id).status == "processed"
    with session_scope(runtime.sessions) as session:
        [request] = session.scalars(select(ClientRequest)).all()
        assert request.due_at - request.created_at == timedelta(days=14)
    work_off(runtime)
    notice = [m for m in smtp_server.messages if m["To"] == signed_in_therapist.user.email][-1]
    assert "asked for deletion" in notice.get_body(("plain",)).get_content()

    home = web.get("/")
    assert "Requests from clients" in home.text and "Delete the session" in home.text
    r = web.post(f"/requests/{request.id}/done", data={"csrf_token": form_token(web, "/")})
    assert r.status_code == 303
    assert session_row(runtime, session_id).status == "shredded"
    with session_scope(runtime.sessions) as session:
        receipt = session.scalars(select(DeletionReceipt).order_by(DeletionReceipt.audit_seq.desc())).first()
        assert receipt is not None
        assert receipt.by == f"user:{signed_in_therapist.id}" and receipt.reason == "the client asked for deletion"
    assert "Requests from clients" not in web.get("/").text


def test_client_changes_uses_and_recording_follows(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    with TestClient(web.app, base_url="http://testserver") as device:
        page = my_page(device, client.my_token)
        r = device.post(f"{page}/uses", data={"csrf_token": form_token(device, page), "use_client_recap": "yes"})
        assert "choices are saved" in r.text
    with session_scope(runtime.sessions) as session:
        consent = session.get(Consent, client.consent.id)
        assert consent is not None
        assert consent.uses == {
            "therapist_review": False,
            "supervision": False,
            "ai_notes": False,
            "client_recap": True,
        }


def test_lost_link_is_resent_only_to_the_same_address(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, smtp_server: LoopbackSmtpServer
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user, email="Client.K@Example.test")
    work_off(runtime)
    before = len(smtp_server.messages)
    with TestClient(web.app, base_url="http://testserver") as device:
        for address in ("someone.else@example.test", "client.k@example.test"):
            r = device.post("/my", data={"csrf_token": form_token(device, "/my"), "email": address})
            assert r.status_code == 200 and "If that address" in r.text
        work_off(runtime)
        new = smtp_server.messages[before:]
        assert [m["To"] for m in new] == ["client.k@example.test"]
        [link] = links_in(new[0].get_body(("plain",)).get_content())
        assert device.get(link).status_code == 200
        assert device.get(f"/my/{client.my_token}").status_code == 410  # the old link is retired


def test_protections_page_quotes_the_real_settings(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    set_practice(runtime, audio_retention_days=30, phi_removal=False)
    client = consenting_client(runtime, signed_in_therapist.user)
    with TestClient(web.app, base_url="http://testserver") as device:
        html = device.get(f"/my/{client.my_token}/protections").text
    assert "30 days" in html and "AES-256-GCM" in html
    assert "turned off automatic removal of identifying details" in html
    staff = web.get("/protections")
    assert staff.status_code == 200 and "Send this page to a client" in staff.text


def test_abandoned_recording_is_ended_and_checked(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    from support.tus import Tus

    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    url = tus.create(session_id).headers["Location"]
    tus.patch(url, 0, recording("wav", seconds=1.0))  # then the tab was closed
    clock.advance(timedelta(hours=runtime.settings.max_recording_hours + 0.5))
    run_periodic(runtime)
    assert session_row(runtime, session_id).status == "recording"  # could still be going
    clock.advance(timedelta(hours=1))
    run_periodic(runtime)
    work_off(runtime, process=False)
    assert session_row(runtime, session_id).status == "recorded"


def copy_agreed(runtime: Runtime, web: TestClient, therapist: Person) -> str:
    """A session recorded and processed, a copy asked for and agreed to: where the client downloads it."""
    client = consenting_client(runtime, therapist.user)
    _, session_id, _, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    work_off(runtime)
    page = f"/my/{client.my_token}"
    with TestClient(web.app, base_url="http://testserver", follow_redirects=False) as device:
        device.post(f"{page}/sessions/{session_id}/copy", data={"csrf_token": form_token(device, page)})
    with session_scope(runtime.sessions) as session:
        [request] = session.scalars(select(ClientRequest)).all()
    web.post(f"/requests/{request.id}/done", data={"csrf_token": form_token(web, "/")})
    return f"{page}/sessions/{session_id}/copy.txt"


def first_line(web: TestClient, url: str) -> str:
    with TestClient(web.app, base_url="http://testserver") as device:
        r = device.get(url)
    assert r.status_code == 200
    return r.text.splitlines()[0]


@pytest.mark.parametrize(
    ("identifiers", "topics", "said"),
    [
        (False, [], "(nothing removed: the practice had automatic removal turned off)"),
        (True, [], "(identifying details removed; the practice does not remove sensitive passages)"),
        (False, ["trauma"], "(sensitive passages removed; the practice does not remove identifying details)"),
    ],
)
def test_the_copy_says_what_was_removed_as_the_practice_had_it_set(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, identifiers: bool, topics: list[str], said: str
) -> None:
    set_practice(runtime, phi_removal=identifiers, topics_removed=topics)
    url = copy_agreed(runtime, web, signed_in_therapist)
    assert first_line(web, url).endswith(said)
    # Said as the practice had it set when the session was processed, not as it is set now.
    set_practice(runtime, phi_removal=True, topics_removed=["trauma", "substance"])
    assert first_line(web, url).endswith(said)


def test_client_downloads_a_copy_once_the_therapist_agrees(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    other = consenting_client(runtime, signed_in_therapist.user, pseudonym="Other Wren")
    _, session_id, _, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    work_off(runtime)
    with TestClient(web.app, base_url="http://testserver", follow_redirects=False) as device:
        page = my_page(device, client.my_token)
        copy = f"{page}/sessions/{session_id}/copy.txt"
        assert device.get(copy).status_code == 404  # not asked for yet
        device.post(f"{page}/sessions/{session_id}/copy", data={"csrf_token": form_token(device, page)})
        not_yet = device.get(copy)
        assert not_yet.status_code == 404 and "has not agreed" in not_yet.text
        with session_scope(runtime.sessions) as session:
            [request] = session.scalars(select(ClientRequest)).all()
        web.post(f"/requests/{request.id}/done", data={"csrf_token": form_token(web, "/")})
        assert "Download your copy" in device.get(page).text
        r = device.get(copy)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert "attachment" in r.headers["content-disposition"] and "no-store" in r.headers["cache-control"]
        assert "identifying details and sensitive passages removed" in r.text
        # Another client's link does not reach this session.
        assert device.get(f"/my/{other.my_token}/sessions/{session_id}/copy.txt").status_code == 404
    with session_scope(runtime.sessions) as session:
        actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert "transcript.copy_downloaded" in actions


def test_a_deleted_session_leaves_no_copy_of_its_keys_in_the_database_files(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    """Deleting the wrapped key is the crypto-shred. SQLite zeroes the row's page (secure_delete), but
    its write-ahead log kept older copies of the page until they were overwritten: a copy of the data
    folder taken then, with the key file, could still unwrap the keys and read the session."""
    with ExitStack() as running_server:
        if runtime.engine.dialect.name == "sqlite":
            # A server keeps connections open, so SQLite does not remove the log between requests.
            kept_open = running_server.enter_context(closing(sqlite3.connect(runtime.settings.data_dir / "sotto.db")))
            kept_open.execute("SELECT count(*) FROM data_keys").fetchall()
        set_practice(runtime, audio_retention_days=30)
        client = consenting_client(runtime, signed_in_therapist.user)
        _, session_id, _, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
        work_off(runtime)
        with session_scope(runtime.sessions) as session:
            wrapped = [key.wrapped for key in session.scalars(select(DataKey))]
        assert len(wrapped) >= 2  # the kept audio and the transcript
        with TestClient(web.app, base_url="http://testserver") as device:
            page = my_page(device, client.my_token)
            device.post(f"{page}/sessions/{session_id}/delete", data={"csrf_token": form_token(device, page)})
        work_off(runtime)
        assert session_row(runtime, session_id).status == "shredded"
        for key in wrapped:
            assert stored_anywhere(runtime, key) == []
