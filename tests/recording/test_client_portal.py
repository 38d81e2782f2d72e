"""The client's own page: what it promises about requests, and that each promise is kept."""

from __future__ import annotations

import threading
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from sotto import clock
from sotto.audit.models import DeletionReceipt
from sotto.crypto.models import DataKey
from sotto.db import session_scope
from sotto.jobs.service import run_periodic
from sotto.recording import requests as client_requests
from sotto.recording.models import ClientRequest, TherapySession
from sotto.runtime import Runtime
from support.app import Person, form_token, set_practice, work_off
from support.audio import recording
from support.consenting import consenting_client
from support.recording import session_row, upload


def _processed_session(runtime: Runtime, web: TestClient, therapist: Person) -> tuple[str, str]:
    client = consenting_client(runtime, therapist.user)
    _, session_id, _, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    work_off(runtime)
    assert session_row(runtime, session_id).status == "processed"
    return client.my_token, session_id


def test_my_page_says_when_each_open_request_is_due(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    set_practice(runtime, client_deletion="request", request_response_days=10)
    token, session_id = _processed_session(runtime, web, signed_in_therapist)
    with TestClient(web.app, base_url="http://testserver") as device:
        page = f"/my/{token}"
        device.post(f"{page}/sessions/{session_id}/delete", data={"csrf_token": form_token(device, page)})
        device.post(f"{page}/sessions/{session_id}/copy", data={"csrf_token": form_token(device, page)})
        clock.advance(timedelta(days=2))
        later = device.get(page).text  # a later visit, not the answer to the form
    due = (clock.now() - timedelta(days=2) + timedelta(days=10)).strftime("%-d %B %Y")
    assert f"Deletion requested — due by {due}" in later
    assert f"Copy requested — due by {due}" in later


def test_an_overdue_deletion_request_is_carried_out_on_its_due_date(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    """The client was told the session must be deleted by a date: a therapist who never acts
    does not keep the session past it."""
    set_practice(runtime, client_deletion="request", request_response_days=7, audio_retention_days=30)
    token, session_id = _processed_session(runtime, web, signed_in_therapist)
    with TestClient(web.app, base_url="http://testserver") as device:
        page = f"/my/{token}"
        r = device.post(f"{page}/sessions/{session_id}/delete", data={"csrf_token": form_token(device, page)})
        assert "must do so by" in r.text
    clock.advance(timedelta(days=6))
    run_periodic(runtime)
    assert session_row(runtime, session_id).status == "processed"  # not yet due

    clock.advance(timedelta(days=1, minutes=1))
    run_periodic(runtime)
    work_off(runtime)
    assert session_row(runtime, session_id).status == "shredded"
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(DataKey)).all() == []
        [request] = session.scalars(select(ClientRequest)).all()
        assert request.status == "done" and request.resolved_at is not None
        receipt = session.scalars(select(DeletionReceipt).order_by(DeletionReceipt.audit_seq.desc())).first()
        assert receipt is not None and receipt.by == "system"
        assert receipt.reason == "the client asked for deletion and the date given to them was reached"
    assert runtime.blobs.names("audio/") == [] and runtime.blobs.names("transcripts/") == []
    assert "Requests from clients" not in web.get("/").text


def test_a_double_submitted_deletion_destroys_once_with_one_receipt(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    """Two deletions of the same session at once (a double click, two tabs): the second waits
    for the first and then finds nothing left to do, rather than deleting again."""
    _, session_id = _processed_session(runtime, web, signed_in_therapist)
    first_loaded, second_loaded, first_deleted = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def delete(loaded: threading.Event, other_loaded: threading.Event, *, first: bool) -> None:
        try:
            with session_scope(runtime.sessions) as session:
                row = session.get(TherapySession, session_id)  # as the route reads it, before deleting
                assert row is not None
                loaded.set()
                other_loaded.wait(2)  # (SQLite serialises the two transactions: then nothing to wait for)
                if not first:
                    first_deleted.wait(2)
                client_requests.delete_for_client(
                    session, keystore=runtime.keystore, settings=runtime.settings, therapy_session=row
                )
                if first:
                    first_deleted.set()
                    threading.Event().wait(1)  # commit only once the second is waiting for the row
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [
        threading.Thread(target=delete, args=(first_loaded, second_loaded), kwargs={"first": True}),
        threading.Thread(target=delete, args=(second_loaded, first_loaded), kwargs={"first": False}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert session_row(runtime, session_id).status == "shredded"
    with session_scope(runtime.sessions) as session:
        receipts = session.scalars(
            select(DeletionReceipt).where(DeletionReceipt.what == "everything recorded of this session")
        ).all()
    assert len(receipts) == 1


def test_a_copy_request_for_a_session_since_deleted_leaves_the_therapists_list(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    token, session_id = _processed_session(runtime, web, signed_in_therapist)
    with TestClient(web.app, base_url="http://testserver") as device:
        page = f"/my/{token}"
        device.post(f"{page}/sessions/{session_id}/copy", data={"csrf_token": form_token(device, page)})
        assert "Requests from clients" in web.get("/").text
        r = device.post(f"{page}/sessions/{session_id}/delete", data={"csrf_token": form_token(device, page)})
        assert "A receipt is below" in r.text and "Copy requested" not in r.text
    assert session_row(runtime, session_id).status == "shredded"
    assert "Requests from clients" not in web.get("/").text  # nothing is left to send
