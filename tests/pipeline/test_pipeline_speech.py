"""The real speech model on real and synthesized speech: words, silence, and who said them."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from spoken_session import CLIENT_VOICE, RATE, SpokenSession, expected_speakers, speak, wav_bytes

from sotto.pipeline.decode import AudioSource, decode_recording
from sotto.pipeline.service import PipelineOptions, PipelineResult, run_pipeline
from sotto.pipeline.speakers import attribute_speakers
from sotto.pipeline.types import Audio, Transcript
from sotto.pipeline.voice import profile_from_samples

pytestmark = pytest.mark.slow


def plain(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def attribution(transcript: Transcript, spoken: SpokenSession) -> float:
    """The share of recognised words labelled with someone who was speaking when it was said."""
    pairs = [(w, s.speaker) for s in transcript.segments for w in s.words]
    right = sum(speaker in expected_speakers(spoken.turns, w.start, w.end) for w, speaker in pairs)
    return right / len(pairs)


def test_jfk_is_transcribed_word_for_word(shared_audio: Path, options: PipelineOptions) -> None:
    with (shared_audio / "jfk.flac").open("rb") as recording:
        result = run_pipeline([AudioSource(recording)], options=options)
    text = plain(" ".join(s.text for s in result.transcript.segments))
    assert "ask not what your country can do for you" in text
    assert "ask what you can do for your country" in text
    assert result.transcript.duration == pytest.approx(11.0, abs=0.1)
    words = [w for s in result.transcript.segments for w in s.words]
    assert all(0.0 <= w.start <= w.end <= 11.1 for w in words)


def test_two_minutes_of_room_noise_and_silence_give_no_words(options: PipelineOptions) -> None:
    rng = np.random.default_rng(11)
    second = 16_000
    hum = 0.05 * np.sin(2 * np.pi * 50 * np.arange(30 * second) / second)
    rumble = np.cumsum(rng.standard_normal(30 * second))
    rumble -= np.convolve(rumble, np.ones(801) / 801, mode="same")
    noise = np.concatenate(
        [
            0.03 * rng.standard_normal(30 * second),  # fan-like hiss
            0.2 * rumble / np.abs(rumble).max(),  # traffic-like rumble
            hum + 0.005 * rng.standard_normal(30 * second),  # mains hum
            np.zeros(30 * second),  # digital silence
        ]
    ).astype(np.float32)
    result = run_pipeline([AudioSource(io.BytesIO(wav_bytes([noise], 16_000)))], options=options)
    assert result.transcript.segments == []
    assert result.transcript.duration == pytest.approx(120.0, abs=0.01)


def test_stereo_file_gives_each_channel_its_own_speaker(shared_audio: Path, options: PipelineOptions) -> None:
    with (shared_audio / "stereo_diarization.wav").open("rb") as recording:
        result = run_pipeline([AudioSource(recording)], options=options)
    said = {
        speaker: plain(" ".join(s.text for s in result.transcript.segments if s.speaker == speaker))
        for speaker in ("therapist", "client")
    }
    assert "confused complaint against the wizard" in said["therapist"]
    assert "curtain" in said["therapist"]
    assert "horizon" in said["client"]
    assert "wizard" not in said["client"] and "horizon" not in said["therapist"]


def test_one_microphone_session_attributes_at_least_95_percent_of_words(
    mixed_run: PipelineResult, spoken: SpokenSession
) -> None:
    assert spoken.duration >= 300
    words = sum(len(s.words) for s in mixed_run.transcript.segments)
    assert words >= 0.85 * spoken.reference_words()
    assert attribution(mixed_run.transcript, spoken) >= 0.95
    # The therapist opens the session and asks the questions.
    assert mixed_run.transcript.segments[0].speaker == "therapist"
    questions = [s for s in mixed_run.transcript.segments if s.text.endswith("?")]
    assert sum(s.speaker == "therapist" for s in questions) >= 0.8 * len(questions)


def test_one_microphone_segments_are_turns_in_time_order(mixed_run: PipelineResult) -> None:
    segments = mixed_run.transcript.segments
    assert [s.start for s in segments] == sorted(s.start for s in segments)
    assert all(a.speaker != b.speaker or b.start - a.end > 2.0 for a, b in itertools.pairwise(segments))
    assert all(s.text == " ".join(w.text for w in s.words) for s in segments)
    assert set(mixed_run.timings) == {"decode", "transcribe", "speakers", "redact"}


def test_two_channel_session_is_attributed_by_channel_without_the_echo(
    split_run: PipelineResult, spoken: SpokenSession
) -> None:
    segments = split_run.transcript.segments
    assert {s.speaker for s in segments} == {"therapist", "client"}
    assert all(s.channel == (0 if s.speaker == "therapist" else 1) for s in segments)
    assert attribution(split_run.transcript, spoken) >= 0.98
    # The client's faint echo on the therapist's microphone is not transcribed as the therapist's.
    words = sum(len(s.words) for s in segments)
    assert words <= 1.1 * spoken.reference_words()
    # The turns that overlap keep both voices.
    overlapping = [(a, b) for a, b in itertools.pairwise(segments) if b.start < a.end]
    assert overlapping and all(a.speaker != b.speaker for a, b in overlapping)


def test_enrolled_voice_decides_who_is_the_therapist(
    mixed_run: PipelineResult, mixed_wav: bytes, spoken: SpokenSession
) -> None:
    # Enrol the *client's* voice as if it were the therapist's: the labels must follow the voice,
    # not the questions or who spoke first.
    sample = np.concatenate(
        [
            speak("The weather turned cold this afternoon, so I brought a heavier coat and a scarf.", CLIENT_VOICE),
            speak("Reading before bed has become a habit that I really look forward to every evening.", CLIENT_VOICE),
        ]
    )
    samples = decode_recording(io.BytesIO(wav_bytes([sample], RATE)), mono=True, max_seconds=60)[0]
    profile = profile_from_samples(samples)
    audio = Audio(16_000, decode_recording(io.BytesIO(mixed_wav), mono=True, max_seconds=3600), 0.0)
    relabelled = attribute_speakers(mixed_run.transcript, audio, speakers=2, therapist_voice=profile)
    swapped = {"therapist": "client", "client": "therapist"}
    pairs = [(w, s.speaker) for s in relabelled.segments for w in s.words]
    right = sum(swapped[speaker] in expected_speakers(spoken.turns, w.start, w.end) for w, speaker in pairs)
    assert right / len(pairs) >= 0.95
