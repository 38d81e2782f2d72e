"""The therapist's review of a processed session: progress, the transcript, speaker fixes,
trying again after a failure, and enrolling their own voice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from sotto.accounts import voice as voices
from sotto.recording import service as recordings
from sotto.recording.models import SessionStatus
from sotto.review import progress
from sotto.review import service as review
from sotto.web.deps import CsrfProtected, CurrentTherapist, DbSession, RuntimeDep
from sotto.web.pages import not_found, render
from sotto.web.uploads import UploadError, read_protected_upload

router = APIRouter(dependencies=[CsrfProtected])
upload_router = APIRouter()  # checks its own CSRF token: the form is read in memory, not by Starlette

MAX_VOICE_SAMPLE_BYTES = 20 * 1024 * 1024


@router.get("/sessions/{session_id}/progress")
def session_progress(session_id: str, request: Request, db: DbSession, therapist: CurrentTherapist) -> Response:
    """Where processing is, for the session page to show while it waits (JSON; no content)."""
    row = recordings.session_of(db, therapist=therapist.user, session_id=session_id)
    if row is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    return JSONResponse(progress.of(row))


@router.post("/sessions/{session_id}/speakers/swap")
def swap_speakers(
    session_id: str,
    request: Request,
    db: DbSession,
    therapist: CurrentTherapist,
    first: Annotated[str, Form()] = "therapist",
    second: Annotated[str, Form()] = "client",
    version: Annotated[str | None, Form()] = None,
) -> Response:
    row = recordings.session_of(db, therapist=therapist.user, session_id=session_id)
    stored = review.transcript_row(db, session_id=session_id) if row is not None else None
    if row is None or stored is None or stored.data_key_id is None:
        return not_found(request)
    if not (review.is_label(first) and review.is_label(second)) or first == second:
        return _bad_label(request, session_id)
    # A repeated submission of the same form (a double click) changes nothing more.
    review.swap_speakers(db, row=stored, first=first, second=second, version=version)
    return RedirectResponse(f"/sessions/{session_id}#transcript", status_code=303)


@router.post("/sessions/{session_id}/segments/{index}/speaker")
def set_segment_speaker(
    session_id: str,
    index: int,
    request: Request,
    db: DbSession,
    therapist: CurrentTherapist,
    speaker: Annotated[str, Form()] = "",
) -> Response:
    row = recordings.session_of(db, therapist=therapist.user, session_id=session_id)
    stored = review.transcript_row(db, session_id=session_id) if row is not None else None
    if row is None or stored is None or stored.data_key_id is None or not 0 <= index < stored.segments:
        return not_found(request)
    if not review.is_label(speaker):
        return _bad_label(request, session_id)
    review.set_segment_speaker(db, row=stored, index=index, speaker=speaker)
    return RedirectResponse(f"/sessions/{session_id}#segment-{index}", status_code=303)


def _bad_label(request: Request, session_id: str) -> Response:
    return render(
        request,
        "message.html",
        status_code=400,
        title="Nothing was changed",
        message="Choose who is speaking from the list.",
        link=(f"/sessions/{session_id}", "Back"),
    )


@router.post("/sessions/{session_id}/process")
def process_again(
    session_id: str, request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist
) -> Response:
    """Try a failed session again, while its encrypted original is still kept."""
    row = recordings.session_of(db, therapist=therapist.user, session_id=session_id)
    if row is None:
        return not_found(request)
    if row.status in (SessionStatus.RECORDED, SessionStatus.PROCESSING):  # a second click: already queued
        return RedirectResponse(f"/sessions/{session_id}", status_code=303)
    if not recordings.process_again(
        db, keystore=runtime.keystore, therapy_session=row, actor=f"user:{therapist.user.id}"
    ):
        return render(
            request,
            "message.html",
            status_code=409,
            title="This session cannot be processed again",
            message="Only a session whose processing failed, and whose audio is still kept, can be tried again.",
            link=(f"/sessions/{session_id}", "Back"),
        )
    return RedirectResponse(f"/sessions/{session_id}", status_code=303)


@router.get("/account/voice")
def voice_page(request: Request, db: DbSession, therapist: CurrentTherapist) -> Response:
    return render(request, "review/voice.html", enrolled_at=therapist.user.voice_enrolled_at)


@upload_router.post("/account/voice")
async def enrol_voice(request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist) -> Response:
    """A short recording of the therapist alone becomes their voice profile; the audio itself is
    decoded in memory and dropped."""
    try:
        _, data = await read_protected_upload(
            request,
            keystore=runtime.keystore,
            public_url=runtime.settings.public_url,
            field="sample",
            limit=MAX_VOICE_SAMPLE_BYTES,
        )
        profile_json = await run_in_threadpool(voices.profile_from_recording, data)
    except (UploadError, voices.VoiceSampleProblem) as exc:
        return render(
            request, "review/voice.html", status_code=400, error=str(exc), enrolled_at=therapist.user.voice_enrolled_at
        )
    voices.enrol_voice(db, keystore=runtime.keystore, user=therapist.user, profile_json=profile_json)
    return render(request, "review/voice.html", enrolled_at=therapist.user.voice_enrolled_at, saved=True)


@router.post("/account/voice/forget")
def forget_voice(request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist) -> Response:
    voices.forget_voice(db, keystore=runtime.keystore, user=therapist.user)
    return RedirectResponse("/account/voice", status_code=303)
