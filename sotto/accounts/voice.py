"""A therapist's enrolled voice, kept sealed: it tells them apart from the client on one channel.

A voice profile is biometric, so it is sealed like session content, changed only by its
owner, and forgotten on request. Services never commit.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sotto import clock
from sotto.accounts.models import User
from sotto.audit import service as audit
from sotto.crypto.envelope import open_sealed, seal
from sotto.crypto.keystore import KeyStore


def _context(user_id: str) -> str:
    return f"voice-profile:{user_id}"


def enrol_voice(session: Session, *, keystore: KeyStore, user: User, profile_json: str) -> None:
    user.voice_profile_sealed = seal(keystore, profile_json.encode("utf-8"), context=_context(user.id))
    user.voice_enrolled_at = clock.now()
    audit.record(
        session, keystore=keystore, action="voice.enrolled", actor=f"user:{user.id}", practice_id=user.practice_id
    )


def forget_voice(session: Session, *, keystore: KeyStore, user: User) -> None:
    if user.voice_profile_sealed is None:
        return
    user.voice_profile_sealed = None
    user.voice_enrolled_at = None
    audit.record(
        session, keystore=keystore, action="voice.forgotten", actor=f"user:{user.id}", practice_id=user.practice_id
    )


def voice_profile(session: Session, *, keystore: KeyStore, user_id: str) -> str | None:
    """The enrolled profile (JSON) of this user, or None."""
    user = session.get(User, user_id)
    if user is None or user.voice_profile_sealed is None:
        return None
    return open_sealed(keystore, user.voice_profile_sealed, context=_context(user_id)).decode("utf-8")


class VoiceSampleProblem(ValueError):
    """The sample cannot be used; the message says why, in plain words."""


MAX_SAMPLE_SECONDS = 180.0


def profile_from_recording(data: bytes) -> str:
    """A voice profile (JSON) from a recording of one person speaking alone, decoded in memory."""
    import io

    from sotto.pipeline.decode import decode_recording
    from sotto.pipeline.stages import PipelineError
    from sotto.pipeline.voice import profile_from_samples

    try:
        samples = decode_recording(io.BytesIO(data), mono=True, max_seconds=MAX_SAMPLE_SECONDS)[0]
        return profile_from_samples(samples).to_json()
    except PipelineError as exc:
        raise VoiceSampleProblem(exc.message) from None
    except ValueError:  # too little speech to enrol
        raise VoiceSampleProblem(
            "The sample has too little speech: record at least 10 seconds of you talking alone."
        ) from None
