"""Decoding every accepted format from memory, combining a session's recordings, and echo removal."""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import numpy as np
import pytest
from spoken_session import wav_bytes

from sotto.pipeline.crosstalk import suppress_crosstalk
from sotto.pipeline.decode import SAMPLE_RATE, AudioSource, decode_recording, decode_sources
from sotto.pipeline.stages import PipelineError
from support.audio import FORMATS, encode, ogg, recording, tagged_mp3, with_cover_art


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


_DECODE_FROM_STDIN = """
import io, json, sys
import numpy as np
from sotto.pipeline.decode import AudioSource, decode_sources
audio = decode_sources([AudioSource(io.BytesIO(sys.stdin.buffer.read()))], max_seconds=60)
print(json.dumps([int(np.argmax(np.abs(np.fft.rfft(c[:16000])))) for c in audio.channels]))
"""


@pytest.mark.parametrize("count", [6, 8])
def test_a_recording_with_up_to_eight_channels_decodes_each_channel_apart(count: int) -> None:
    import json
    import subprocess
    import sys

    tones = [tone(1.0, 200 + 100 * k) for k in range(count)]
    # In a child process: a crash in the decoder would take the test run down with it, as it
    # would the web process whose worker thread runs the job.
    child = subprocess.run(
        [sys.executable, "-c", _DECODE_FROM_STDIN],
        input=wav_bytes(tones, 16_000),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr.decode(errors="replace")[-2000:]
    assert json.loads(child.stdout) == [200 + 100 * k for k in range(count)]


def test_a_recording_whose_channels_change_midway_is_decoded_whole() -> None:
    # Two MP3 recordings joined end to end (`cat first.mp3 second.mp3`), mono then stereo: a valid
    # stream of frames whose layout changes halfway; the second part is mixed down to the first's.
    plain = {"write_xing": "0", "id3v2_version": "0"}
    joined = b"".join(
        encode("mp3", "libmp3lame", seconds=2.0, channels=channels, muxer_options=plain) for channels in (1, 2)
    )
    [signal] = decode_recording(io.BytesIO(joined), mono=False, max_seconds=60)
    assert len(signal) / SAMPLE_RATE == pytest.approx(4.0, abs=0.1)
    spectrum = np.abs(np.fft.rfft(signal[3 * SAMPLE_RATE : 4 * SAMPLE_RATE]))
    assert spectrum[440] > 10 * np.median(spectrum)  # the stereo half is there, not silence


_COVER_PHOTO = random.Random(11).randbytes(40_000)  # bytes that hold chance MPEG frame syncs


@pytest.mark.parametrize(
    "make",
    [
        lambda: tagged_mp3(2.0, 1) + tagged_mp3(2.0, 2),
        lambda: tagged_mp3(2.0, 1, id3v1=True) + with_cover_art(tagged_mp3(2.0, 2), _COVER_PHOTO),
        lambda: ogg("opus", 2.0, 1) + ogg("opus", 2.0, 2),
        lambda: ogg("vorbis", 2.0, 2) + ogg("opus", 2.0, 2),
    ],
    ids=["mp3-each-with-its-id3-tag", "mp3-with-id3v1-then-cover-art", "ogg-opus-chain", "ogg-vorbis-then-opus"],
)
def test_recordings_joined_end_to_end_decode_whole(make: Callable[[], bytes]) -> None:
    # `cat first second`: two whole recordings, each with its own headers (an ID3 tag, an Ogg
    # link's header pages), the second part stereo. Each part is decoded from its own start: its
    # tag is skipped, not decoded as sound, and nothing is lost at the join.
    [signal, *_] = decode_recording(io.BytesIO(make()), mono=False, max_seconds=60)
    assert len(signal) / SAMPLE_RATE == pytest.approx(4.0, abs=0.01)
    for second in range(4):
        spectrum = np.abs(np.fft.rfft(signal[second * SAMPLE_RATE : (second + 1) * SAMPLE_RATE]))
        assert spectrum[440] > 10 * np.median(spectrum), second  # the tone throughout, both parts


def test_a_chained_ogg_whose_first_link_was_cut_off_is_refused_as_damaged() -> None:
    first, second = ogg("opus", 2.0, 1), ogg("opus", 2.0, 1)
    with pytest.raises(PipelineError) as caught:
        decode_recording(io.BytesIO(first[: len(first) // 2] + second), mono=True, max_seconds=60)
    assert caught.value.kind == "damaged"


def test_a_header_claiming_years_of_sound_does_not_reserve_memory_for_them() -> None:
    # A damaged MP3 header (or a voice sample, decoded without the upload's checks) may claim any
    # length: room is reserved for no more than the limit, and the sound that is there is decoded.
    data = bytearray(recording("mp3", seconds=2.0))
    info = max(data.find(b"Info"), data.find(b"Xing"))
    assert info > 0 and data[info + 7] & 1  # the header counts its frames
    data[info + 8 : info + 12] = (0x7FFFFFFF).to_bytes(4, "big")  # about 1,600 years at 48 kHz
    [signal] = decode_recording(io.BytesIO(bytes(data)), mono=True, max_seconds=600)
    assert len(signal) / SAMPLE_RATE == pytest.approx(2.0, abs=0.1)


def test_sound_in_a_codec_ffmpeg_does_not_know_is_refused_as_unsupported_not_damaged() -> None:
    data = recording("webm", seconds=1.0)
    assert data.count(b"A_OPUS") == 1
    with pytest.raises(PipelineError) as caught:
        decode_recording(io.BytesIO(data.replace(b"A_OPUS", b"A_ZZZZ")), mono=True, max_seconds=60)
    assert caught.value.kind == "unsupported"
    assert "damaged" not in caught.value.message


def float_wav(signal: np.ndarray, rate: int = 16_000) -> bytes:
    """A mono 32-bit float WAV (format tag 3), which can hold samples that are not numbers."""
    import struct

    data = signal.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    return (
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data))
        + b"WAVEfmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_samples_that_are_not_numbers_are_decoded_as_silence(bad: float) -> None:
    # A damaged float WAV: nothing in the file can tell, and one such sample would cost the
    # transcript of everything around it (and make transcribing a hundred times slower).
    signal = tone(2.0, 300)
    signal[8_000:9_000] = bad
    [decoded] = decode_recording(io.BytesIO(float_wav(signal)), mono=True, max_seconds=60)
    assert np.isfinite(decoded).all()
    assert np.allclose(decoded[20_000:], signal[20_000:], atol=1e-3)  # the sound after it is untouched
