"""Sessions and their recordings: the consent gate, encrypted ingest, shredding.

Every chunk is checked against the client's consent as it stands at that moment, under a
lock on the recording, so a withdrawal and an upload never interleave: either the chunk
lands before the withdrawal (and is destroyed with the rest) or it is refused.
Services never commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sotto import clock
from sotto.accounts.models import Practice, User
from sotto.audit import service as audit
from sotto.clients.models import Client
from sotto.consent import service as consents
from sotto.consent.models import Consent, ConsentStatus, Use
from sotto.crypto.datakeys import create_data_key, destroy_data_key, load_data_key
from sotto.crypto.envelope import open_sealed, seal
from sotto.crypto.keystore import KeyStore
from sotto.db import lock_row
from sotto.jobs.service import enqueue
from sotto.recording.models import ClientRequest, Recording, SessionStatus, Source, TherapySession
from sotto.review import service as review
from sotto.storage.blobs import BlobStore
from sotto.storage.encrypted import ObjectWriter, read_written

AUDIO_PREFIX = "audio"
CHANNELS = {Source.MICROPHONE: 0, Source.CALL: 1, Source.UPLOAD: 0}
LIVE_SOURCES = (Source.MICROPHONE, Source.CALL)


class RecordingRefused(Exception):
    """Recording is not allowed now; the message says why, in plain words."""


class UploadConflict(Exception):
    """The client's idea of the offset is ahead of what was received (it must ask again)."""

    def __init__(self, received: int) -> None:
        super().__init__(f"the server has {received} bytes")
        self.received = received


def consent_problem(consent: Consent | None) -> str | None:
    """Why this consent does not cover recording now, or None when it does.

    Recording needs a signed consent, in force, that allows at least one use of it: a
    recording nobody may use must not be made.
    """
    if consent is None:
        return "This client has not given consent to record."
    if consent.status == ConsentStatus.WITHDRAWN:
        return "The client has withdrawn consent to record."
    if (
        consent.status == ConsentStatus.EXPIRED
        and consent.signed_at is not None
        and consent.expired_at is not None
        and consent.expires_at is not None
        and consent.expired_at < consent.expires_at
    ):
        # Only a hand-over ends a signed consent before its term (consents.hand_over_consents).
        return (
            "The client's consent named their previous therapist and ended when the client was handed over "
            "to you. Send them a new consent form to record."
        )
    if consent.status == ConsentStatus.EXPIRED or (consent.expires_at and consent.expires_at <= clock.now()):
        return "The client's consent to record has expired."
    if consent.status != ConsentStatus.SIGNED:
        return "The client has not signed the consent form."
    if not any(consent.uses.values()):
        return "The client's consent does not allow any use of recordings."
    return None


def review_refused(session: Session, *, client_id: str) -> str | None:
    """Why the therapist may not read or listen to this client's sessions now, or None when they may.

    The client's choices on their latest signed consent decide, as they stand now: a client who
    unticks therapist review closes the sessions recorded before too. A withdrawn consent keeps
    the choices it had, for the sessions kept from before the withdrawal.
    """
    consent = session.scalar(
        select(Consent)
        .where(Consent.client_id == client_id, Consent.signed_at.is_not(None))
        .order_by(Consent.signed_at.desc())
        .limit(1)
    )
    if consent is None or not consent.uses.get(Use.THERAPIST_REVIEW):
        return "The client's consent does not allow you to read or listen to recordings of your sessions."
    return None


def current_consent(session: Session, *, keystore: KeyStore, client_id: str) -> Consent | None:
    consent = consents.latest_consent(session, client_id=client_id)
    if consent is not None:
        consents.refresh_status(session, keystore=keystore, consent=consent)
    return consent


def require_consent(session: Session, *, keystore: KeyStore, client_id: str) -> Consent:
    consent = current_consent(session, keystore=keystore, client_id=client_id)
    problem = consent_problem(consent)
    if problem:
        raise RecordingRefused(problem)
    assert consent is not None
    return consent


