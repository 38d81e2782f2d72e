"""A worker process killed with SIGKILL in the middle of transcribing a session: nothing
unredacted is left anywhere, the encrypted original is intact, and the next worker finishes
the session once the dead one's lease has run out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from spoken_session import build_session, espeak_available, wav_bytes
from sqlalchemy import select, update

from sotto import clock
from sotto.db import session_scope
from sotto.jobs.models import Job
from sotto.jobs.service import LEASE, run_pending
from sotto.pipeline.tasks import PROCESS_SESSION
from sotto.recording.models import TherapySession
from sotto.review.models import SessionTranscript
from sotto.runtime import Runtime
from support.app import Person, work_off
from support.consenting import consenting_client
from support.tus import Tus

pytestmark = pytest.mark.slow

SCRIPT = (
    ("therapist", "Good morning. What would you like to talk about today?", False),
    ("client", "Mostly my sleep. I wake up at four every night and cannot get back to sleep.", False),
    ("therapist", "What goes through your mind when you wake up like that?", False),
    ("client", "Lists. Everything I did not finish at work, over and over again.", False),
) * 3

WORKER = """
import sys
from sotto.config import load_settings
from sotto.jobs.service import run_pending
from sotto.runtime import build_runtime
runtime = build_runtime(load_settings())
run_pending(runtime)
"""


def stage(runtime: Runtime, session_id: str) -> tuple[str, str | None]:
    with session_scope(runtime.sessions) as session:
        row = session.get(TherapySession, session_id)
        assert row is not None
        return row.status, row.stage


def test_a_worker_killed_mid_transcription_loses_nothing_and_leaves_nothing(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, tmp_path: Path
) -> None:
    if not espeak_available():
        pytest.fail("espeak-ng is needed to synthesize the test session (apt-get install espeak-ng)")
    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    url, _ = tus.upload_file(session_id, wav_bytes([build_session(SCRIPT).mixed()]))
    original = url.rsplit("/", 1)[1]
    run_pending(runtime, exclude=(PROCESS_SESSION,))  # the audio check, here; processing in the worker
    assert stage(runtime, session_id) == ("recorded", "queued")
    # Signing in moved this process's test clock ahead of the worker's real one: make the job due there.
    with session_scope(runtime.sessions) as session:
        session.execute(update(Job).where(Job.name == PROCESS_SESSION).values(run_after=datetime.now(UTC)))

    worker_tmp = tmp_path / "worker-tmp"
    worker_tmp.mkdir()
    settings = runtime.settings
    env = {
        **os.environ,
        "TMPDIR": str(worker_tmp),
        "SOTTO_DATA_DIR": str(settings.data_dir),
        "SOTTO_KEY_FILE": str(settings.key_file),
        "SOTTO_OUTBOX_DIR": str(settings.outbox_dir),
        "SOTTO_DATABASE_URL": settings.database_url,
        "SOTTO_PUBLIC_URL": settings.public_url,
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while stage(runtime, session_id) != ("processing", "transcribe"):
            assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else ""
            assert time.monotonic() < deadline, "the worker never started transcribing"
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL

    # What a dead worker leaves: its job still leased, the session mid-way, the original intact,
    # and nothing of the session's content anywhere in plaintext (no transcript at all).
    assert stage(runtime, session_id) == ("processing", "transcribe")
    with session_scope(runtime.sessions) as session:
        [job] = session.scalars(select(Job).where(Job.name == PROCESS_SESSION)).all()
        assert job.status == "running" and job.attempts == 1
        assert session.scalars(select(SessionTranscript)).all() == []
    assert runtime.blobs.names(f"audio/{original}") != []
    assert [p for p in worker_tmp.rglob("*") if p.is_file()] == []

    work_off(runtime)
    assert stage(runtime, session_id)[0] == "processing"  # not before the lease runs out
    clock.advance(LEASE + timedelta(minutes=1))
    work_off(runtime)
    assert stage(runtime, session_id) == ("processed", "finish")
    with session_scope(runtime.sessions) as session:
        assert len(session.scalars(select(SessionTranscript)).all()) == 1
    assert runtime.blobs.names(f"audio/{original}") == []
