"""A therapist enrols their voice from a short recording; it is kept sealed and used by processing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from spoken_session import (
    CLIENT_VOICE,
    RATE,
    THERAPIST_VOICE,
    build_session,
    espeak_available,
    expected_speakers,
    speak,
    wav_bytes,
)
from sqlalchemy import select

from sotto.accounts import service as accounts
from sotto.accounts import voice as voices
from sotto.accounts.models import Practice, Role, User
from sotto.audit.models import AuditEvent
from sotto.clients import service as clients
from sotto.db import session_scope
from sotto.pipeline import tasks as processing
from sotto.runtime import Runtime
from support.app import Person, create_person, form_token, work_off
from support.processing import stored_transcript, upload
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


# Invented; the therapist asks, the client answers, as in a first session.
HANDED_OVER_SCRIPT = (
    ("therapist", "Thank you for coming in today. What would you like us to work on together?", False),
    ("client", "I keep putting things off at work until the very last minute, and then I panic.", False),
    ("therapist", "When did you first notice that pattern? Was there a time it was different?", False),
    ("client", "It started after I changed teams last spring. Before that I was usually early.", False),
    ("therapist", "What changed when you moved to the new team? How did the first weeks feel?", False),
    ("client", "Everyone seemed so confident, and I was afraid to ask the questions I had.", False),
)


def test_a_session_handed_over_before_processing_is_labelled_with_the_voice_of_whoever_recorded_it(
    runtime: Runtime, web: TestClient, practice: Practice, signed_in_therapist: Person, sample_wav: bytes
) -> None:
    assert "Your voice is enrolled" in enrol(web, sample_wav)
    # The colleague who takes the client over has enrolled a voice that sounds like the client's,
    # so labelling with the colleague's voice would call the client the therapist.
    colleague = create_person(runtime, practice, Role.THERAPIST, "dr.okafor@quietharbor.test", "Dr. Lee Okafor")
    admin = create_person(runtime, practice, Role.ADMIN, "admin@quietharbor.test", "Pat Admin")
    with session_scope(runtime.sessions) as session:
        user = session.get(User, colleague.id)
        assert user is not None
        sample = wav_bytes([speak(SAMPLE, CLIENT_VOICE)])
        voices.enrol_voice(
            session, keystore=runtime.keystore, user=user, profile_json=voices.profile_from_recording(sample)
        )
    spoken = build_session(HANDED_OVER_SCRIPT)
    session_id, _ = upload(runtime, web, signed_in_therapist, wav_bytes([spoken.mixed()]))

    # The therapist leaves while the session waits for the worker, and their clients are handed over.
    with session_scope(runtime.sessions) as session:
        by = session.get(User, admin.id)
        assert by is not None
        accounts.deactivate_user(session, keystore=runtime.keystore, admin=by, user_id=signed_in_therapist.id)
        clients.hand_over_clients(
            session, keystore=runtime.keystore, admin=by, from_user_id=signed_in_therapist.id, to_user_id=colleague.id
        )
    work_off(runtime)

    segments = stored_transcript(runtime, session_id).segments
    clear = [(s, expected_speakers(spoken.turns, s.start, s.end)) for s in segments]
    clear = [(s, expected) for s, expected in clear if len(expected) == 1]
    assert len(clear) >= 4
    assert [s.speaker for s, _ in clear] == [expected.pop() for _, expected in clear]
