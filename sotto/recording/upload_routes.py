"""Resumable uploads (the tus 1.0 core protocol with creation and deferred length).

The browser's recorder and the file uploader both send audio here in pieces. Each PATCH is
checked against the client's consent before a byte is stored, and stored encrypted.
Requests carry the CSRF token in a header; the scripts that send them live in our pages.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from sotto.recording import service as recordings
from sotto.recording.audio import SNIFF_BYTES, may_begin_audio, sniff_format
from sotto.recording.models import Recording, Source
from sotto.runtime import Runtime
from sotto.web.deps import CsrfProtected, CurrentTherapist, DbSession, RuntimeDep

TUS_VERSION = "1.0.0"
TUS_HEADERS = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}
SECONDS_LEFT = "Sotto-Seconds-Left"  # on a live upload's creation: how long the session may still record
_SNIFF_HEAD = 4096  # of an uploaded file's first bytes, enough for sniff_format to see every header it reads

router = APIRouter(dependencies=[CsrfProtected])


def _error(status: int, message: str, **extra_headers: str) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers={**TUS_HEADERS, **extra_headers})


def _time_limit(message: str, session_id: str) -> Response:
    """The session ran out of time and has been ended: the page stops and keeps nothing more."""
    return JSONResponse(
        {"error": message, "limit": True, "page": f"/sessions/{session_id}"}, status_code=403, headers=TUS_HEADERS
    )


def _metadata(header: str) -> dict[str, str]:
    """tus Upload-Metadata: comma-separated "key base64value" pairs."""
    out: dict[str, str] = {}
    for pair in header.split(","):
        key, _, value = pair.strip().partition(" ")
        if key:
            try:
                out[key] = base64.b64decode(value).decode("utf-8") if value else ""
            except ValueError:
                continue
    return out


def _length(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise ValueError("Upload-Length must be a whole number of bytes")
    return int(value)


def _shows_not_audio(
    runtime: Runtime, db: Session, rec: Recording, offset: int, data: bytes, final_length: int | None
) -> bool:
    """Whether an uploaded file's first bytes, this piece's included, show that it is not a recording.

    Judged on the first piece, before anything is stored. A client that sends fewer bytes first
    than the format can be told from (SNIFF_BYTES) is not refused for it: while those bytes could
    begin a recording they are stored, and the file is judged, from what is stored and the
    piece that brings it, once that many have arrived or the file is whole.
    """
    received = rec.received_bytes
    if not data or received >= SNIFF_BYTES or offset > received:
        return False  # judged already, or a gap, which append_chunk answers
    fresh = data[received - offset :]
    stored = recordings.received_so_far(db, keystore=runtime.keystore, store=runtime.blobs, recording=rec)
    head = (stored + fresh[:_SNIFF_HEAD])[:_SNIFF_HEAD]
    if sniff_format(head) is not None:
        return False
    length = final_length if final_length is not None else rec.declared_length
    whole = length is not None and received + len(fresh) >= length
    return whole or len(head) >= SNIFF_BYTES or not may_begin_audio(head)


@router.options("/sessions/{session_id}/recordings")
def tus_options() -> Response:
    return Response(
        status_code=204,
        headers={**TUS_HEADERS, "Tus-Version": TUS_VERSION, "Tus-Extension": "creation,creation-defer-length"},
    )


@router.post("/sessions/{session_id}/recordings")
def create_upload(
    session_id: str, request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist
) -> Response:
    therapy_session = recordings.session_of(db, therapist=therapist.user, session_id=session_id)
    if therapy_session is None:
        return _error(404, "There is no such session.")
    meta = _metadata(request.headers.get("upload-metadata", ""))
    try:
        source = Source(meta.get("source", "microphone"))
        if source == Source.REDACTED:  # the kept copy is made by the pipeline, never uploaded
            raise ValueError(source)
        length = _length(request.headers.get("upload-length"))
    except ValueError:
        return _error(400, "The upload request was malformed.")
    if length is None and request.headers.get("upload-defer-length") != "1":
        return _error(400, "Send Upload-Length, or Upload-Defer-Length: 1 for a live recording.")
    limit = runtime.settings.max_recording_mb * 1024 * 1024
    if length is not None and length > limit:
        return _error(413, f"The file is larger than {runtime.settings.max_recording_mb} MB, the most Sotto accepts.")
    if length == 0:
        return _error(400, "The file is empty.")
    max_hours = runtime.settings.max_recording_hours
    try:
        stopped = recordings.stop_at_time_limit(
            db,
            keystore=runtime.keystore,
            store=runtime.blobs,
            therapy_session=therapy_session,
            source=source,
            max_hours=max_hours,
        )
        if stopped:
            return _time_limit(stopped, therapy_session.id)
        rec = recordings.open_recording(
            db,
            keystore=runtime.keystore,
            therapy_session=therapy_session,
            source=source,
            media_type=meta.get("filetype", ""),
            declared_length=length,
        )
    except recordings.RecordingRefused as exc:
        return _error(403, str(exc))
    headers = {**TUS_HEADERS, "Location": f"/recordings/{rec.id}"}
    if source in recordings.LIVE_SOURCES:
        # The recorder page stops itself in time, by this, so that its last chunk is not refused.
        left = recordings.live_seconds_left(therapy_session, max_hours=max_hours)
        headers[SECONDS_LEFT] = f"{left:.3f}"
    return Response(status_code=201, headers=headers)


def _owned_recording(db: Any, therapist: CurrentTherapist, recording_id: str) -> Any:
    return recordings.recording_of(db, therapist=therapist.user, recording_id=recording_id)


@router.head("/recordings/{recording_id}")
def upload_offset(recording_id: str, db: DbSession, therapist: CurrentTherapist) -> Response:
    found = _owned_recording(db, therapist, recording_id)
    if found is None:
        return Response(status_code=404, headers=TUS_HEADERS)
    rec, _ = found
    headers = {**TUS_HEADERS, "Upload-Offset": str(rec.received_bytes)}
    if rec.declared_length is not None:
        headers["Upload-Length"] = str(rec.declared_length)
    else:
        headers["Upload-Defer-Length"] = "1"
    return Response(status_code=200, headers=headers)


@router.patch("/recordings/{recording_id}")
async def append(
    recording_id: str, request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist
) -> Response:
    if request.headers.get("content-type") != "application/offset+octet-stream":
        return _error(415, "Audio must be sent as application/offset+octet-stream.")
    try:
        offset = _length(request.headers.get("upload-offset"))
        final_length = _length(request.headers.get("upload-length"))
    except ValueError:
        return _error(400, "The upload request was malformed.")
    if offset is None:
        return _error(400, "Upload-Offset is missing.")
    data = await request.body()

    def store() -> Response:
        found = _owned_recording(db, therapist, recording_id)
        if found is None:
            return _error(404, "There is no such recording.")
        rec, therapy_session = found
        limit = runtime.settings.max_recording_mb * 1024 * 1024
        if offset + len(data) > limit or (final_length or 0) > limit:
            return _error(413, f"The recording is larger than {runtime.settings.max_recording_mb} MB.")
        if rec.source == Source.UPLOAD and _shows_not_audio(runtime, db, rec, offset, data, final_length):
            return _error(415, "This file is not a recording Sotto can read. Use WAV, FLAC, MP3, M4A, OGG or WebM.")
        try:
            # Only audio past the limit is refused: closing the stream (no bytes) is still allowed.
            stopped = (
                recordings.stop_at_time_limit(
                    db,
                    keystore=runtime.keystore,
                    store=runtime.blobs,
                    therapy_session=therapy_session,
                    source=rec.source,
                    max_hours=runtime.settings.max_recording_hours,
                )
                if data
                else None
            )
            if stopped:
                return _time_limit(stopped, therapy_session.id)
            result = recordings.append_chunk(
                db,
                keystore=runtime.keystore,
                store=runtime.blobs,
                recording=rec,
                offset=offset,
                data=data,
                final_length=final_length,
            )
        except recordings.UploadConflict as exc:
            return _error(
                409, "The upload must continue from where the server is.", **{"Upload-Offset": str(exc.received)}
            )
        except recordings.RecordingRefused as exc:
            return _error(403, str(exc))
        if result.complete and rec.source == Source.UPLOAD:
            recordings.finish_upload(db, keystore=runtime.keystore, recording=rec, therapist=therapist.user)
        return Response(status_code=204, headers={**TUS_HEADERS, "Upload-Offset": str(result.received)})

    return await run_in_threadpool(store)
