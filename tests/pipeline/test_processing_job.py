"""The processing job on a real recording: upload → check → pipeline → encrypted, redacted transcript.

The session is spoken by espeak-ng from an invented script with invented identifiers; the
real Whisper model and the real privacy engine run in the job, as the server runs them.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from spoken_session import build_session, espeak_available, wav_bytes
from sqlalchemy import select

from sotto import clock
from sotto.audit.models import AuditEvent, DeletionReceipt
from sotto.crypto.models import DataKey
from sotto.db import session_scope
from sotto.jobs.models import Job
from sotto.jobs.service import LEASE, MAX_ATTEMPTS
from sotto.pipeline import tasks as processing
from sotto.pipeline.decode import decode_recording
from sotto.pipeline.stages import PipelineError
from sotto.recording import service as recordings
from sotto.recording.models import Recording, TherapySession
from sotto.review import service as review
from sotto.review.models import SessionTranscript
from sotto.runtime import Runtime, build_runtime
from sotto.storage.encrypted import DecryptingReader
from support.app import Person, form_token, set_practice, work_off
from support.audio import recording
from support.consenting import consenting_client
from support.processing import row, stored_text, stored_transcript, upload
from support.scan import stored_anywhere
from support.tus import Tus

pytestmark = pytest.mark.slow

# Invented people and places; common enough words that the tiny model spells them right.
IDENTIFIERS = ("Eleanor", "Gregory", "Denver")
SCRIPT = (
    ("therapist", "Good afternoon Eleanor. How have the last two weeks been?", False),
    ("client", "Busy. My brother Gregory drove up from Denver to stay with me for a few days.", False),
    ("therapist", "How was it to have him staying with you?", False),
    ("client", "Mostly good. We cooked together and talked about our parents a lot.", False),
    ("therapist", "What came up when you talked about your parents?", False),
    ("client", "That we both still want their approval, even now that we are grown up.", False),
)


@pytest.fixture(scope="module")
def session_wav() -> bytes:
    if not espeak_available():
        pytest.fail("espeak-ng is needed to synthesize the test session (apt-get install espeak-ng)")
    return wav_bytes([build_session(SCRIPT).mixed()])


def test_recorded_session_becomes_a_redacted_encrypted_transcript(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, session_wav: bytes
) -> None:
    session_id, original = upload(runtime, web, signed_in_therapist, session_wav)
    work_off(runtime)

    done = row(runtime, session_id)
    assert done.status == "processed" and done.processed_at is not None and done.stage == "finish"
    assert done.transcript_expires_at == done.processed_at + timedelta(days=365)
    text = stored_text(runtime, session_id)
    assert "approval" in text and "[Name" in text
    for name in IDENTIFIERS:
        assert name.lower() not in text.lower()
        # Not in the database, the blobs or the temp directory either, in any form.
        assert stored_anywhere(runtime, name.encode()) == []
    assert stored_anywhere(runtime, b"approval") == []  # transcript words only exist encrypted

    # The practice keeps no audio: the original went when processing finished, with a receipt.
    assert runtime.blobs.names(f"audio/{original}") == []
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(DataKey).where(DataKey.purpose == "recording")).all() == []
        [receipt] = session.scalars(select(DeletionReceipt)).all()
        assert receipt.what == "the session's original audio" and receipt.by == "system"

    page = web.get(f"/sessions/{session_id}")
    assert page.status_code == 200 and "approval" in page.text and "Swap Therapist and Client" in page.text
    assert not any(name in page.text for name in IDENTIFIERS)
    progress = web.get(f"/sessions/{session_id}/progress").json()
    assert progress["done"] and all(stage["state"] == "done" for stage in progress["stages"])
    with session_scope(runtime.sessions) as session:
        actions = [
            e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.subject == f"session:{session_id}"))
        ]
    assert {"session.transcribed", "session.processed", "transcript.viewed"} <= set(actions)

    # Deleting the session destroys the transcript too: its key, its row, then its blob.
    assert runtime.blobs.names("transcripts/") != []
    r = web.post(
        f"/sessions/{session_id}/delete",
        data={"csrf_token": form_token(web, f"/sessions/{session_id}"), "confirm": "yes"},
    )
    assert r.status_code == 303
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(SessionTranscript)).all() == []
        assert session.scalars(select(DataKey)).all() == []
    work_off(runtime)
    assert runtime.blobs.names("transcripts/") == []
    assert "approval" not in web.get(f"/sessions/{session_id}").text


def test_therapist_swaps_and_fixes_speakers(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, session_wav: bytes
) -> None:
    session_id, _ = upload(runtime, web, signed_in_therapist, session_wav)
    work_off(runtime)
    before = stored_transcript(runtime, session_id)
    labels = [s.speaker for s in before.segments]
    assert {"therapist", "client"} <= set(labels)

    token = form_token(web, f"/sessions/{session_id}")
    r = web.post(f"/sessions/{session_id}/speakers/swap", data={"csrf_token": token})
    assert r.status_code == 303
    swapped = {"therapist": "client", "client": "therapist"}
    after = stored_transcript(runtime, session_id)
    assert [s.speaker for s in after.segments] == [swapped.get(label, label) for label in labels]

    r = web.post(f"/sessions/{session_id}/segments/0/speaker", data={"csrf_token": token, "speaker": labels[0]})
    assert r.status_code == 303
    fixed = stored_transcript(runtime, session_id)
    assert fixed.segments[0].speaker == labels[0]
    assert [s.speaker for s in fixed.segments[1:]] == [swapped.get(label, label) for label in labels[1:]]
    # Swapping back restores the pipeline's labels except the one fixed segment, which swaps too.
    web.post(f"/sessions/{session_id}/speakers/swap", data={"csrf_token": token})
    back = stored_transcript(runtime, session_id)
    assert [s.speaker for s in back.segments[1:]] == labels[1:]
    assert back.segments[0].speaker == swapped.get(labels[0], labels[0])

    r = web.post(f"/sessions/{session_id}/segments/0/speaker", data={"csrf_token": token, "speaker": "nobody"})
    assert r.status_code == 400 and "Nothing was changed" in r.text

    # The page's swap form, submitted twice (a double click), swaps once.
    html = web.get(f"/sessions/{session_id}").text
    [version] = re.findall(r'name="version" value="([0-9a-f]+)"', html)
    for _ in range(2):
        web.post(f"/sessions/{session_id}/speakers/swap", data={"csrf_token": token, "version": version})
    once = stored_transcript(runtime, session_id)
    assert [s.speaker for s in once.segments[1:]] == [swapped.get(label, label) for label in labels[1:]]


def test_kept_audio_is_a_copy_with_the_identifiers_silenced(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, session_wav: bytes
) -> None:
    set_practice(runtime, audio_retention_days=30)
    session_id, original = upload(runtime, web, signed_in_therapist, session_wav)
    work_off(runtime)
    assert row(runtime, session_id).status == "processed"
    assert runtime.blobs.names(f"audio/{original}") == []
    with session_scope(runtime.sessions) as session:
        [kept] = [r for r in session.scalars(select(Recording)) if r.data_key_id is not None]
        assert kept.source == "redacted" and kept.complete
        key = recordings.load_data_key(session, keystore=runtime.keystore, key_id=kept.data_key_id)
        stored = review.transcript_row(session, session_id=session_id)
        assert stored is not None
        transcript = review.read_stored(session, keystore=runtime.keystore, store=runtime.blobs, row=stored)
    reader = io.BufferedReader(DecryptingReader(runtime.blobs, key, prefix="audio", object_id=kept.id))
    [samples] = decode_recording(reader, mono=True, max_seconds=600)
    names = [s for s in transcript.spans if s.category == "phi" and s.t0 is not None and s.t1 is not None]
    assert names, "the session's names were found and timed"
    for span in names:
        assert span.t0 is not None and span.t1 is not None
        inside = samples[int(span.t0 * 16000) : int(span.t1 * 16000)]
        assert len(inside) and float(abs(inside).max()) < 0.01, "a removed name is still audible"
    assert float(abs(samples).max()) > 0.1  # the rest of the session is still there
    page = web.get(f"/sessions/{session_id}")
    assert "Kept copy, with removed passages silenced" in page.text


def test_a_failed_session_keeps_its_audio_says_why_and_can_be_tried_again(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, session_wav: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = processing._transcript

    def broken(runtime: Runtime, plan: object) -> None:
        raise PipelineError("overlap", "Two recordings for channel 0 overlap by 3.0 s.")

    monkeypatch.setattr(processing, "_transcript", broken)
    session_id, original = upload(runtime, web, signed_in_therapist, session_wav)
    work_off(runtime)
    failed = row(runtime, session_id)
    assert failed.status == "failed" and failed.problem == "Two recordings for channel 0 overlap by 3.0 s."
    assert failed.audio_expires_at is not None
    keep = failed.audio_expires_at - clock.now()
    days = timedelta(days=processing.FAILED_AUDIO_DAYS)
    assert days - timedelta(minutes=1) < keep <= days
    assert runtime.blobs.names(f"audio/{original}") != []  # kept, encrypted, for another try
    page = web.get(f"/sessions/{session_id}")
    assert "overlap by 3.0 s" in page.text and "Try processing again" in page.text and "Traceback" not in page.text

    monkeypatch.setattr(processing, "_transcript", real)
    token = form_token(web, f"/sessions/{session_id}")
    for _ in range(2):  # a double click queues it once
        r = web.post(f"/sessions/{session_id}/process", data={"csrf_token": token})
        assert r.status_code == 303
    with session_scope(runtime.sessions) as session:
        queued = session.scalars(select(Job).where(Job.name == "pipeline.process_session", Job.status == "queued"))
        assert len(queued.all()) == 1
    work_off(runtime)
    assert row(runtime, session_id).status == "processed"
    assert runtime.blobs.names(f"audio/{original}") == []
    again = web.post(f"/sessions/{session_id}/process", data={"csrf_token": form_token(web, f"/sessions/{session_id}")})
    assert again.status_code == 409


def test_an_internal_error_is_retried_then_reported_plainly(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, session_wav: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(runtime: Runtime, plan: object) -> None:
        raise MemoryError("out of memory")

    monkeypatch.setattr(processing, "_transcript", crash)
    session_id, original = upload(runtime, web, signed_in_therapist, session_wav)
    for _ in range(MAX_ATTEMPTS):
        work_off(runtime)
        clock.advance(timedelta(hours=2))  # past each retry's back-off
    failed = row(runtime, session_id)
    assert failed.status == "failed" and failed.problem == processing.INTERNAL_PROBLEM
    assert "out of memory" not in (failed.problem or "")
    assert runtime.blobs.names(f"audio/{original}") != []


def test_a_session_deleted_while_processing_is_never_written_again(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, session_wav: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id, _ = upload(runtime, web, signed_in_therapist, session_wav)
    real = processing._Progress.__call__

    def delete_during_transcription(self: processing._Progress, stage: str, fraction: float) -> None:
        if stage == "transcribe":
            with session_scope(runtime.sessions) as session:
                therapy_session = session.get(TherapySession, session_id)
                assert therapy_session is not None
                if therapy_session.status != "shredded":
                    recordings.shred_session(
                        session,
                        keystore=runtime.keystore,
                        therapy_session=therapy_session,
                        by="client",
                        reason="the client asked for deletion",
                    )
        real(self, stage, fraction)

    monkeypatch.setattr(processing._Progress, "__call__", delete_during_transcription)
    work_off(runtime)
    assert row(runtime, session_id).status == "shredded"
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(SessionTranscript)).all() == []
        assert session.scalars(select(DataKey)).all() == []
        assert session.scalars(select(Job).where(Job.status != "done")).all() == []


class WorkerKilled(BaseException):
    """Stands for the worker process dying: not an Exception, so nothing in the job catches it."""


def test_a_worker_killed_after_the_transcript_was_stored_resumes_without_transcribing_again(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, session_wav: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_practice(runtime, audio_retention_days=30)
    session_id, original = upload(runtime, web, signed_in_therapist, session_wav)
    real = processing._Progress.__call__
    seen: list[str] = []
    deaths: list[str] = []

    def die_in_silencing(self: processing._Progress, stage: str, fraction: float) -> None:
        seen.append(stage)
        if stage == "silence" and not deaths:
            deaths.append(stage)
            raise WorkerKilled
        real(self, stage, fraction)

    monkeypatch.setattr(processing._Progress, "__call__", die_in_silencing)
    with pytest.raises(WorkerKilled):
        work_off(runtime)
    stuck = row(runtime, session_id)
    assert stuck.status == "processing" and stuck.stage == "silence"
    assert runtime.blobs.names(f"audio/{original}") != []  # the original is not destroyed before the end

    seen.clear()
    work_off(runtime)
    assert row(runtime, session_id).status == "processing"  # the dead worker's lease still holds
    clock.advance(LEASE + timedelta(minutes=1))
    work_off(runtime)
    assert row(runtime, session_id).status == "processed"
    assert "transcribe" not in seen and "silence" in seen
    with session_scope(runtime.sessions) as session:
        assert len(session.scalars(select(SessionTranscript)).all()) == 1
        kept = [r for r in session.scalars(select(Recording)) if r.data_key_id is not None]
        assert [r.source for r in kept] == ["redacted"] and kept[0].complete


def test_a_worker_killed_while_transcribing_starts_again_from_the_encrypted_original(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, session_wav: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id, original = upload(runtime, web, signed_in_therapist, session_wav)
    real = processing._Progress.__call__
    deaths: list[str] = []

    def die_once(self: processing._Progress, stage: str, fraction: float) -> None:
        if stage == "transcribe" and not deaths:
            deaths.append(stage)
            raise WorkerKilled
        real(self, stage, fraction)

    monkeypatch.setattr(processing._Progress, "__call__", die_once)
    with pytest.raises(WorkerKilled):
        work_off(runtime)
    assert row(runtime, session_id).status == "processing"
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(SessionTranscript)).all() == []  # nothing unredacted was kept
    clock.advance(LEASE + timedelta(minutes=1))
    work_off(runtime)
    assert row(runtime, session_id).status == "processed"
    assert runtime.blobs.names(f"audio/{original}") == []
    assert "[Name" in stored_text(runtime, session_id)


def test_silence_gives_an_empty_transcript_and_says_so(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    import numpy as np

    quiet = np.random.default_rng(3).standard_normal(16000 * 20).astype(np.float32) * 0.001
    session_id, _ = upload(runtime, web, signed_in_therapist, wav_bytes([quiet], rate=16000))
    work_off(runtime)
    assert row(runtime, session_id).status == "processed"
    assert stored_text(runtime, session_id) == ""
    assert "No speech was heard" in web.get(f"/sessions/{session_id}").text


def test_a_telehealth_session_whose_microphone_recording_was_unusable_is_processed_from_the_call(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, session_wav: bytes
) -> None:
    # Which recording is processed is the subject here, not topic removal: the tiny model mishears
    # the call's synthetic voice, and the passage model may take a misheard sentence for a topic.
    set_practice(runtime, topics_removed=[])
    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    microphone = recording("webm", seconds=3.0)
    for source, data in (("microphone", microphone[: len(microphone) // 2]), ("call", session_wav)):
        url = tus.create(session_id, source=source).headers["Location"]
        assert tus.patch(url, 0, data).status_code == 204
    tus.end(session_id)
    work_off(runtime)  # the cut-off microphone recording is destroyed; the call's is kept and processed

    done = row(runtime, session_id)
    assert done.status == "processed", done.problem
    transcript = stored_transcript(runtime, session_id)
    assert "parents" in " ".join(s.text for s in transcript.segments)
    assert transcript.segments[-1].end > 10  # the call's length, not the 1.5 s of microphone
    assert {s.speaker for s in transcript.segments} == {"client"}  # the call is the client's side


def test_a_web_node_that_does_not_process_leaves_sessions_for_other_workers(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, session_wav: bytes
) -> None:
    import time

    session_id, _ = upload(runtime, web, signed_in_therapist, session_wav)
    node = build_runtime(runtime.settings.model_copy(update={"worker_processing": False}))
    try:
        node.start_workers()
        assert node.workers is not None
        deadline = time.monotonic() + 30
        while row(runtime, session_id).stage != "queued" and time.monotonic() < deadline:
            node.workers.wake()
            time.sleep(0.2)
        assert row(runtime, session_id).stage == "queued"  # its audio was checked by this node
        time.sleep(3 * node.workers.poll_seconds)
        assert row(runtime, session_id).status == "recorded"  # but it was left for a processing worker
    finally:
        node.close()
    assert web.get(f"/sessions/{session_id}/progress").json()["stage"] == "queued"
    work_off(runtime)
    assert row(runtime, session_id).status == "processed"


def test_a_missing_speech_model_fails_the_session_plainly(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, session_wav: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id, original = upload(runtime, web, signed_in_therapist, session_wav)
    elsewhere = runtime.settings.model_copy(update={"whisper_model_dir": str(runtime.settings.data_dir / "no-model")})
    monkeypatch.setattr(runtime, "settings", elsewhere)  # SOTTO_WHISPER_MODEL_DIR pointing at nothing
    work_off(runtime)
    failed = row(runtime, session_id)
    assert failed.status == "failed" and failed.problem is not None
    assert failed.problem.startswith("No CTranslate2 Whisper model in") and "Traceback" not in failed.problem
    assert runtime.blobs.names(f"audio/{original}") != []


def test_a_missing_sentence_model_fails_the_session_plainly(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, session_wav: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sotto.privacy import engine, passage_model, sentence_model

    def forget_loaded_models() -> None:
        for loaded in (engine.default_redactor, passage_model._loaded, sentence_model._loaded):
            loaded.cache_clear()

    session_id, original = upload(runtime, web, signed_in_therapist, session_wav)
    monkeypatch.setenv("SOTTO_SENTENCE_MODEL_DIR", str(runtime.settings.data_dir / "no-model"))
    forget_loaded_models()
    try:
        work_off(runtime)
    finally:
        forget_loaded_models()
    failed = row(runtime, session_id)
    assert failed.status == "failed" and failed.problem is not None
    assert "model.safetensors and tokenizer.json" in failed.problem and "Traceback" not in failed.problem
    assert runtime.blobs.names(f"audio/{original}") != []


def test_segments_after_a_late_upload_never_overlap_and_channels_stay_aligned() -> None:
    from sotto.pipeline.tasks import _timeline

    began = clock.now()

    def rec(rid: str, channel: int, segment: int, opened: float, seconds: float) -> Recording:
        return Recording(
            id=rid,
            channel=channel,
            segment=segment,
            source="microphone",
            created_at=began + timedelta(seconds=opened),
            duration_seconds=seconds,
        )

    # The first microphone upload holds 120 s of audio, but the next one (after a reload) was
    # opened only 61 s after it: the first had been opened late, once the network came back.
    # The call channel's upload opened half a second after the first.
    starts = _timeline([rec("mic0", 0, 0, 0.0, 120.0), rec("mic1", 0, 1, 61.0, 30.0), rec("call", 1, 0, 0.5, 150.0)])
    assert starts == {"mic0": 0.0, "mic1": 120.0, "call": 0.5}
