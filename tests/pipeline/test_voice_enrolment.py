"""A therapist enrols their voice from a short recording; it is kept sealed and used by processing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from spoken_session import RATE, THERAPIST_VOICE, espeak_available, speak, wav_bytes
from sqlalchemy import select

from sotto.accounts.models import User
from sotto.audit.models import AuditEvent
from sotto.db import session_scope
from sotto.pipeline import tasks as processing
from sotto.runtime import Runtime
from support.app import Person, form_token
from support.scan import database_bytes

pytestmark = pytest.mark.slow

SAMPLE = (
    "I am recording this so the system knows my voice. It will label me as the therapist in sessions "
    "recorded on a single microphone, so I read a few sentences at an ordinary pace, as I would in a room."
)


@pytest.fixture(scope="module")
def sample_wav() -> bytes:
    if not espeak_available():
        pytest.fail("espeak-ng is needed to synthesize the voice sample (apt-get install espeak-ng)")
    return wav_bytes([speak(SAMPLE, THERAPIST_VOICE)])


def enrol(web: TestClient, data: bytes) -> str:
    r = web.post(
        "/account/voice",
        data={"csrf_token": form_token(web, "/account/voice")},
        files={"sample": ("me.wav", data, "audio/wav")},
    )
    return r.text


def test_therapist_enrols_forgets_and_is_told_plainly_what_is_wrong(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, sample_wav: bytes
) -> None:
    page = web.get("/account/voice")
    assert page.status_code == 200 and "Not enrolled" in page.text

    short = wav_bytes([speak("Hello there.", THERAPIST_VOICE)])
    assert "too little speech" in enrol(web, short)
    assert "This is not a recording Sotto can read" in enrol(web, b"%PDF-1.7 not audio at all" * 10)
    noise = wav_bytes([np.zeros(RATE // 10, np.float32)])
    assert "Traceback" not in enrol(web, noise)

    assert "Your voice is enrolled" in enrol(web, sample_wav)
    with session_scope(runtime.sessions) as session:
        user = session.get(User, signed_in_therapist.user.id)
        assert user is not None and user.voice_profile_sealed is not None and user.voice_enrolled_at is not None
        actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert "voice.enrolled" in actions
    assert b'"mean"' not in database_bytes(runtime)  # the profile is sealed, not stored as JSON

    # Processing reads it back for this therapist's sessions.
    with session_scope(runtime.sessions) as session:
        profile = processing.voices.voice_profile(
            session, keystore=runtime.keystore, user_id=signed_in_therapist.user.id
        )
    assert profile is not None and '"mean"' in profile

    r = web.post("/account/voice/forget", data={"csrf_token": form_token(web, "/account/voice")})
    assert r.status_code == 303
    with session_scope(runtime.sessions) as session:
        user = session.get(User, signed_in_therapist.user.id)
        assert user is not None and user.voice_profile_sealed is None
    assert "Not enrolled" in web.get("/account/voice").text


def test_only_therapists_have_a_voice_page(runtime: Runtime, web: TestClient) -> None:
    assert web.get("/account/voice").status_code == 303  # signed out: to the sign-in page
    r = web.post("/account/voice", files={"sample": ("me.wav", io.BytesIO(b"RIFF"), "audio/wav")})
    assert r.status_code in (303, 401, 403)
