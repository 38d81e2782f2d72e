"""The client's own page, reached only by the private link in their copy of the consent.

It shows the consent and its uses (which the client can change or withdraw), the sessions
kept and until when, lets the client ask for a copy or deletion, and shows deletion
receipts. No account, no stored e-mail address: a lost link is re-sent to an address that
matches the keyed hash kept with the consent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session

from sotto.accounts import signin
from sotto.accounts.models import Practice
from sotto.audit import service as audit
from sotto.clients import protections
from sotto.consent import service as consents
from sotto.consent import signing
from sotto.consent.models import USE_LABELS, Consent, Use
from sotto.crypto.envelope import keyed_hash
from sotto.pipeline.render import as_text, removal_note
from sotto.recording import requests as client_requests
from sotto.recording import service as recordings
from sotto.recording.models import SessionStatus, TherapySession
from sotto.review import service as review
from sotto.runtime import Runtime
from sotto.web.deps import CsrfProtected, CurrentUser, DbSession, RuntimeDep, client_ip
from sotto.web.pages import render

router = APIRouter(dependencies=[CsrfProtected])

RESEND_LIMIT = 5  # per address and hour, so the form cannot be used to flood an inbox


def _problem(request: Request, exc: signing.LinkProblem) -> Response:
    return render(
        request,
        "client/message.html",
        status_code=410,
        title="This link cannot be used",
        message=str(exc) + " If you lost your link, you can have it sent again.",
        link=("/my", "Send my link again"),
    )


def _consent(db: Session, runtime: Runtime, token: str) -> Consent:
    return signing.consent_for_client_token(db, keystore=runtime.keystore, token=token)


def _page(
    request: Request, db: Session, consent: Consent, token: str, status_code: int = 200, **extra: Any
) -> Response:
    practice = db.get(Practice, consent.practice_id)
    sessions = recordings.sessions_of_client(db, client_id=consent.client_id)
    requests = client_requests.open_requests(db, session_ids=[s.id for s in sessions])
    granted = client_requests.copies_granted(db, session_ids=[s.id for s in sessions])
    copies = {s.id for s in sessions if s.id in granted and s.status == SessionStatus.PROCESSED}
    # A session that failed after its transcript was stored keeps that transcript until its date.
    failed_with_transcript = {
        s.id
        for s in sessions
        if s.status == SessionStatus.FAILED
        and (row := review.transcript_row(db, session_id=s.id)) is not None
        and row.data_key_id is not None
    }
    return render(
        request,
        "client/my.html",
        status_code=status_code,
        consent=consent,
        practice=practice,
        token=token,
        uses=list(Use),
        use_labels=USE_LABELS,
        sessions=sessions,
        requested={(r.session_id, r.kind): r for r in requests},
        copies=copies,
        failed_with_transcript=failed_with_transcript,
        receipts=audit.receipts_for_client(db, client_id=consent.client_id),
        **extra,
    )


@router.get("/my/{token}")
def my_page(token: str, request: Request, runtime: RuntimeDep, db: DbSession) -> Response:
    try:
        consent = _consent(db, runtime, token)
    except signing.LinkProblem as exc:
        return _problem(request, exc)
    return _page(request, db, consent, token)


@router.post("/my/{token}/withdraw")
def withdraw(token: str, request: Request, runtime: RuntimeDep, db: DbSession) -> Response:
    try:
        consent = _consent(db, runtime, token)
    except signing.LinkProblem as exc:
        return _problem(request, exc)
    changed = consents.withdraw(db, keystore=runtime.keystore, consent=consent, by="client", actor="client")
    return _page(request, db, consent, token, just_withdrawn=changed)


@router.post("/my/{token}/uses")
async def change_uses(token: str, request: Request, runtime: RuntimeDep, db: DbSession) -> Response:
    form = await request.form()
    try:
        consent = _consent(db, runtime, token)
    except signing.LinkProblem as exc:
        return _problem(request, exc)
    chosen = {use.value: form.get(f"use_{use.value}") == "yes" for use in Use}
    changed = signing.change_uses(db, keystore=runtime.keystore, consent=consent, uses=chosen)
    return _page(request, db, consent, token, uses_saved=changed)


def _client_session(db: Session, consent: Consent, session_id: str) -> Any:
    row = db.get(TherapySession, session_id)
    return row if row is not None and row.client_id == consent.client_id else None


@router.post("/my/{token}/sessions/{session_id}/{action}")
def session_request(
    token: str, session_id: str, action: str, request: Request, runtime: RuntimeDep, db: DbSession
) -> Response:
    try:
        consent = _consent(db, runtime, token)
    except signing.LinkProblem as exc:
        return _problem(request, exc)
    row = _client_session(db, consent, session_id)
    if row is None or action not in ("copy", "delete"):
        return render(
            request,
            "client/message.html",
            status_code=404,
            title="Not found",
            message="There is no such session on your page.",
        )
    if action == "delete":
        pending = client_requests.delete_for_client(
            db, keystore=runtime.keystore, settings=runtime.settings, therapy_session=row
        )
        note = (
            f"Your therapist has been asked to delete this session and must do so by {pending.due_at:%-d %B %Y}."
            if pending
            else "The session is deleted. A receipt is below."
        )
    else:
        request_row = client_requests.request_from_client(
            db, keystore=runtime.keystore, settings=runtime.settings, therapy_session=row, kind="copy"
        )
        note = f"Your therapist has been asked for a copy and will answer by {request_row.due_at:%-d %B %Y}."
    return _page(request, db, consent, token, note=note)


@router.get("/my/{token}/sessions/{session_id}/copy.txt")
def my_copy(token: str, session_id: str, request: Request, runtime: RuntimeDep, db: DbSession) -> Response:
    """The client's copy of a session: the transcript as kept (identifiers and sensitive passages
    already removed), once the therapist has agreed to the request."""
    try:
        consent = _consent(db, runtime, token)
    except signing.LinkProblem as exc:
        return _problem(request, exc)
    row = _client_session(db, consent, session_id)
    stored = review.transcript_row(db, session_id=session_id) if row is not None else None
    if (
        row is None
        or row.status != SessionStatus.PROCESSED
        or session_id not in client_requests.copies_granted(db, session_ids=[session_id])
        or stored is None
        or stored.data_key_id is None
    ):
        return render(
            request,
            "client/message.html",
            status_code=404,
            title="No copy to download",
            message="There is no copy of this session for you yet: your therapist has not agreed to the request, "
            "or nothing of the session is kept.",
        )
    transcript = review.read_transcript(db, keystore=runtime.keystore, store=runtime.blobs, row=stored)
    audit.record(
        db,
        keystore=runtime.keystore,
        action="transcript.copy_downloaded",
        actor="client",
        practice_id=row.practice_id,
        subject=f"session:{row.id}",
    )
    note = removal_note(transcript)
    heading = f"Session of {row.created_at:%-d %B %Y}" + (f" ({note})" if note else "") + "\n\n"
    return PlainTextResponse(
        heading + as_text(transcript) + "\n",
        headers={"Content-Disposition": f'attachment; filename="session-{row.created_at:%Y-%m-%d}.txt"'},
    )


@router.get("/my/{token}/protections")
def my_protections(token: str, request: Request, runtime: RuntimeDep, db: DbSession) -> Response:
    try:
        consent = _consent(db, runtime, token)
    except signing.LinkProblem as exc:
        return _problem(request, exc)
    practice = db.get(Practice, consent.practice_id)
    assert practice is not None
    return render(
        request,
        "client/protections.html",
        practice=practice,
        sections=protections.sections(practice, runtime.settings),
        back=f"/my/{token}",
    )


@router.get("/my")
def lost_link(request: Request) -> Response:
    return render(request, "client/lost_link.html")


@router.post("/my")
def resend_link(request: Request, runtime: RuntimeDep, db: DbSession, email: Annotated[str, Form()] = "") -> Response:
    key = "resend:" + consents.email_mac(runtime.keystore, email)
    address_key = "resend-ip:" + keyed_hash(runtime.keystore, client_ip(request), purpose="sign-in-attempts")
    if not (
        signin.too_many_attempts(db, key=key, limit=RESEND_LIMIT, minutes=60)
        or signin.too_many_attempts(db, key=address_key, limit=RESEND_LIMIT * 4, minutes=60)
    ):
        signin.note_attempt(db, key=key)
        signin.note_attempt(db, key=address_key)
        signing.reissue_client_link(db, keystore=runtime.keystore, settings=runtime.settings, email=email)
    return render(
        request,
        "client/message.html",
        title="Check your e-mail",
        message="If that address is the one your consent form was sent to, a new private link is on its "
        "way. Your old link no longer works. Nothing else has changed.",
    )


@router.get("/protections")
def staff_protections(request: Request, runtime: RuntimeDep, signed_in: CurrentUser) -> Response:
    return render(
        request,
        "client/protections.html",
        practice=signed_in.practice,
        sections=protections.sections(signed_in.practice, runtime.settings),
        back="/",
        staff=True,
    )


@router.post("/protections/send")
def send_protections(
    request: Request, runtime: RuntimeDep, db: DbSession, signed_in: CurrentUser, email: Annotated[str, Form()] = ""
) -> Response:
    """E-mail the page to a client; the address is used for this message only."""
    try:
        protections.send(
            db,
            keystore=runtime.keystore,
            settings=runtime.settings,
            practice=signed_in.practice,
            email=email,
            actor=f"user:{signed_in.user.id}",
        )
    except ValueError as exc:
        return render(
            request,
            "client/protections.html",
            status_code=400,
            practice=signed_in.practice,
            sections=protections.sections(signed_in.practice, runtime.settings),
            back="/",
            staff=True,
            error=str(exc),
        )
    return render(
        request,
        "client/protections.html",
        practice=signed_in.practice,
        sections=protections.sections(signed_in.practice, runtime.settings),
        back="/",
        staff=True,
        sent=True,
    )
