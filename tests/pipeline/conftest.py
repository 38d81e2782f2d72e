"""Shared, session-scoped material for the pipeline tests: the synthesized session and its runs.

Transcribing the five-minute session takes most of this directory's test time, so each
variant (one mixed channel, two channels) is run once and shared.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from spoken_session import SpokenSession, build_session, espeak_available, wav_bytes

from sotto.pipeline.decode import AudioSource
from sotto.pipeline.redaction import PassThroughStandIn
from sotto.pipeline.service import PipelineOptions, PipelineResult, run_pipeline

AUDIO = Path(__file__).resolve().parents[3] / "shared" / "audio"


@pytest.fixture(scope="session")
def shared_audio() -> Path:
    if not (AUDIO / "jfk.flac").is_file():
        pytest.fail(f"the shared test recordings are missing from {AUDIO}")
    return AUDIO


@pytest.fixture(scope="session")
def options() -> PipelineOptions:
    return PipelineOptions(redactor=PassThroughStandIn())


@pytest.fixture(scope="session")
def spoken() -> SpokenSession:
    if not espeak_available():
        pytest.fail("espeak-ng is needed to synthesize the test session (apt-get install espeak-ng)")
    return build_session()


@pytest.fixture(scope="session")
def mixed_wav(spoken: SpokenSession) -> bytes:
    return wav_bytes([spoken.mixed()])


@pytest.fixture(scope="session")
def mixed_run(mixed_wav: bytes, options: PipelineOptions) -> PipelineResult:
    """The session as one room microphone hears it, through the whole pipeline."""
    return run_pipeline([AudioSource(io.BytesIO(mixed_wav))], options=options)


@pytest.fixture(scope="session")
def split_run(spoken: SpokenSession, options: PipelineOptions) -> PipelineResult:
    """The session as a two-channel recording: therapist microphone (hearing the call faintly
    at -26 dB) on the left, call audio on the right."""
    data = wav_bytes(spoken.split(bleed_db=-26.0))
    return run_pipeline([AudioSource(io.BytesIO(data))], options=options)
