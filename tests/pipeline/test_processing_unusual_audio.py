"""The processing job on recordings that are valid but unusual: many channels, a stream whose
channels change midway. Each is processed to a transcript, or fails with plain words and its
encrypted original kept; never a crash of the worker, never an internal error."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from spoken_session import RATE, espeak_available, speak, wav_bytes
from sqlalchemy import select

from sotto.db import session_scope
from sotto.pipeline.decode import decode_recording
from sotto.recording import service as recordings
from sotto.recording.models import Recording
from sotto.runtime import Runtime
from sotto.storage.encrypted import DecryptingReader
from support.app import Person, set_practice, work_off
from support.audio import encode
from support.processing import row, stored_text, upload

pytestmark = pytest.mark.slow

LINE = "I have been sleeping badly since the spring, and I wake up tired every morning."


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    if not espeak_available():
        pytest.fail("espeak-ng is needed to synthesize the test session (apt-get install espeak-ng)")
    return speak(LINE, "en-us+m3")


def on_first_of(channels: int, speech: np.ndarray) -> bytes:
    """A WAV with the speech on its first channel and quiet noise on the others (a multitrack recorder)."""
    rng = np.random.default_rng(5)
    quiet = [(0.001 * rng.standard_normal(len(speech))).astype(np.float32) for _ in range(channels - 1)]
    return wav_bytes([speech, *quiet])


@pytest.mark.parametrize("channels", [6, 8])
def test_an_upload_with_up_to_eight_channels_is_transcribed(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, speech: np.ndarray, channels: int
) -> None:
    session_id, original = upload(runtime, web, signed_in_therapist, on_first_of(channels, speech))
    work_off(runtime)
    done = row(runtime, session_id)
    assert done.status == "processed", done.problem
    assert "sleeping" in stored_text(runtime, session_id)
    assert runtime.blobs.names(f"audio/{original}") == []


def test_joined_recordings_whose_rate_and_channels_change_midway_are_transcribed(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, speech: np.ndarray
) -> None:
    # `cat first.mp3 second.mp3`: speech, mono at 22.05 kHz, then a stereo tone at 48 kHz: one valid stream.
    joined = bare_mp3(speech) + encode("mp3", "libmp3lame", seconds=2.0, channels=2, muxer_options=BARE)
    session_id, _ = upload(runtime, web, signed_in_therapist, joined)
    work_off(runtime)
    done = row(runtime, session_id)
    assert done.status == "processed", done.problem
    assert "sleeping" in stored_text(runtime, session_id)


BARE = {"write_xing": "0", "id3v2_version": "0"}  # no ID3 tag, no Info header: MP3 frames only


def bare_mp3(samples: np.ndarray) -> bytes:
    """Mono speech as MP3 frames only, so that another MP3 can be appended to it."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp3", options=BARE) as container:
        stream = container.add_stream("libmp3lame", rate=RATE)
        stream.layout = "mono"
        pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
        for start in range(0, len(pcm), 1152):
            frame = av.AudioFrame.from_ndarray(pcm[None, start : start + 1152], format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def test_a_six_channel_upload_is_processed_when_the_practice_keeps_audio(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, speech: np.ndarray
) -> None:
    # Opus here holds one or two channels: the kept copy of six is one, mixed down.
    set_practice(runtime, audio_retention_days=30)
    session_id, _ = upload(runtime, web, signed_in_therapist, on_first_of(6, speech))
    work_off(runtime)
    done = row(runtime, session_id)
    assert done.status == "processed", done.problem
    with session_scope(runtime.sessions) as session:
        [kept] = [r for r in session.scalars(select(Recording)) if r.data_key_id is not None]
        assert kept.source == "redacted" and kept.complete
        key = recordings.load_data_key(session, keystore=runtime.keystore, key_id=kept.data_key_id)
    reader = io.BufferedReader(DecryptingReader(runtime.blobs, key, prefix="audio", object_id=kept.id))
    [mixed] = decode_recording(reader, mono=False, max_seconds=600)
    assert len(mixed) / 16_000 == pytest.approx(len(speech) / RATE, abs=0.2)  # decoded at 16 kHz
    assert float(np.abs(mixed).max()) > 0.5 * float(np.abs(speech).max()) / 6  # the speech, at a sixth
