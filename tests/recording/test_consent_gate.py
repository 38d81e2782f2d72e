"""No audio without consent: every chunk is checked, and withdrawal destroys the session at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sotto import clock
from sotto.audit import service as audit
from sotto.audit.models import AuditEvent
from sotto.consent import service as consents
from sotto.consent.models import Consent
from sotto.crypto.datakeys import load_data_key
from sotto.crypto.models import DataKey
from sotto.db import lock_row, session_scope
from sotto.pipeline import tasks as processing
from sotto.pipeline.stages import PipelineError
from sotto.recording.models import Recording, TherapySession
from sotto.recording.service import AUDIO_PREFIX
from sotto.review.models import SessionTranscript
from sotto.runtime import Runtime
from support.app import Person, form_token, work_off
from support.audio import recording
from support.consenting import consenting_client
from support.recording import live_recording, stored_audio, upload, wait_until_blocked
from support.tus import Tus

CHUNK = bytes(range(256)) * 64  # 16 KiB of recognisable "audio"


def test_recording_without_consent_is_refused(runtime: Runtime, web: TestClient, signed_in_therapist: Person) -> None:
    from sotto.accounts.models import User
    from sotto.clients import service as clients

    with session_scope(runtime.sessions) as session:
        therapist = session.get(User, signed_in_therapist.id)
        assert therapist is not None
        client = clients.find_or_create_client(session, therapist=therapist, pseudonym="No Consent Yet")
    r = Tus(web).start_session(client.id)
    assert r.status_code == 403 and "not given consent" in r.json()["error"]
    assert "not given consent" in web.get(f"/clients/{client.id}/record").text


def test_chunks_resume_without_loss_or_duplication(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus, session_id, url = live_recording(web, client.client.id)
    assert tus.patch(url, 0, CHUNK).headers["Upload-Offset"] == str(len(CHUNK))
    # The answer to the next chunk is lost: the recorder sends it again, overlapping.
    second = CHUNK[::-1]
    tus.patch(url, len(CHUNK), second)
    r = tus.patch(url, len(CHUNK), second + b"tail")
    assert r.status_code == 204 and tus.offset(url) == 2 * len(CHUNK) + 4
    # A gap is refused with where to continue from.
    r = tus.patch(url, 10 * len(CHUNK), CHUNK)
    assert r.status_code == 409 and r.headers["Upload-Offset"] == str(2 * len(CHUNK) + 4)
    assert tus.end(session_id).status_code == 200
    assert stored_audio(runtime, url.rsplit("/", 1)[1]) == CHUNK + second + b"tail"


def test_withdrawn_consent_rejects_next_chunk_and_destroys_the_session(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus, session_id, url = live_recording(web, client.client.id)
    assert tus.patch(url, 0, CHUNK).status_code == 204
    recording_id = url.rsplit("/", 1)[1]
    with TestClient(web.app, base_url="http://testserver") as device:  # the client's phone
        page = f"/my/{client.my_token}"
        r = device.post(f"{page}/withdraw", data={"csrf_token": form_token(device, page)})
        assert r.status_code == 200
    r = tus.patch(url, len(CHUNK), CHUNK)
    assert r.status_code == 403
    work_off(runtime)
    with session_scope(runtime.sessions) as session:
        therapy_session = session.get(TherapySession, session_id)
        rec = session.get(Recording, recording_id)
        assert therapy_session is not None and rec is not None
        assert therapy_session.status == "shredded" and rec.data_key_id is None
        assert session.scalars(select(DataKey).where(DataKey.purpose == "recording")).all() == []
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert runtime.blobs.names(f"{AUDIO_PREFIX}/{recording_id}") == []
    # One transaction: the session's receipt, then the withdrawal that caused it.
    assert actions.index("deleted") + 1 == actions.index("consent.withdrawn")


def test_therapist_control_for_a_verbal_withdrawal_stops_and_destroys(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus, session_id, url = live_recording(web, client.client.id)
    tus.patch(url, 0, CHUNK)
    r = web.post(f"/sessions/{session_id}/client-withdrew", headers=tus.headers())
    assert r.status_code == 200 and r.json()["status"] == "shredded"
    assert tus.patch(url, len(CHUNK), CHUNK).status_code == 403
    assert tus.start_session(client.client.id).status_code == 403


def test_withdrawal_during_an_upload_leaves_nothing(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, monkeypatch
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus, session_id, url = live_recording(web, client.client.id)
    tus.patch(url, 0, CHUNK)
    writing, release = threading.Event(), threading.Event()
    original_put = type(runtime.blobs).put

    def slow_put(store, name, data):  # type: ignore[no-untyped-def]
        writing.set()
        release.wait(10)
        return original_put(store, name, data)

    monkeypatch.setattr(type(runtime.blobs), "put", slow_put)
    results: dict[str, int] = {}

    def upload() -> None:
        results["patch"] = tus.patch(url, len(CHUNK), CHUNK).status_code

    def withdraw() -> None:
        with TestClient(web.app, base_url="http://testserver") as device:
            page = f"/my/{client.my_token}"
            results["withdraw"] = device.post(
                f"{page}/withdraw", data={"csrf_token": form_token(device, page)}
            ).status_code

    uploader = threading.Thread(target=upload)
    uploader.start()
    assert writing.wait(10)  # the chunk is being written…
    withdrawer = threading.Thread(target=withdraw)
    withdrawer.start()  # …when the client withdraws from another device
    withdrawer.join(0.5)
    release.set()
    uploader.join(30)
    withdrawer.join(30)
    monkeypatch.undo()
    assert results == {"patch": 204, "withdraw": 200}
    work_off(runtime)
    recording_id = url.rsplit("/", 1)[1]
    assert runtime.blobs.names(f"{AUDIO_PREFIX}/{recording_id}") == []
    with session_scope(runtime.sessions) as session:
        therapy_session = session.get(TherapySession, session_id)
        assert therapy_session is not None and therapy_session.status == "shredded"
    assert tus.patch(url, 2 * len(CHUNK), CHUNK).status_code == 403


def test_expired_consent_stops_the_next_chunk(runtime: Runtime, web: TestClient, signed_in_therapist: Person) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus, _, url = live_recording(web, client.client.id)
    assert tus.patch(url, 0, CHUNK).status_code == 204
    clock.advance(timedelta(days=366))
    # The therapist's session would have idled out; sign in again is not the point here.
    from support.app import sign_in

    sign_in(web, signed_in_therapist)
    tus.csrf = form_token(web, "/")
    r = tus.patch(url, len(CHUNK), CHUNK)
    assert r.status_code == 403 and "expired" in r.json()["error"]


@pytest.mark.parametrize(
    "uses", [{"therapist_review": False, "supervision": False, "ai_notes": False, "client_recap": False}]
)
def test_consent_allowing_no_use_does_not_cover_recording(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, uses: dict
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user, uses=uses)
    r = Tus(web).start_session(client.client.id)
    assert r.status_code == 403 and "does not allow any use" in r.json()["error"]


def test_other_therapist_cannot_append_to_a_recording(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, practice
) -> None:
    from sotto.accounts.models import Role
    from support.app import create_person, sign_in

    client = consenting_client(runtime, signed_in_therapist.user)
    _, session_id, url = live_recording(web, client.client.id)
    other = create_person(runtime, practice, Role.THERAPIST, "other@quietharbor.test", "Dr. Other")
    with TestClient(web.app, base_url="http://testserver", follow_redirects=False) as other_web:
        sign_in(other_web, other)
        intruder = Tus(other_web)
        assert intruder.patch(url, 0, CHUNK).status_code == 404
        assert intruder.create(session_id).status_code == 404
        assert other_web.head(url, headers=intruder.headers()).status_code == 404
        assert other_web.get(f"/recordings/{url.rsplit('/', 1)[1]}/audio").status_code == 404
        assert intruder.start_session(client.client.id).status_code == 404


def test_chunk_stored_by_a_transaction_that_failed_is_not_kept_twice(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    from sotto.storage.encrypted import ObjectWriter

    client = consenting_client(runtime, signed_in_therapist.user)
    tus, session_id, url = live_recording(web, client.client.id)
    tus.patch(url, 0, CHUNK)
    recording_id = url.rsplit("/", 1)[1]
    # As if the next chunk was written to storage but its database commit then failed.
    with session_scope(runtime.sessions) as session:
        rec = session.get(Recording, recording_id)
        assert rec is not None and rec.data_key_id is not None
        key = load_data_key(session, keystore=runtime.keystore, key_id=rec.data_key_id)
        ObjectWriter.continue_at(
            runtime.blobs, key, prefix=AUDIO_PREFIX, object_id=recording_id, next_index=rec.chunks
        ).append(b"second")
    assert tus.offset(url) == len(CHUNK)
    assert tus.patch(url, len(CHUNK), b"second").status_code == 204  # the recorder retries
    tus.end(session_id)
    assert stored_audio(runtime, recording_id) == CHUNK + b"second"


def withdraw_by_link(web: TestClient, my_token: str) -> None:
    with TestClient(web.app, base_url="http://testserver") as device:  # the client's phone
        page = f"/my/{my_token}"
        assert device.post(f"{page}/withdraw", data={"csrf_token": form_token(device, page)}).status_code == 200


def test_withdrawal_after_the_session_ended_destroys_it_before_processing(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    # Checked, and waiting for the worker to process it.
    _, session_id, url, status = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    assert status == 204
    withdraw_by_link(web, client.my_token)  # the client changes their mind on the way out
    work_off(runtime)
    recording_id = url.rsplit("/", 1)[1]
    with session_scope(runtime.sessions) as session:
        therapy_session = session.get(TherapySession, session_id)
        assert therapy_session is not None and therapy_session.status == "shredded"
        assert session.scalars(select(SessionTranscript)).all() == []
        assert session.scalars(select(DataKey).where(DataKey.purpose == "recording")).all() == []
    assert runtime.blobs.names(f"{AUDIO_PREFIX}/{recording_id}") == []


def test_a_failed_session_cannot_be_processed_again_after_withdrawal(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(runtime: Runtime, plan: object) -> None:
        raise PipelineError("overlap", "Two recordings for channel 0 overlap by 3.0 s.")

    monkeypatch.setattr(processing, "_transcript", broken)
    client = consenting_client(runtime, signed_in_therapist.user)
    _, session_id, url, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    work_off(runtime)
    monkeypatch.undo()
    withdraw_by_link(web, client.my_token)
    r = web.post(f"/sessions/{session_id}/process", data={"csrf_token": form_token(web, f"/sessions/{session_id}")})
    assert r.status_code == 409
    work_off(runtime)
    with session_scope(runtime.sessions) as session:
        therapy_session = session.get(TherapySession, session_id)
        assert therapy_session is not None and therapy_session.status == "shredded"
    assert runtime.blobs.names(f"{AUDIO_PREFIX}/{url.rsplit('/', 1)[1]}") == []


def test_a_withdrawal_while_the_worker_holds_the_session_is_not_lost(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    """The processing job (and ending a session) lock the session's row, then write to the audit log.
    A withdrawal that took the audit log first and then waited for the row deadlocked with it on
    PostgreSQL, and whichever transaction the database cancelled was rolled back: a lost withdrawal."""
    client = consenting_client(runtime, signed_in_therapist.user)
    _, session_id, _, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    locked, go_on = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            with session_scope(runtime.sessions) as session:
                lock_row(session, TherapySession, session_id)
                locked.set()
                go_on.wait(10)
                audit.record(
                    session,
                    keystore=runtime.keystore,
                    action="session.transcribed",
                    actor="worker",
                    subject=f"session:{session_id}",
                )
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    def withdrawal() -> None:
        try:
            with session_scope(runtime.sessions) as session:
                consent = session.scalars(select(Consent).where(Consent.client_id == client.client.id)).one()
                assert consents.withdraw(
                    session, keystore=runtime.keystore, consent=consent, by="client", actor="client"
                )
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=worker), threading.Thread(target=withdrawal)]
    threads[0].start()
    assert locked.wait(10)
    threads[1].start()
    wait_until_blocked(runtime)
    go_on.set()
    for thread in threads:
        thread.join(30)
    assert failures == []
    with session_scope(runtime.sessions) as session:
        consent = session.scalars(select(Consent).where(Consent.client_id == client.client.id)).one()
        therapy_session = session.get(TherapySession, session_id)
        assert consent.status == "withdrawn"
        assert therapy_session is not None and therapy_session.status == "shredded"


def test_unticking_every_use_mid_session_stops_and_destroys_it(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    """Recording needs some use of it allowed; a client who takes every use back mid-session leaves
    nothing anyone may make of what was captured, so it is not processed but destroyed."""
    client = consenting_client(runtime, signed_in_therapist.user)
    tus, session_id, url = live_recording(web, client.client.id)
    assert tus.patch(url, 0, CHUNK).status_code == 204
    with TestClient(web.app, base_url="http://testserver") as device:  # the client's phone
        page = f"/my/{client.my_token}"
        assert device.post(f"{page}/uses", data={"csrf_token": form_token(device, page)}).status_code == 200
    assert tus.patch(url, len(CHUNK), CHUNK).status_code == 403
    work_off(runtime)
    with session_scope(runtime.sessions) as session:
        therapy_session = session.get(TherapySession, session_id)
        assert therapy_session is not None and therapy_session.status == "shredded"
        assert session.scalars(select(DataKey).where(DataKey.purpose == "recording")).all() == []
        assert session.scalars(select(Consent).where(Consent.client_id == client.client.id)).one().status == "signed"
    assert runtime.blobs.names(f"{AUDIO_PREFIX}/{url.rsplit('/', 1)[1]}") == []
