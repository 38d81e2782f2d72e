"""The therapist's recording pages: a client's sessions, the recorder, a session, playback."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from sotto import clock
from sotto.accounts import service as accounts
from sotto.audit import service as audit
from sotto.clients import service as clients
from sotto.consent import service as consents
from sotto.crypto.chunks import ChunkError
from sotto.crypto.datakeys import load_data_key
from sotto.recording import requests as client_requests
from sotto.recording import service as recordings
from sotto.recording.models import SessionStatus
from sotto.review import progress
from sotto.review import service as review
from sotto.storage.encrypted import object_size, read_range
from sotto.web.deps import CsrfProtected, CurrentTherapist, DbSession, RuntimeDep
from sotto.web.pages import not_found, render

router = APIRouter(dependencies=[CsrfProtected])
# Offsets past 18 digits (an exabyte) are no file of ours; int() would refuse thousands of them.
_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")


@router.get("/clients/{client_id}")
def client_page(
    client_id: str, request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist
) -> Response:
    client = clients.client_of(db, therapist=therapist.user, client_id=client_id)
    if client is None:
        return not_found(request)
    # Every form's due expiry applied at once (their rows locked before the audit log is written).
    history = consents.consents_of_client(db, keystore=runtime.keystore, client_id=client.id)
    consent = history[0] if history else None  # the latest, as recordings.current_consent gives it
    return render(
        request,
        "recording/client.html",
        client=client,
        consent=consent,
        consent_history=history,
        refusal=recordings.consent_problem(consent),
        sessions=recordings.sessions_of_client(db, client_id=client.id),
        now=clock.now(),
    )


@router.get("/clients/{client_id}/record")
def recorder(
    client_id: str, request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist
) -> Response:
    client = clients.client_of(db, therapist=therapist.user, client_id=client_id)
    if client is None:
        return not_found(request)
    refusal = recordings.consent_problem(recordings.current_consent(db, keystore=runtime.keystore, client_id=client.id))
    return render(
        request,
        "recording/record.html",
        client=client,
        refusal=refusal,
        max_mb=runtime.settings.max_recording_mb,
        max_request_bytes=runtime.settings.max_chunk_mb * 1024 * 1024,
        max_recording=clock.duration_words(runtime.settings.max_recording_hours * 3600),
        limit_message=recordings.time_limit_message(runtime.settings.max_recording_hours),
    )


@router.post("/clients/{client_id}/sessions")
def start_session(client_id: str, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist) -> Response:
    """JSON for the recorder script: a new session, refused plainly without consent."""
    client = clients.client_of(db, therapist=therapist.user, client_id=client_id)
    if client is None:
        return JSONResponse({"error": "There is no such client."}, status_code=404)
    try:
        row = recordings.start_session(db, keystore=runtime.keystore, therapist=therapist.user, client=client)
    except recordings.RecordingRefused as exc:
        return JSONResponse({"error": str(exc)}, status_code=403)
    return JSONResponse({"session": row.id, "recordings": f"/sessions/{row.id}/recordings"}, status_code=201)


@router.post("/sessions/{session_id}/end")
def end_session(session_id: str, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist) -> Response:
    row = recordings.session_of(db, therapist=therapist.user, session_id=session_id)
    if row is None:
        return JSONResponse({"error": "There is no such session."}, status_code=404)
    recordings.end_session(
        db, keystore=runtime.keystore, store=runtime.blobs, therapy_session=row, actor=f"user:{therapist.user.id}"
    )
    return JSONResponse({"status": row.status, "page": f"/sessions/{row.id}"})


@router.post("/sessions/{session_id}/client-withdrew")
def client_withdrew(session_id: str, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist) -> Response:
    """The therapist's control for a verbal withdrawal during a session: stops and destroys it at once."""
    row = recordings.session_of(db, therapist=therapist.user, session_id=session_id)
    if row is None:
        return JSONResponse({"error": "There is no such session."}, status_code=404)
    consent = recordings.current_consent(db, keystore=runtime.keystore, client_id=row.client_id)
    if consent is not None:
        consents.withdraw(
            db, keystore=runtime.keystore, consent=consent, by="therapist", actor=f"user:{therapist.user.id}"
        )
    if row.status == SessionStatus.RECORDING:
        # Consent had already lapsed another way; the session still goes.
        recordings.shred_session(
            db,
            keystore=runtime.keystore,
            therapy_session=row,
            by=f"user:{therapist.user.id}",
            reason="the client withdrew consent during the session",
        )
    return JSONResponse({"status": row.status, "page": f"/clients/{row.client_id}"})


