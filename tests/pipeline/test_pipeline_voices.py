"""Speaker separation on one channel, without the speech model: words placed where they were spoken."""

from __future__ import annotations

import io
from itertools import permutations

import numpy as np
import pytest
from spoken_session import SpokenSession, Turn, build_session, espeak_available, wav_bytes

from sotto.pipeline.decode import decode_recording
from sotto.pipeline.diarize import diarize_words, speech_regions
from sotto.pipeline.speakers import attribute_speakers, join_turns, speaker_label
from sotto.pipeline.types import Audio, Segment, Transcript, Word
from sotto.pipeline.voice import VoiceProfile, profile_from_samples

FAMILY = (
    ("therapist", "Thank you all for coming today. Who would like to start?", False),
    ("client", "I will. The mornings have been chaos since the school term began.", False),
    ("client2", "Chaos is a strong word. We are late maybe twice a week.", False),
    ("therapist", "It sounds like you see the mornings differently. What does a good morning look like?", False),
    ("client", "Everyone up by seven, breakfast together, and nobody shouting about shoes.", False),
    ("client2", "I would settle for the shoes part. The shouting is what gets to me.", False),
    ("therapist", "What happens in your body when the shouting starts?", False),
    ("client2", "My shoulders go tight and I stop listening. I just want to leave the room.", False),
    ("client", "And then I feel alone with the whole thing, which makes me louder.", False),
    ("therapist", "So one of you pulls away and the other pushes harder. Does that pattern sound familiar?", False),
    ("client", "Very familiar. It happens with money too, not only the mornings.", False),
    ("client2", "That is fair. I go quiet when I feel criticised.", False),
    ("therapist", "What would help you stay in the room for one more minute?", False),
    ("client2", "If the first sentence was about us as a team, not about what I did wrong.", False),
    ("client", "I can try that. I could start with what I need instead of what went wrong.", False),
    ("therapist", "Shall we practise that now, with tomorrow morning as the example?", False),
)


def placed_words(turns: list[Turn]) -> tuple[list[Word], list[str]]:
    """Each turn's words spread evenly over the time it was spoken, and who said each."""
    words, truth = [], []
    for turn in turns:
        texts = turn.text.split()
        step = (turn.end - turn.start) / len(texts)
        for n, text in enumerate(texts):
            words.append(Word(text, turn.start + n * step, turn.start + (n + 1) * step))
            truth.append(turn.speaker)
    return words, truth


def best_accuracy(found: list[int], truth: list[str]) -> float:
    names = sorted(set(truth))
    return max(
        sum(names[mapping[f]] == t for f, t in zip(found, truth, strict=True)) / len(truth)
        for mapping in permutations(range(len(names)))
    )


@pytest.fixture(scope="module")
def family() -> SpokenSession:
    if not espeak_available():
        pytest.fail("espeak-ng is needed to synthesize the test session (apt-get install espeak-ng)")
    return build_session(FAMILY, repeats=2, seed=9)


def mono(session: SpokenSession) -> np.ndarray:
    return decode_recording(io.BytesIO(wav_bytes([session.mixed()])), mono=True, max_seconds=3600)[0]


def test_three_voices_on_one_channel_are_told_apart(family: SpokenSession) -> None:
    words, truth = placed_words(family.turns)
    found = diarize_words(mono(family), words, speakers=3).word_speakers
    assert best_accuracy(found, truth) >= 0.9


def test_family_labels_are_therapist_then_clients_in_order_of_speaking(family: SpokenSession) -> None:
    words, truth = placed_words(family.turns)
    segment = Segment(words[0].start, words[-1].end, " ".join(w.text for w in words), words=words)
    samples = mono(family)
    transcript = Transcript(duration=len(samples) / 16_000, segments=[segment])
    labelled = attribute_speakers(transcript, Audio(16_000, [samples], 0.0), speakers=3)
    said = [s.speaker for s in labelled.segments for _ in s.words]
    assert sum(a == b for a, b in zip(said, truth, strict=True)) / len(truth) >= 0.9


