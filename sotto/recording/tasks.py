"""Background work for recordings: checking audio, retention, and shredding on withdrawal."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from sotto import clock, events
from sotto.audit import service as audit
from sotto.consent.models import Consent
from sotto.crypto.datakeys import load_data_key
from sotto.crypto.keystore import KeyStore
from sotto.db import lock_row, session_scope, truncate_write_ahead_log
from sotto.jobs.service import enqueue, periodic, task
from sotto.recording import requests as client_requests
from sotto.recording import service
from sotto.recording.audio import AudioProblem, probe_audio
from sotto.recording.models import SessionStatus, TherapySession
from sotto.storage.encrypted import DecryptingReader, delete_object

if TYPE_CHECKING:
    from sotto.runtime import Runtime


@task("recording.check_audio")
def check_audio(runtime: Runtime, *, session_id: str) -> None:
    """Decode every recording of a session from decrypted memory; destroy and explain what is unusable.

    Decoding runs outside any transaction; the verdict is written in a short one after.
    """
    with session_scope(runtime.read_sessions) as session:
        therapy_session = session.get(TherapySession, session_id)
        if therapy_session is None or therapy_session.status != SessionStatus.RECORDED:
            return
        recs = [r for r in service.recordings_of(session, session_id=session_id) if r.data_key_id is not None]
        keys = {
            r.id: load_data_key(session, keystore=runtime.keystore, key_id=r.data_key_id)
            for r in recs
            if r.data_key_id is not None and r.received_bytes
        }
    problems: dict[str, str] = {}
    durations: dict[str, float] = {}
    for recording_id, key in keys.items():
        reader = io.BufferedReader(
            DecryptingReader(runtime.blobs, key, prefix=service.AUDIO_PREFIX, object_id=recording_id),
            buffer_size=1 << 16,
        )
        try:
            durations[recording_id] = probe_audio(
                reader, max_seconds=runtime.settings.max_recording_hours * 3600
            ).duration_seconds
        except AudioProblem as exc:
            problems[recording_id] = str(exc)
    with session_scope(runtime.sessions) as session:
        # The session's row first, as a withdrawal or a deletion takes it before the recordings'
        # rows and the audit log: taken after a receipt, it could deadlock with them.
        lock_row(session, TherapySession, session_id)
        therapy_session = session.get(TherapySession, session_id, populate_existing=True)
        if therapy_session is None or therapy_session.status != SessionStatus.RECORDED:
            return  # deleted or withdrawn meanwhile
        # Each recording is judged on its own: one damaged segment does not cost the good ones.
        for rec in service.recordings_of(session, session_id=session_id):
            if rec.id in durations:
                rec.duration_seconds = durations[rec.id]
            elif rec.id in problems and service.shred_recording(session, recording=rec):
                audit.receipt(
                    session,
                    keystore=runtime.keystore,
                    practice_id=therapy_session.practice_id,
                    client_id=therapy_session.client_id,
                    subject=f"session:{therapy_session.id}",
                    what="an unusable part of the recording",
                    by="system",
                    reason="the audio could not be read",
                )
        if durations:
            therapy_session.stage, therapy_session.stage_fraction = "queued", 0.0
            enqueue(session, "pipeline.process_session", session_id=session_id)
            return
        service.shred_audio(session, therapy_session=therapy_session)
        therapy_session.status = SessionStatus.FAILED
        therapy_session.problem = next(iter(problems.values()), "Nothing was recorded.")
        therapy_session.audio_expires_at = None


@task("recording.delete_chunks")
def delete_chunks(runtime: Runtime, *, recording_ids: list[str]) -> None:
    """Remove the chunk files of recordings whose keys are already destroyed, and the keys' last copies."""
    for recording_id in recording_ids:
        delete_object(runtime.blobs, prefix=service.AUDIO_PREFIX, object_id=recording_id)
    truncate_write_ahead_log(runtime.engine)


# A session in one of these states still holds audio that was never transcribed.
UNPROCESSED = (SessionStatus.RECORDING, SessionStatus.RECORDED, SessionStatus.PROCESSING, SessionStatus.FAILED)


@events.subscribe(events.CONSENT_WITHDRAWN)
def shred_unprocessed_sessions(*, session: Session, keystore: KeyStore, consent: Consent, by: str) -> None:
    """Withdrawal destroys what was captured and not yet processed, in the same transaction.

    Mid-session, recording stops. A session already ended but still waiting for processing,
    being processed, or failed (its audio kept for another try) goes too: nothing is
    transcribed after the client said no. Processed sessions stay, for the client to ask
    for their deletion.
    """
    for therapy_session in _unprocessed_sessions(session, client_id=consent.client_id):
        when = "during the session" if therapy_session.status == SessionStatus.RECORDING else "before processing"
        service.shred_session(
            session,
            keystore=keystore,
            therapy_session=therapy_session,
            by=by,
            reason=f"the client withdrew consent {when}",
        )


