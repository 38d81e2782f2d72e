"""A session uploaded for the processing job, and what the job stored for it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sotto.db import session_scope
from sotto.pipeline.types import Transcript
from sotto.recording.models import TherapySession
from sotto.review import service as review
from sotto.runtime import Runtime
from support.app import Person
from support.consenting import consenting_client
from support.tus import Tus


def upload(runtime: Runtime, web: TestClient, therapist: Person, data: bytes) -> tuple[str, str]:
    client = consenting_client(runtime, therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    url, _ = tus.upload_file(session_id, data)
    return session_id, url.rsplit("/", 1)[1]


def row(runtime: Runtime, session_id: str) -> TherapySession:
    with session_scope(runtime.sessions) as session:
        found = session.get(TherapySession, session_id)
        assert found is not None
        return found


def stored_transcript(runtime: Runtime, session_id: str) -> Transcript:
    """The session's transcript as the therapist sees it (speaker corrections applied)."""
    with session_scope(runtime.read_sessions) as session:
        stored = review.transcript_row(session, session_id=session_id)
        assert stored is not None
        return review.read_transcript(session, keystore=runtime.keystore, store=runtime.blobs, row=stored)


def stored_text(runtime: Runtime, session_id: str) -> str:
    return " ".join(segment.text for segment in stored_transcript(runtime, session_id).segments)