def test_speaker_labels_follow_the_agreed_names() -> None:
    assert [speaker_label(n) for n in range(4)] == ["therapist", "client", "client2", "client3"]


def test_speech_regions_join_words_across_short_pauses() -> None:
    words = [Word("a", 0.0, 0.5), Word("b", 0.6, 1.0), Word("c", 2.0, 2.4)]
    assert speech_regions(words) == [(0.0, 1.0), (2.0, 2.4)]


def test_one_speaker_asked_for_puts_every_word_with_them(family: SpokenSession) -> None:
    words, _ = placed_words(family.turns)
    assert set(diarize_words(mono(family), words, speakers=1).word_speakers) == {0}


def test_consecutive_pieces_by_one_speaker_become_one_turn() -> None:
    def piece(start: float, speaker: str) -> Segment:
        return Segment(start, start + 1, "x", speaker=speaker, words=[Word("x", start, start + 1)])

    turns = join_turns([piece(0, "therapist"), piece(1.5, "therapist"), piece(3, "client"), piece(9, "client")])
    assert [(t.speaker, t.start, t.end, t.text) for t in turns] == [
        ("therapist", 0, 2.5, "x x"),
        ("client", 3, 4, "x"),
        ("client", 9, 10, "x"),
    ]


def test_voice_profile_survives_storage_and_prefers_its_own_voice(family: SpokenSession) -> None:
    samples = {
        speaker: decode_recording(io.BytesIO(wav_bytes([track])), mono=True, max_seconds=3600)[0]
        for speaker, track in family.tracks.items()
    }
    profile = VoiceProfile.from_json(profile_from_samples(samples["client2"]).to_json())
    distances = {speaker: profile.distance(_features(s)) for speaker, s in samples.items()}
    assert min(distances, key=distances.__getitem__) == "client2"
    with pytest.raises(ValueError):
        VoiceProfile.from_json('{"version": 2, "mean": [], "spread": []}')
    with pytest.raises(ValueError, match="at least"):
        profile_from_samples(samples["client2"][:16_000])


def _features(samples: np.ndarray) -> np.ndarray:
    from sotto.pipeline.voice import speech_frames, voiced

    frames = speech_frames(samples, [(0.0, len(samples) / 16_000)])
    return frames.select(voiced(frames)).features


def test_two_clients_on_the_call_channel_are_told_apart(family: SpokenSession) -> None:
    words, truth = placed_words(family.turns)
    on_call = [(w, t) for w, t in zip(words, truth, strict=True) if t != "therapist"]
    in_room = [w for w, t in zip(words, truth, strict=True) if t == "therapist"]
    call_words = [w for w, _ in on_call]
    segments = [
        Segment(in_room[0].start, in_room[-1].end, " ".join(w.text for w in in_room), channel=0, words=in_room),
        Segment(
            call_words[0].start, call_words[-1].end, " ".join(w.text for w in call_words), channel=1, words=call_words
        ),
    ]
    call = family.tracks["client"] + family.tracks["client2"]
    channels = decode_recording(io.BytesIO(wav_bytes([family.therapist, call])), mono=False, max_seconds=3600)
    transcript = Transcript(duration=family.duration, segments=segments)
    labelled = attribute_speakers(transcript, Audio(16_000, channels, family.duration), speakers=3)
    said = {(w.start, w.end): s.speaker for s in labelled.segments for w in s.words}
    assert all(said[(w.start, w.end)] == "therapist" for w in in_room)
    found = [said[(w.start, w.end)] for w in call_words]
    expected = [t for _, t in on_call]
    assert set(found) == {"client", "client2"}
    agree = sum(a == b for a, b in zip(found, expected, strict=True)) / len(found)
    assert max(agree, 1 - agree) >= 0.9