@events.subscribe(events.CONSENT_NO_USE_LEFT)
def shred_sessions_no_one_may_use(*, session: Session, keystore: KeyStore, consent: Consent, by: str) -> None:
    """A client who unticks every use of their recordings leaves nothing anyone may make of the
    audio not yet processed: it goes as on a withdrawal (recording already stops at the next chunk)."""
    for therapy_session in _unprocessed_sessions(session, client_id=consent.client_id):
        service.shred_session(
            session,
            keystore=keystore,
            therapy_session=therapy_session,
            by=by,
            reason="the client allowed no use of recordings",
        )


def _unprocessed_sessions(session: Session, *, client_id: str) -> list[TherapySession]:
    """The client's sessions not yet processed, each row locked, in one order.

    Every row is locked before the first receipt takes the audit log, then read again, as a
    session may have finished processing while we waited for its lock.
    """
    unprocessed = TherapySession.status.in_([str(s) for s in UNPROCESSED])
    ids = session.scalars(
        select(TherapySession.id).where(TherapySession.client_id == client_id, unprocessed).order_by(TherapySession.id)
    ).all()
    for session_id in ids:
        lock_row(session, TherapySession, session_id)
    return list(
        session.scalars(
            select(TherapySession)
            .where(TherapySession.id.in_(ids), unprocessed)
            .order_by(TherapySession.id)
            .execution_options(populate_existing=True)
        )
    )


@periodic("recording.retention", every=timedelta(minutes=15))
def enforce_retention(runtime: Runtime) -> None:
    """Destroy audio and transcripts whose time is up, each with a receipt."""
    now = clock.now()
    audio_due, transcript_due = TherapySession.audio_expires_at <= now, TherapySession.transcript_expires_at <= now
    with session_scope(runtime.sessions) as session:
        _lock_sessions(session, audio_due | transcript_due)
        for therapy_session in session.scalars(select(TherapySession).where(audio_due)):
            if service.shred_audio(session, therapy_session=therapy_session):
                audit.receipt(
                    session,
                    keystore=runtime.keystore,
                    practice_id=therapy_session.practice_id,
                    client_id=therapy_session.client_id,
                    subject=f"session:{therapy_session.id}",
                    what="the session's audio",
                    by="system",
                    reason="the practice's retention period ended",
                )
        for therapy_session in session.scalars(select(TherapySession).where(transcript_due)):
            service.shred_session(
                session,
                keystore=runtime.keystore,
                therapy_session=therapy_session,
                by="system",
                reason="the practice's retention period ended",
            )


@periodic("recording.overdue_deletions", every=timedelta(minutes=15))
def carry_out_overdue_deletions(runtime: Runtime) -> None:
    """Keep the date the client's page gave for a deletion the therapist did not get to."""
    with session_scope(runtime.sessions) as session:
        client_requests.carry_out_overdue_deletions(session, keystore=runtime.keystore)


@periodic("recording.end_abandoned", every=timedelta(minutes=30))
def end_abandoned_sessions(runtime: Runtime) -> None:
    """End sessions left recording longer than any recording may last (a closed tab, a lost device).

    Their audio is then checked and processed like any other, instead of waiting forever.
    """
    cutoff = clock.now() - timedelta(hours=runtime.settings.max_recording_hours + 1)
    abandoned = (TherapySession.status == SessionStatus.RECORDING) & (TherapySession.created_at < cutoff)
    with session_scope(runtime.sessions) as session:
        _lock_sessions(session, abandoned)
        for therapy_session in session.scalars(select(TherapySession).where(abandoned)):
            service.end_session(
                session,
                keystore=runtime.keystore,
                store=runtime.blobs,
                therapy_session=therapy_session,
                actor="system",
            )


def _lock_sessions(session: Session, which: ColumnElement[bool]) -> None:
    """Lock the rows of the sessions a sweep will change, all of them, in one order.

    A sweep writes a receipt or an entry for each session to the audit log, whose lock it then
    holds to the end: waiting for the next session's row while holding it could deadlock on
    PostgreSQL with a transaction that took that row first and then writes to the log (a
    client's deletion, a withdrawal, the therapist's Stop, processing), and one of them would be
    rolled back. The sweep's own queries come after, so they see what changed while it waited.
    """
    ids = session.scalars(select(TherapySession.id).where(which).order_by(TherapySession.id)).all()
    for session_id in ids:
        lock_row(session, TherapySession, session_id)