def start_session(session: Session, *, keystore: KeyStore, therapist: User, client: Client) -> TherapySession:
    consent = require_consent(session, keystore=keystore, client_id=client.id)
    row = TherapySession(
        practice_id=client.practice_id,
        therapist_id=therapist.id,
        recorded_by=therapist.id,
        client_id=client.id,
        consent_id=consent.id,
        status=SessionStatus.RECORDING,
    )
    session.add(row)
    session.flush()
    row.browser_key_sealed = seal(keystore, secrets.token_bytes(32), context=_browser_key_context(row.id))
    audit.record(
        session,
        keystore=keystore,
        action="session.started",
        actor=f"user:{therapist.id}",
        practice_id=row.practice_id,
        subject=f"session:{row.id}",
        details={"client": client.id},
    )
    return row


def session_of(session: Session, *, therapist: User, session_id: str) -> TherapySession | None:
    row = session.get(TherapySession, session_id)
    if row is None or row.therapist_id != therapist.id or row.practice_id != therapist.practice_id:
        return None
    return row


def recording_of(session: Session, *, therapist: User, recording_id: str) -> tuple[Recording, TherapySession] | None:
    rec = session.get(Recording, recording_id)
    if rec is None:
        return None
    owner = session_of(session, therapist=therapist, session_id=rec.session_id)
    return (rec, owner) if owner is not None else None


def open_recording(
    session: Session,
    *,
    keystore: KeyStore,
    therapy_session: TherapySession,
    source: Source,
    media_type: str,
    declared_length: int | None = None,
) -> Recording:
    """A new encrypted stream for a channel, with its own data key; refused without consent."""
    if therapy_session.status != SessionStatus.RECORDING:
        raise RecordingRefused("This session has ended; start a new one to record again.")
    require_consent(session, keystore=keystore, client_id=therapy_session.client_id)
    channel = CHANNELS[source]
    segment = session.scalar(
        select(func.count())
        .select_from(Recording)
        .where(Recording.session_id == therapy_session.id, Recording.channel == channel)
    )
    key_id, _key = create_data_key(session, keystore=keystore, purpose="recording")
    rec = Recording(
        session_id=therapy_session.id,
        channel=channel,
        segment=segment or 0,
        source=source.value,
        media_type=media_type[:80],
        data_key_id=key_id,
        declared_length=declared_length,
    )
    session.add(rec)
    session.flush()
    return rec


@dataclass(frozen=True)
class ChunkResult:
    received: int
    complete: bool


def append_chunk(
    session: Session,
    *,
    keystore: KeyStore,
    store: BlobStore,
    recording: Recording,
    offset: int,
    data: bytes,
    final_length: int | None = None,
) -> ChunkResult:
    """Store bytes at ``offset`` of a recording, encrypted, if consent still stands.

    A repeated chunk (the client did not hear our answer) is skipped where it overlaps
    what we have, so resuming never duplicates audio; a gap is refused with the offset
    we hold, so nothing is lost silently.
    """
    # The session's row before the recording's, in the order ending, withdrawal and deletion take
    # them: the other way round, a chunk completing an upload (which marks the session recorded)
    # deadlocks with a withdrawal on PostgreSQL, and the withdrawal may be the one rolled back.
    lock_row(session, TherapySession, recording.session_id)
    lock_row(session, Recording, recording.id)
    session.refresh(recording)
    therapy_session = session.get(TherapySession, recording.session_id, populate_existing=True)
    assert therapy_session is not None
    # Consent first: after a withdrawal the therapist should read why, not just that it stopped.
    require_consent(session, keystore=keystore, client_id=therapy_session.client_id)
    if therapy_session.status != SessionStatus.RECORDING or recording.data_key_id is None:
        raise RecordingRefused("This recording is no longer accepting audio.")
    if recording.complete:
        raise RecordingRefused("This recording is already complete.")
    if offset > recording.received_bytes:
        raise UploadConflict(recording.received_bytes)
    fresh = data[recording.received_bytes - offset :]
    length = final_length if final_length is not None else recording.declared_length
    if length is not None and recording.received_bytes + len(fresh) > length:
        raise RecordingRefused("More audio arrived than the upload announced.")
    key = load_data_key(session, keystore=keystore, key_id=recording.data_key_id)
    writer = ObjectWriter.continue_at(
        store, key, prefix=AUDIO_PREFIX, object_id=recording.id, next_index=recording.chunks
    )
    if fresh:
        writer.append(fresh)
        recording.received_bytes += len(fresh)
        recording.chunks += 1
    if final_length is not None:
        recording.declared_length = final_length
    if recording.declared_length is not None and recording.received_bytes == recording.declared_length:
        writer.close()
        recording.complete = True
        recording.completed_at = clock.now()
    return ChunkResult(recording.received_bytes, recording.complete)