_HAS_GONE = {"destroyed": "been destroyed", "ended": "ended"}


@router.post("/sessions/{session_id}/browser-key")
def browser_key(session_id: str, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist) -> Response:
    """JSON for the recorder script: the key for this session's unsent audio, while it records.

    A POST, so the CSRF check guards it like the recorder's other calls. 410 once the session
    has ended ("ended") or been destroyed ("destroyed"): the page then deletes what it still
    holds, which nothing can decrypt any more, and says which it was.
    """
    row = recordings.session_of(db, therapist=therapist.user, session_id=session_id)
    if row is None:
        return JSONResponse({"error": "There is no such session."}, status_code=404)
    key = recordings.browser_key(db, keystore=runtime.keystore, therapy_session=row, therapist=therapist.user)
    if key is None:
        gone = "destroyed" if row.status == SessionStatus.SHREDDED else "ended"
        return JSONResponse(
            {"error": f"This session has {_HAS_GONE[gone]}: it no longer takes audio.", "gone": gone},
            status_code=410,
        )
    return JSONResponse({"key": base64.urlsafe_b64encode(key).rstrip(b"=").decode()})


@router.get("/sessions/{session_id}")
def session_page(
    session_id: str, request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist
) -> Response:
    row = recordings.session_of(db, therapist=therapist.user, session_id=session_id)
    if row is None:
        return not_found(request)
    client = clients.get_client(db, client_id=row.client_id)
    recs = recordings.recordings_of(db, session_id=row.id)
    transcript = None
    closed = recordings.review_refused(db, client_id=row.client_id)
    stored = review.transcript_row(db, session_id=row.id)
    if stored is not None and stored.data_key_id is not None and row.status != SessionStatus.SHREDDED and not closed:
        transcript = review.read_transcript(db, keystore=runtime.keystore, store=runtime.blobs, row=stored)
        audit.record(
            db,
            keystore=runtime.keystore,
            action="transcript.viewed",
            actor=f"user:{therapist.user.id}",
            practice_id=row.practice_id,
            subject=f"session:{row.id}",
        )
    # A session recorded by a colleague whose client this therapist took over says whose it was.
    predecessor = row.recorded_by if row.recorded_by != row.therapist_id else None
    return render(
        request,
        "recording/session.html",
        session=row,
        client=client,
        recorded_by=accounts.display_name(db, user_id=predecessor) if predecessor else None,
        recordings=recs,
        audio_kept=recordings.audio_available(row),
        progress=progress.of(row) if row.status in (SessionStatus.RECORDED, SessionStatus.PROCESSING) else None,
        can_retry=row.status == SessionStatus.FAILED and any(map(recordings.is_processable, recs)),
        transcript=transcript,
        review_closed=closed,
        speakers=review.speaker_choices(transcript, speakers=row.speakers) if transcript else [],
        labels_version=review.labels_version(stored) if transcript and stored else "",
        channels=len({r.channel for r in recs}),
        label=speaker_name,
        clock=minutes_seconds,
        now=clock.now(),
    )


def _playable(media_type: str) -> str:
    """The type the uploader declared, if it is one of sound or video; anything else (text/html, say) as bytes."""
    return media_type if media_type.startswith(("audio/", "video/")) else "application/octet-stream"


def speaker_name(label: str) -> str:
    """ "therapist" → "Therapist", "client2" → "Client 2"."""
    if label.startswith("client") and label[6:].isdigit():
        return f"Client {label[6:]}"
    return label.capitalize()


def minutes_seconds(seconds: float) -> str:
    whole = int(seconds)
    return (
        f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
        if whole >= 3600
        else f"{whole // 60}:{whole % 60:02d}"
    )


