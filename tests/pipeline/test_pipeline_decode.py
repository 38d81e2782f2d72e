"""Decoding every accepted format from memory, combining a session's recordings, and echo removal."""

from __future__ import annotations

import io

import numpy as np
import pytest
from spoken_session import wav_bytes

from sotto.pipeline.crosstalk import suppress_crosstalk
from sotto.pipeline.decode import SAMPLE_RATE, AudioSource, decode_recording, decode_sources
from sotto.pipeline.stages import PipelineError
from support.audio import FORMATS, recording


def tone(seconds: float, hz: float, rate: int = 16_000, level: float = 0.3) -> np.ndarray:
    return (level * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_accepted_format_decodes_to_16khz_float32_with_channels_apart(fmt: str) -> None:
    data = recording(fmt, seconds=2.0, channels=2)  # a different tone on each channel
    audio = decode_sources([AudioSource(io.BytesIO(data))], max_seconds=60)
    assert audio.sample_rate == SAMPLE_RATE
    assert len(audio.channels) == 2
    assert all(c.dtype == np.float32 for c in audio.channels)
    assert audio.duration == pytest.approx(2.0, abs=0.08)
    spectra = [np.abs(np.fft.rfft(c[:SAMPLE_RATE])) for c in audio.channels]
    assert [int(np.argmax(s)) for s in spectra] == [440, 880]


def test_a_mono_recording_stored_as_stereo_is_one_channel() -> None:
    signal = tone(1.0, 300)
    audio = decode_sources([AudioSource(io.BytesIO(wav_bytes([signal, signal], 16_000)))], max_seconds=60)
    assert len(audio.channels) == 1
    assert np.allclose(audio.channels[0], signal, atol=1e-3)


def test_restarted_recordings_are_joined_per_channel_and_padded() -> None:
    first, second, call = tone(1.0, 200), tone(0.5, 400), tone(2.0, 600)
    audio = decode_sources(
        [
            AudioSource(io.BytesIO(wav_bytes([first], 16_000)), channel=0),
            AudioSource(io.BytesIO(wav_bytes([call], 16_000)), channel=1),
            AudioSource(io.BytesIO(wav_bytes([second], 16_000)), channel=0),
        ],
        max_seconds=60,
    )
    assert len(audio.channels) == 2 and audio.duration == pytest.approx(2.0)
    microphone = audio.channels[0]
    assert np.allclose(microphone[:16_000], first, atol=1e-3)
    assert np.allclose(microphone[16_000:24_000], second, atol=1e-3)
    assert not microphone[24_000:].any()


def test_a_recording_with_a_start_time_is_placed_there() -> None:
    audio = decode_sources(
        [
            AudioSource(io.BytesIO(wav_bytes([tone(1.0, 200)], 16_000)), channel=0),
            AudioSource(io.BytesIO(wav_bytes([tone(1.0, 300)], 16_000)), channel=0, start=3.0),
        ],
        max_seconds=60,
    )
    assert audio.duration == pytest.approx(4.0)
    assert not audio.channels[0][16_000:48_000].any()
    assert audio.channels[0][48_000:].any()


def test_a_channel_left_without_a_recording_is_silence_and_the_others_keep_their_numbers() -> None:
    # Only the call's recording is left (the microphone's was cut off and destroyed).
    call = tone(2.0, 600)
    audio = decode_sources([AudioSource(io.BytesIO(wav_bytes([call], 16_000)), channel=1)], max_seconds=60)
    assert len(audio.channels) == 2 and audio.duration == pytest.approx(2.0)
    assert not audio.channels[0].any()
    assert np.allclose(audio.channels[1], call, atol=1e-3)


def test_recordings_overlapping_on_one_channel_are_refused() -> None:
    sources = [
        AudioSource(io.BytesIO(wav_bytes([tone(5.0, 200)], 16_000)), channel=0),
        AudioSource(io.BytesIO(wav_bytes([tone(1.0, 300)], 16_000)), channel=0, start=2.0),
    ]
    with pytest.raises(PipelineError) as caught:
        decode_sources(sources, max_seconds=60)
    assert caught.value.kind == "overlap"


def test_a_stereo_file_can_be_mixed_down_onto_one_channel() -> None:
    data = recording("wav", seconds=1.0, channels=2)
    [signal] = decode_recording(io.BytesIO(data), mono=True, max_seconds=60)
    assert len(signal) == pytest.approx(16_000, abs=16)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (b"%PDF-1.7 not a recording at all" * 10, "not_audio"),
        (recording("wav", seconds=1.0)[:44], "damaged"),  # the header, cut off before any sound
    ],
    ids=["no-bytes", "a-pdf", "header-only"],
)
def test_unusable_bytes_are_refused_with_a_reason(data: bytes, kind: str) -> None:
    with pytest.raises(PipelineError) as caught:
        decode_sources([AudioSource(io.BytesIO(data))], max_seconds=60)
    assert caught.value.kind == kind
    assert caught.value.message


def test_a_recording_over_the_limit_is_refused_while_decoding() -> None:
    with pytest.raises(PipelineError) as caught:
        decode_sources([AudioSource(io.BytesIO(recording("flac", seconds=3.0)))], max_seconds=1.0)
    assert caught.value.kind == "too_long"


def test_a_faint_echo_of_the_other_channel_is_silenced_but_overlapping_speech_is_kept() -> None:
    second = 16_000
    therapist = np.concatenate([tone(1.0, 220), np.zeros(second, np.float32), tone(1.0, 230)])
    client = np.concatenate([np.zeros(second, np.float32), tone(1.0, 330), tone(1.0, 340)])
    microphone = therapist + 0.03 * client  # the call heard faintly through a loudspeaker
    channels = [microphone.copy(), client.copy()]
    suppress_crosstalk(channels)
    assert not channels[0][second + 800 : 2 * second - 800].any()  # the echo alone: silenced
    assert np.allclose(channels[0][: second - 800], therapist[: second - 800])  # own speech: kept
    assert np.allclose(channels[0][2 * second + 800 :], microphone[2 * second + 800 :])  # both at once: kept
    assert np.allclose(channels[1][second + 800 :], client[second + 800 :])