def received_so_far(session: Session, *, keystore: KeyStore, store: BlobStore, recording: Recording) -> bytes:
    """The bytes an unfinished upload has stored, decrypted in memory: meant for its first few."""
    if not recording.chunks or recording.data_key_id is None:
        return b""
    key = load_data_key(session, keystore=keystore, key_id=recording.data_key_id)
    return read_written(store, key, prefix=AUDIO_PREFIX, object_id=recording.id, count=recording.chunks)


def live_seconds_left(therapy_session: TherapySession, *, max_hours: float) -> float:
    """How much longer this session may record live: ``max_hours`` from its start, pauses included.

    Counted on the server's clock from when the session was opened, before the page's recorder
    started, so the audio of every live stream stays within it: no sound can be older than the
    session, and none arrives before it is made.
    """
    deadline = therapy_session.created_at + timedelta(hours=max_hours)
    return max(0.0, (deadline - clock.now()).total_seconds())


def stop_at_time_limit(
    session: Session,
    *,
    keystore: KeyStore,
    store: BlobStore,
    therapy_session: TherapySession,
    source: str,
    max_hours: float,
) -> str | None:
    """End a live session that has run out of time, keeping what arrived in time, and say so;
    None while it may go on (or the limit is not what stops it).

    Consent comes first: where it no longer stands, RecordingRefused says so, as for any chunk,
    and nothing is kept on the limit's account.
    """
    if source not in LIVE_SOURCES or therapy_session.status == SessionStatus.SHREDDED:
        return None
    if live_seconds_left(therapy_session, max_hours=max_hours) > 0:
        return None
    if therapy_session.status == SessionStatus.RECORDING:
        require_consent(session, keystore=keystore, client_id=therapy_session.client_id)
        end_session(session, keystore=keystore, store=store, therapy_session=therapy_session, actor="system")
    elif therapy_session.ended_at is None or therapy_session.ended_at < therapy_session.created_at + timedelta(
        hours=max_hours
    ):
        return None  # ended in time (Stop); what comes after is simply too late
    return time_limit_message(max_hours)


def time_limit_message(max_hours: float) -> str:
    return (
        f"This recording reached {clock.duration_words(max_hours * 3600)}, the longest Sotto records, and was "
        "stopped. What was recorded up to then is saved."
    )