@router.post("/sessions/{session_id}/delete")
def delete_session(
    session_id: str,
    request: Request,
    runtime: RuntimeDep,
    db: DbSession,
    therapist: CurrentTherapist,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    row = recordings.session_of(db, therapist=therapist.user, session_id=session_id)
    if row is None:
        return not_found(request)
    if confirm != "yes":
        return render(
            request,
            "message.html",
            status_code=400,
            title="Nothing was deleted",
            message="Tick the box to confirm the deletion.",
            link=(f"/sessions/{row.id}", "Back"),
        )
    if row.status != SessionStatus.SHREDDED:
        recordings.shred_session(
            db,
            keystore=runtime.keystore,
            therapy_session=row,
            by=f"user:{therapist.user.id}",
            reason="deleted by the therapist",
        )
    return RedirectResponse(f"/clients/{row.client_id}", status_code=303)


@router.get("/recordings/{recording_id}/audio")
def play(
    recording_id: str, request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist
) -> Response:
    """Stream a recording, decrypted on the fly, with byte ranges; only while audio is kept."""
    found = recordings.recording_of(db, therapist=therapist.user, recording_id=recording_id)
    if found is None:
        return not_found(request)
    rec, row = found
    closed = recordings.review_refused(db, client_id=row.client_id)
    if closed:
        return render(
            request,
            "message.html",
            status_code=403,
            title="No audio",
            message=closed,
            link=(f"/sessions/{row.id}", "Back"),
        )
    if not recordings.audio_available(row) or rec.data_key_id is None or not rec.complete:
        return render(
            request,
            "message.html",
            status_code=410,
            title="No audio",
            message="This session's audio is not kept (or not finished).",
            link=(f"/sessions/{row.id}", "Back"),
        )
    key = load_data_key(db, keystore=runtime.keystore, key_id=rec.data_key_id)
    size = object_size(runtime.blobs, prefix=recordings.AUDIO_PREFIX, object_id=rec.id)
    start, end = 0, size
    status = 200
    header = request.headers.get("range")
    if header:
        match = _RANGE.match(header.strip())
        if not match or (not match.group(1) and not match.group(2)):
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        if match.group(1):
            start = int(match.group(1))
            end = min(size, int(match.group(2)) + 1) if match.group(2) else size
        else:
            start = max(0, size - int(match.group(2)))
        if start >= size or start >= end:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        status = 206
    if start == 0:
        # One audit entry per playback, not one per range the player asks for.
        audit.record(
            db,
            keystore=runtime.keystore,
            action="recording.played",
            actor=f"user:{therapist.user.id}",
            practice_id=row.practice_id,
            subject=f"session:{row.id}",
            details={"recording": rec.id},
        )

    chunks = read_range(runtime.blobs, key, prefix=recordings.AUDIO_PREFIX, object_id=rec.id, start=start, end=end)
    try:
        # The first piece is decrypted before answering, so damage found there (or a missing
        # end marker) is a plain page rather than a broken stream.
        first = next(chunks, b"")
    except ChunkError:
        audit.record(
            db,
            keystore=runtime.keystore,
            action="recording.integrity_failed",
            actor="system",
            practice_id=row.practice_id,
            subject=f"session:{row.id}",
            details={"recording": rec.id},
        )
        return render(
            request,
            "message.html",
            status_code=409,
            title="This recording is damaged",
            message="The stored audio failed its integrity check, so it cannot be played. It may have "
            "been altered on disk. The practice admin has a record of this in the audit log.",
            link=(f"/sessions/{row.id}", "Back"),
        )

    def body() -> Iterator[bytes]:
        yield first
        yield from chunks

    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start)}
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return StreamingResponse(body(), status_code=status, media_type=_playable(rec.media_type), headers=headers)


@router.post("/requests/{request_id}/done")
def resolve_request(
    request_id: str, request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist
) -> Response:
    """The therapist has given the copy, or agrees to delete: the request is closed (deleting first)."""
    done = client_requests.resolve_request(
        db, keystore=runtime.keystore, therapist=therapist.user, request_id=request_id
    )
    if done is None:
        return not_found(request)
    return RedirectResponse("/", status_code=303)
