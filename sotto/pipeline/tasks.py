"""The processing job: a recorded session becomes an encrypted, redacted transcript.

    recording.check_audio ──▶ pipeline.process_session
        decode → transcribe → speakers → redact     in memory only, never checkpointed
        store      the redacted transcript, encrypted under its own data key: the checkpoint
        silence    only when the practice keeps audio: a copy with every removal silenced
        finish     the original audio destroyed, the session processed

Checkpoint and resume. What the stages before ``store`` produce is the unredacted
transcript (and decoded audio), which by DESIGN's invariant 5 never leaves memory, so a
worker killed before ``store`` starts again from decoding the encrypted original, which is
still there. Once the redacted transcript is stored, a rerun goes on from it: the
``silence`` stage re-decodes the original and works from the stored spans, and ``finish``
is idempotent. Each step first checks the session is still being processed, so a session
deleted or withdrawn meanwhile is never written to again.

A session that cannot be processed is marked failed with a plain-words reason; its
encrypted original is kept for `FAILED_AUDIO_DAYS` (or longer, if the practice keeps
audio longer) so the therapist can try again, then the retention sweep destroys it.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sotto import clock
from sotto.accounts import voice as voices
from sotto.accounts.models import Practice
from sotto.audit import service as audit
from sotto.crypto.datakeys import create_data_key, load_data_key
from sotto.db import lock_row, session_scope
from sotto.jobs.service import MAX_ATTEMPTS, current_attempt, is_last_attempt, keep_lease, task
from sotto.pipeline.decode import AudioSource
from sotto.pipeline.stages import PipelineError
from sotto.pipeline.types import Transcript
from sotto.recording import service as recordings
from sotto.recording.models import Recording, SessionStatus, Source, TherapySession
from sotto.review import service as review
from sotto.storage.encrypted import DecryptingReader, ObjectWriter

if TYPE_CHECKING:
    from sotto.runtime import Runtime

log = logging.getLogger(__name__)

PROCESS_SESSION = "pipeline.process_session"
FAILED_AUDIO_DAYS = 7
PROGRESS_EVERY_SECONDS = 2.0
INTERNAL_PROBLEM = (
    "Sotto could not process this session because of an internal error. The recording is kept, "
    "encrypted; try again, and tell your administrator if it fails again."
)
# One session at a time per process: two would share the same cores and double the peak memory.
_ONE_AT_A_TIME = threading.Lock()


class SessionGone(Exception):
    """The session was deleted or withdrawn while it was being processed: stop, write nothing."""


@dataclass
class _Plan:
    """What one run needs, read in one short transaction."""

    session_id: str
    keep_audio: bool
    speakers: int
    privacy: Any  # sotto.privacy.settings.PrivacySettings
    voice: Any  # sotto.pipeline.voice.VoiceProfile | None
    originals: list[tuple[str, int | None, float, bytes]] = field(default_factory=list)  # id, channel, start, key
    stored_transcript_id: str | None = None


@task(PROCESS_SESSION)
def process_session(runtime: Runtime, *, session_id: str) -> None:
    """Process one recorded session (see the module's description); safe to run again."""
    if current_attempt() > MAX_ATTEMPTS:  # killed mid-job every time: stop trying, keep the original
        _fail(runtime, session_id, INTERNAL_PROBLEM, kind="worker_lost")
        return
    try:
        with _one_at_a_time(runtime):  # the session shows "waiting" until its turn comes
            plan = _prepare(runtime, session_id)
            if plan is None:
                return
            transcript = _transcript(runtime, plan)
            if plan.keep_audio:
                _silence(runtime, plan, transcript)
            _finish(runtime, plan)
    except SessionGone:
        log.info("session %s was deleted while being processed; nothing more written", session_id)
    except PipelineError as exc:
        _fail(runtime, session_id, exc.message, kind=exc.kind)
    except Exception:
        if is_last_attempt():
            _fail(runtime, session_id, INTERNAL_PROBLEM, kind="internal")
        raise  # the job queue tries again later


@contextmanager
def _one_at_a_time(runtime: Runtime) -> Iterator[None]:
    """Wait for this process's other processing run to end, keeping this job's lease meanwhile
    (a lease that ran out while waiting would let another worker start the same session)."""
    while not _ONE_AT_A_TIME.acquire(timeout=60):
        keep_lease(runtime)
    try:
        yield
    finally:
        _ONE_AT_A_TIME.release()


def _prepare(runtime: Runtime, session_id: str) -> _Plan | None:
    from sotto.pipeline.voice import VoiceProfile
    from sotto.privacy.settings import PrivacySettings

    with session_scope(runtime.sessions) as session:
        lock_row(session, TherapySession, session_id)
        therapy_session = session.get(TherapySession, session_id)
        if therapy_session is None or therapy_session.status not in (SessionStatus.RECORDED, SessionStatus.PROCESSING):
            return None
        practice = session.get(Practice, therapy_session.practice_id)
        assert practice is not None
        therapy_session.status = SessionStatus.PROCESSING
        stored = review.transcript_row(session, session_id=session_id)
        if stored is None:
            therapy_session.stage, therapy_session.stage_fraction = "decode", 0.0
        # The voice of whoever recorded the session, who may since have handed the client over.
        recorder = therapy_session.recorded_by
        voice_json = voices.voice_profile(session, keystore=runtime.keystore, user_id=recorder) if recorder else None
        usable = list(filter(recordings.is_processable, recordings.recordings_of(session, session_id=session_id)))
        if not usable:
            raise PipelineError("empty", "Nothing of this session's audio is left to process.")
        starts = _timeline(usable)
        return _Plan(
            session_id=session_id,
            keep_audio=practice.audio_retention_days > 0,
            speakers=therapy_session.speakers,
            privacy=PrivacySettings(
                phi_removal=practice.phi_removal,
                topics=frozenset(practice.topics_removed),
                marker_names_category=practice.topic_marker_names_category,
            ),
            voice=VoiceProfile.from_json(voice_json) if voice_json else None,
            originals=[
                (
                    r.id,
                    None if r.source == Source.UPLOAD else r.channel,
                    starts[r.id],
                    load_data_key(session, keystore=runtime.keystore, key_id=r.data_key_id or ""),
                )
                for r in usable
            ],
            stored_transcript_id=stored.id if stored and stored.data_key_id else None,
        )


def _timeline(recs: list[Recording]) -> dict[str, float]:
    """Where each recording starts in the session, in seconds.

    A stream starts about when its upload was opened, which places a second channel, or a
    segment after a reload, on the session's timeline. An upload opened late (the network
    was down when recording began) would seem to overlap the segment before it, so each
    segment starts no earlier than the previous one on its channel ends.
    """
    first = min(r.created_at for r in recs)
    ends: dict[int, float] = {}
    starts: dict[str, float] = {}
    for rec in sorted(recs, key=lambda r: (r.channel, r.segment)):
        at = max((rec.created_at - first).total_seconds(), ends.get(rec.channel, 0.0))
        starts[rec.id] = at
        ends[rec.channel] = at + (rec.duration_seconds or 0.0)
    return starts


def _sources(runtime: Runtime, plan: _Plan) -> list[AudioSource]:
    return [
        AudioSource(
            io.BufferedReader(
                DecryptingReader(runtime.blobs, key, prefix=recordings.AUDIO_PREFIX, object_id=recording_id),
                buffer_size=1 << 16,
            ),
            channel=channel,
            start=start if channel is not None else None,
        )
        for recording_id, channel, start, key in plan.originals
    ]


class _Progress:
    """Writes the stage and its progress for the therapist's page, a few times a minute at most,
    keeps the job's lease, and stops the run if the session has gone meanwhile."""

    def __init__(self, runtime: Runtime, session_id: str) -> None:
        self.runtime = runtime
        self.session_id = session_id
        self.stage = ""
        self.written = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        if stage == self.stage and now - self.written < PROGRESS_EVERY_SECONDS:
            return
        self.stage, self.written = stage, now
        with session_scope(self.runtime.sessions) as session:
            therapy_session = session.get(TherapySession, self.session_id)
            if therapy_session is None or therapy_session.status != SessionStatus.PROCESSING:
                raise SessionGone(self.session_id)
            therapy_session.stage, therapy_session.stage_fraction = stage, round(fraction, 3)
        keep_lease(self.runtime)


def _as_one_stage(name: str, progress: _Progress, *, decode_share: float) -> Callable[[str, float], None]:
    """Report a decode-then-work run as the one step the therapist sees."""

    def report(stage: str, fraction: float) -> None:
        if stage == "decode":
            progress(name, decode_share * fraction)
        else:
            progress(name, decode_share + (1 - decode_share) * fraction)

    return report


def _options(runtime: Runtime, plan: _Plan, **extra: Any) -> Any:
    from sotto.pipeline.redaction import PrivacyEngineRedactor
    from sotto.pipeline.service import PipelineOptions
    from sotto.pipeline.transcribe import WhisperSettings
    from sotto.privacy.sentence_model import SentenceModelMissing

    try:
        redactor = PrivacyEngineRedactor(plan.privacy)
    except SentenceModelMissing as exc:
        raise PipelineError("no_model", str(exc)) from None
    return PipelineOptions(
        whisper=WhisperSettings(
            model_dir=runtime.settings.whisper_model_dir, cpu_threads=runtime.settings.whisper_threads
        ),
        speakers=plan.speakers,
        therapist_voice=plan.voice,
        redactor=redactor,
        max_seconds=runtime.settings.max_recording_hours * 3600,
        **extra,
    )


def _transcript(runtime: Runtime, plan: _Plan) -> Transcript:
    """The redacted transcript: from the checkpoint, or made now and stored (the checkpoint)."""
    from sotto.pipeline.service import run_pipeline

    if plan.stored_transcript_id is not None:
        with session_scope(runtime.read_sessions) as session:
            row = review.transcript_row(session, session_id=plan.session_id)
            assert row is not None
            return review.read_stored(session, keystore=runtime.keystore, store=runtime.blobs, row=row)
    result = run_pipeline(
        _sources(runtime, plan), options=_options(runtime, plan), progress=_Progress(runtime, plan.session_id)
    )
    transcript = result.transcript
    with session_scope(runtime.sessions) as session:
        therapy_session = _still_processing(session, plan.session_id)
        review.store_transcript(
            session, keystore=runtime.keystore, store=runtime.blobs, session_id=plan.session_id, transcript=transcript
        )
        # Dated with the checkpoint, not only at the end: a session that fails after this point
        # keeps the transcript, and it must still go on schedule.
        practice = session.get(Practice, therapy_session.practice_id)
        assert practice is not None
        therapy_session.transcript_expires_at = _transcript_expiry(practice, clock.now())
        therapy_session.stage = "silence" if plan.keep_audio else "finish"
        therapy_session.stage_fraction = 0.0
        audit.record(
            session,
            keystore=runtime.keystore,
            action="session.transcribed",
            actor="system",
            practice_id=therapy_session.practice_id,
            subject=f"session:{plan.session_id}",
            details={"segments": len(transcript.segments), "seconds": round(sum(result.timings.values()), 1)},
        )
    return transcript


def _still_processing(session: Any, session_id: str) -> TherapySession:
    lock_row(session, TherapySession, session_id)
    therapy_session = session.get(TherapySession, session_id)
    if therapy_session is None or therapy_session.status != SessionStatus.PROCESSING:
        raise SessionGone(session_id)
    session.refresh(therapy_session)
    return therapy_session


class _AppendOnly(io.RawIOBase):
    """An encrypted object as a write-only, non-seekable stream (what an encoder writes into)."""

    def __init__(self, writer: ObjectWriter) -> None:
        self.writer = writer
        self.bytes = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        if chunk:
            self.writer.append(chunk)
            self.bytes += len(chunk)
        return len(chunk)


def _silence(runtime: Runtime, plan: _Plan, transcript: Transcript) -> None:
    """Keep a copy of the audio with every removed word and passage silenced."""
    from sotto.pipeline.service import run_pipeline

    with session_scope(runtime.sessions) as session:
        therapy_session = _still_processing(session, plan.session_id)
        for rec in recordings.recordings_of(session, session_id=plan.session_id):
            if rec.source == Source.REDACTED:  # an earlier attempt's copy: start it again
                recordings.shred_recording(session, recording=rec)
        key_id, key = create_data_key(session, keystore=runtime.keystore, purpose="recording")
        segment = 1 + max(r.segment for r in recordings.recordings_of(session, session_id=plan.session_id))
        copy = Recording(
            session_id=plan.session_id,
            channel=0,
            segment=segment,
            source=Source.REDACTED,
            media_type="audio/ogg",
            data_key_id=key_id,
        )
        session.add(copy)
        session.flush()
        copy_id = copy.id
        therapy_session.stage = "silence"
    sink = _AppendOnly(ObjectWriter(runtime.blobs, key, prefix=recordings.AUDIO_PREFIX, object_id=copy_id))
    run_pipeline(
        _sources(runtime, plan),
        options=_options(runtime, plan, stages=("decode", "silence"), retained_audio=sink),
        progress=_as_one_stage("silence", _Progress(runtime, plan.session_id), decode_share=0.3),
        transcript=transcript,
    )
    sink.writer.close()
    with session_scope(runtime.sessions) as session:
        _still_processing(session, plan.session_id)
        kept = session.get(Recording, copy_id)
        assert kept is not None
        kept.complete, kept.completed_at = True, clock.now()
        kept.received_bytes = kept.declared_length = sink.bytes
        kept.duration_seconds = transcript.duration


def _finish(runtime: Runtime, plan: _Plan) -> None:
    """Destroy the original audio and mark the session processed, in one transaction."""
    with session_scope(runtime.sessions) as session:
        therapy_session = _still_processing(session, plan.session_id)
        practice = session.get(Practice, therapy_session.practice_id)
        assert practice is not None
        destroyed = sum(
            recordings.shred_recording(session, recording=rec)
            for rec in recordings.recordings_of(session, session_id=plan.session_id)
            if rec.source != Source.REDACTED
        )
        now = clock.now()
        if not plan.keep_audio:
            therapy_session.audio_expires_at = None
        elif therapy_session.audio_expires_at is None:
            # The practice began keeping audio after this session ended, which is when the date
            # is usually set: the kept copy is counted from the end of the session all the same.
            ended = therapy_session.ended_at or now
            therapy_session.audio_expires_at = ended + timedelta(days=practice.audio_retention_days)
        therapy_session.status = SessionStatus.PROCESSED
        therapy_session.processed_at = now
        therapy_session.problem = None
        therapy_session.stage, therapy_session.stage_fraction = "finish", 1.0
        therapy_session.transcript_expires_at = _transcript_expiry(practice, now)
        if destroyed:
            audit.receipt(
                session,
                keystore=runtime.keystore,
                practice_id=therapy_session.practice_id,
                client_id=therapy_session.client_id,
                subject=f"session:{plan.session_id}",
                what="the session's original audio",
                by="system",
                reason=(
                    "processing finished; only a copy with removed passages silenced is kept"
                    if plan.keep_audio
                    else "processing finished; the practice does not keep audio"
                ),
            )
        audit.record(
            session,
            keystore=runtime.keystore,
            action="session.processed",
            actor="system",
            practice_id=therapy_session.practice_id,
            subject=f"session:{plan.session_id}",
        )


def _transcript_expiry(practice: Practice, now: datetime) -> datetime | None:
    """When a transcript made ``now`` must be gone, by the practice's setting (None: kept until deleted)."""
    days = practice.transcript_retention_days
    return now + timedelta(days=days) if days else None


def _fail(runtime: Runtime, session_id: str, problem: str, *, kind: str) -> None:
    """Tell the therapist in plain words; keep the encrypted original for a retry."""
    with session_scope(runtime.sessions) as session:
        lock_row(session, TherapySession, session_id)
        therapy_session = session.get(TherapySession, session_id)
        if therapy_session is None or therapy_session.status not in (SessionStatus.RECORDED, SessionStatus.PROCESSING):
            return
        session.refresh(therapy_session)
        therapy_session.status = SessionStatus.FAILED
        therapy_session.problem = problem[:300]
        therapy_session.stage = None
        keep_until = clock.now() + timedelta(days=FAILED_AUDIO_DAYS)
        if therapy_session.audio_expires_at is None or therapy_session.audio_expires_at < keep_until:
            therapy_session.audio_expires_at = keep_until
        audit.record(
            session,
            keystore=runtime.keystore,
            action="session.processing_failed",
            actor="system",
            practice_id=therapy_session.practice_id,
            subject=f"session:{session_id}",
            details={"kind": kind},
        )