def end_session(
    session: Session, *, keystore: KeyStore, store: BlobStore, therapy_session: TherapySession, actor: str
) -> None:
    """Stop recording: close every stream, and queue the audio to be checked and processed."""
    lock_row(session, TherapySession, therapy_session.id)
    session.refresh(therapy_session)
    if therapy_session.status != SessionStatus.RECORDING:
        return
    for rec in recordings_of(session, session_id=therapy_session.id):
        if not rec.complete and rec.data_key_id is not None:
            key = load_data_key(session, keystore=keystore, key_id=rec.data_key_id)
            ObjectWriter.continue_at(store, key, prefix=AUDIO_PREFIX, object_id=rec.id, next_index=rec.chunks).close()
            rec.complete, rec.declared_length, rec.completed_at = True, rec.received_bytes, clock.now()
    _recorded(session, therapy_session)
    audit.record(
        session,
        keystore=keystore,
        action="session.recorded",
        actor=actor,
        practice_id=therapy_session.practice_id,
        subject=f"session:{therapy_session.id}",
    )


def _recorded(session: Session, therapy_session: TherapySession) -> None:
    therapy_session.status = SessionStatus.RECORDED
    therapy_session.browser_key_sealed = None
    therapy_session.ended_at = clock.now()
    practice = session.get(Practice, therapy_session.practice_id)
    assert practice is not None
    # Kept audio is counted from the end of the session; with 0 days the audio goes as soon
    # as processing has finished (the pipeline shreds it then).
    if practice.audio_retention_days > 0:
        therapy_session.audio_expires_at = therapy_session.ended_at + timedelta(days=practice.audio_retention_days)
    enqueue(session, "recording.check_audio", session_id=therapy_session.id)


def finish_upload(session: Session, *, keystore: KeyStore, recording: Recording, therapist: User) -> None:
    """The uploaded file is complete: the session is recorded and its audio will be checked."""
    therapy_session = session.get(TherapySession, recording.session_id)
    assert therapy_session is not None
    _recorded(session, therapy_session)
    audit.record(
        session,
        keystore=keystore,
        action="session.uploaded",
        actor=f"user:{therapist.id}",
        practice_id=therapy_session.practice_id,
        subject=f"session:{therapy_session.id}",
        details={"bytes": recording.received_bytes},
    )


def is_processable(recording: Recording) -> bool:
    """An original recording processing can still use: checked readable, and its key not destroyed."""
    return (
        recording.source != Source.REDACTED
        and recording.data_key_id is not None
        and recording.duration_seconds is not None
    )


def process_again(session: Session, *, keystore: KeyStore, therapy_session: TherapySession, actor: str) -> bool:
    """Queue a failed session for processing again; False when there is nothing left to process."""
    lock_row(session, TherapySession, therapy_session.id)
    session.refresh(therapy_session)
    if therapy_session.status != SessionStatus.FAILED:
        return False
    if not any(map(is_processable, recordings_of(session, session_id=therapy_session.id))):
        return False
    therapy_session.status = SessionStatus.RECORDED
    therapy_session.problem = None
    therapy_session.stage, therapy_session.stage_fraction = "queued", 0.0
    enqueue(session, "pipeline.process_session", session_id=therapy_session.id)
    audit.record(
        session,
        keystore=keystore,
        action="session.process_again",
        actor=actor,
        practice_id=therapy_session.practice_id,
        subject=f"session:{therapy_session.id}",
    )
    return True


def recordings_of(session: Session, *, session_id: str) -> list[Recording]:
    return list(
        session.scalars(
            select(Recording).where(Recording.session_id == session_id).order_by(Recording.channel, Recording.segment)
        )
    )


def shred_recording(session: Session, *, recording: Recording) -> bool:
    """Destroy one recording's data key now (its chunk files go in a job); False if already gone."""
    lock_row(session, Recording, recording.id)
    session.refresh(recording)
    if recording.data_key_id is None:
        return False
    destroy_data_key(session, key_id=recording.data_key_id)
    recording.data_key_id = None
    enqueue(session, "recording.delete_chunks", recording_ids=[recording.id])
    return True


def shred_audio(session: Session, *, therapy_session: TherapySession) -> int:
    """Destroy every recording's data key now; returns how many recordings were destroyed.

    Without its key a recording's chunks are noise, so the data is gone when this
    transaction commits; a job then removes the chunk files themselves.
    """
    destroyed = sum(
        shred_recording(session, recording=rec) for rec in recordings_of(session, session_id=therapy_session.id)
    )
    therapy_session.audio_expires_at = None
    return destroyed


def shred_session(
    session: Session, *, keystore: KeyStore, therapy_session: TherapySession, by: str, reason: str
) -> None:
    """Destroy everything kept of a session and give a receipt.

    The session's row is locked first, as ending a session and the processing job lock it:
    taken in the same order, the locks can only queue, never deadlock.
    """
    lock_row(session, TherapySession, therapy_session.id)
    shred_audio(session, therapy_session=therapy_session)
    transcript_ids = review.shred_transcript(session, session_id=therapy_session.id)
    if transcript_ids:
        enqueue(session, "review.delete_blobs", transcript_ids=transcript_ids)
    therapy_session.status = SessionStatus.SHREDDED
    therapy_session.browser_key_sealed = None
    therapy_session.shredded_at = clock.now()
    therapy_session.transcript_expires_at = None
    therapy_session.stage = None
    audit.receipt(
        session,
        keystore=keystore,
        practice_id=therapy_session.practice_id,
        client_id=therapy_session.client_id,
        subject=f"session:{therapy_session.id}",
        what="everything recorded of this session",
        by=by,
        reason=reason,
    )


def audio_available(therapy_session: TherapySession) -> bool:
    """Whether this session's audio may still be played (kept, and not past its retention)."""
    if therapy_session.status in (SessionStatus.SHREDDED, SessionStatus.FAILED, SessionStatus.RECORDING):
        return False
    expires = therapy_session.audio_expires_at
    return expires is None or expires > clock.now()


def hand_over_sessions(session: Session, *, client_ids: Sequence[str], therapist: User) -> None:
    """Give these clients' sessions, and their requests about them, to ``therapist``, who now holds the clients.

    Every session's row is locked, in one order, before any is changed, and before the caller
    writes to the audit log (see ``shred_session`` for the order others take them in).
    """
    ids = session.scalars(
        select(TherapySession.id).where(TherapySession.client_id.in_(client_ids)).order_by(TherapySession.id)
    ).all()
    for session_id in ids:
        lock_row(session, TherapySession, session_id)
    session.execute(update(TherapySession).where(TherapySession.id.in_(ids)).values(therapist_id=therapist.id))
    session.execute(
        update(ClientRequest).where(ClientRequest.client_id.in_(client_ids)).values(therapist_id=therapist.id)
    )


def sessions_of_client(session: Session, *, client_id: str) -> list[TherapySession]:
    return list(
        session.scalars(
            select(TherapySession)
            .where(TherapySession.client_id == client_id)
            .order_by(TherapySession.created_at.desc())
        )
    )


def _browser_key_context(session_id: str) -> str:
    return f"browser-key:{session_id}"


def browser_key(
    session: Session, *, keystore: KeyStore, therapy_session: TherapySession, therapist: User
) -> bytes | None:
    """The AES-256 key the recorder page seals this session's unsent audio with, or None once gone.

    It exists only while the session records: ending, withdrawal and deletion destroy it, and
    with it whatever a device still holds of the session. Kept here, not in the browser, a
    device's files alone (a stolen laptop, a copied profile) never hold both the sealed audio
    and its key. Each hand-out is audited: a page asks once when it starts or resumes a session,
    so the log shows every page load that could read unsent audio, and by whom.
    """
    if therapy_session.status != SessionStatus.RECORDING or therapy_session.browser_key_sealed is None:
        return None
    key = open_sealed(keystore, therapy_session.browser_key_sealed, context=_browser_key_context(therapy_session.id))
    audit.record(
        session,
        keystore=keystore,
        action="session.browser_key_issued",
        actor=f"user:{therapist.id}",
        practice_id=therapy_session.practice_id,
        subject=f"session:{therapy_session.id}",
    )
    return key
