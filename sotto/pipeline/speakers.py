"""The "speakers" stage: who said each word, labelled "therapist", "client", "client2", ...

Two or more channels name the speakers outright: channel 0 is the therapist's microphone,
channel 1 the call (the client), further channels client2 and on. A word heard on two
channels at once (the therapist's microphone picking up the call from a loudspeaker) is
kept only on the channel where it is loudest. Overlapping speech stays on both channels.
When more speakers are asked for than there are channels, the extra voices share the call
channel, which is then separated like a single channel.

One channel is separated into voices (`sotto.pipeline.diarize`). Which voice is the
therapist: the one closest to an enrolled voice profile when there is one; otherwise the
one who asks clearly more questions; otherwise whoever spoke first. The other voices are
clients in order of their first word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from sotto.pipeline.diarize import Diarization, diarize_words
from sotto.pipeline.stages import ReportFraction, Work, register_stage
from sotto.pipeline.types import Audio, Segment, Transcript, Word
from sotto.pipeline.voice import RATE, VoiceProfile

# Consecutive pieces by one speaker join into one segment across pauses up to this long,
# as long as the segment stays readable.
JOIN_PAUSE_SECONDS = 2.0
LONGEST_SEGMENT_SECONDS = 60.0
BLEED_DB = 6.0  # the same word this much quieter on another channel is that channel's echo
QUESTION_MARGIN = 0.15  # share of sentences ending in "?" by which the therapist must lead
QUESTIONS_NEEDED = 3


def speaker_label(index: int) -> str:
    """0 → "therapist", 1 → "client", 2 → "client2", ..."""
    return "therapist" if index == 0 else "client" if index == 1 else f"client{index}"


def attribute_speakers(
    transcript: Transcript,
    audio: Audio,
    *,
    speakers: int,
    therapist_voice: VoiceProfile | None = None,
    report: ReportFraction | None = None,
) -> Transcript:
    """The transcript with every segment's speaker set, split where the speaker changes."""
    if len(audio.channels) == 1:
        segments = _by_voice(transcript.segments, audio.channels[0], speakers=speakers, profile=therapist_voice)
    else:
        segments = _by_channel(transcript.segments, audio)
        extra = speakers - len(audio.channels)
        if extra > 0 and len(audio.channels) == 2:  # several people on the call
            call = [s for s in segments if s.channel == 1]
            own = [s for s in segments if s.channel != 1]
            separated = _by_voice(call, audio.channels[1], speakers=extra + 1, profile=None, first_label=1)
            segments = own + separated
    if report is not None:
        report(1.0)
    return replace(transcript, segments=join_turns(segments))


def _by_channel(segments: Sequence[Segment], audio: Audio) -> list[Segment]:
    echoes = _echoes(segments, audio)
    result = []
    for index, segment in enumerate(segments):
        kept = [w for n, w in enumerate(segment.words) if (index, n) not in echoes]
        if kept:
            result.append(_piece(kept, speaker_label(segment.channel), segment.channel))
    return result


def _echoes(segments: Sequence[Segment], audio: Audio) -> set[tuple[int, int]]:
    """(segment, word) positions of words that are another channel's louder word heard faintly."""
    by_channel: dict[int, list[tuple[float, float, str, tuple[int, int]]]] = {}
    for index, segment in enumerate(segments):
        for n, word in enumerate(segment.words):
            by_channel.setdefault(segment.channel, []).append((word.start, word.end, _plain(word.text), (index, n)))
    for entries in by_channel.values():
        entries.sort()
    echoes: set[tuple[int, int]] = set()
    channels = sorted(by_channel)
    for a in channels:
        for b in channels:
            if a >= b:
                continue
            for start, end, text, where in by_channel[a]:
                for other_start, other_end, other_text, other_where in _overlapping(by_channel[b], start, end):
                    if not text or text != other_text:
                        continue
                    span = (min(start, other_start), max(end, other_end))
                    level_a, level_b = _level(audio.channels[a], span), _level(audio.channels[b], span)
                    if level_a < level_b - BLEED_DB:
                        echoes.add(where)
                    elif level_b < level_a - BLEED_DB:
                        echoes.add(other_where)
    return echoes


def _overlapping(
    entries: list[tuple[float, float, str, tuple[int, int]]], start: float, end: float
) -> list[tuple[float, float, str, tuple[int, int]]]:
    # Entries are sorted by start and words last well under 3 s: look only from 3 s before.
    low, high = 0, len(entries)
    while low < high:
        middle = (low + high) // 2
        if entries[middle][0] < start - 3.0:
            low = middle + 1
        else:
            high = middle
    found = []
    for entry in entries[low:]:
        if entry[0] > end:
            break
        if entry[1] > start:
            found.append(entry)
    return found


def _level(samples: np.ndarray, span: tuple[float, float]) -> float:
    piece = samples[int(span[0] * RATE) : max(int(span[1] * RATE), int(span[0] * RATE) + 1)]
    return 10 * float(np.log10(np.mean(piece.astype(np.float64) ** 2) + 1e-12))


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9']", "", text.lower())


def _by_voice(
    segments: Sequence[Segment],
    samples: np.ndarray,
    *,
    speakers: int,
    profile: VoiceProfile | None,
    first_label: int = 0,
) -> list[Segment]:
    words = [w for s in segments for w in s.words]
    if not words:
        return []
    diarization = diarize_words(samples, words, speakers=speakers)
    voices = diarization.word_speakers
    therapist = _therapist_voice(words, voices, speakers, diarization, profile) if first_label == 0 else None
    order = _label_order(voices, therapist)
    result = []
    cursor = 0
    for segment in segments:
        own = voices[cursor : cursor + len(segment.words)]
        cursor += len(segment.words)
        start = 0
        for n in range(1, len(own) + 1):
            if n == len(own) or own[n] != own[start]:
                label = speaker_label(first_label + order[own[start]])
                result.append(_piece(segment.words[start:n], label, segment.channel))
                start = n
    return result


def _therapist_voice(
    words: Sequence[Word],
    voices: Sequence[int],
    speakers: int,
    diarization: Diarization,
    profile: VoiceProfile | None,
) -> int:
    if profile is not None:
        distances = []
        for k in range(speakers):
            own = diarization.frames.features[diarization.frame_speakers == k]
            distances.append(profile.distance(own) if len(own) else np.inf)
        return int(np.argmin(distances))
    questions = np.zeros(speakers)
    sentences = np.zeros(speakers)
    for word, voice in zip(words, voices, strict=True):
        if word.text.endswith("?"):
            questions[voice] += 1
        if word.text.endswith(("?", ".", "!")):
            sentences[voice] += 1
    share = questions / np.maximum(sentences, 1)
    ranked = np.argsort(share)[::-1]
    leader = int(ranked[0])
    if questions[leader] >= QUESTIONS_NEEDED and (speakers == 1 or share[leader] - share[ranked[1]] >= QUESTION_MARGIN):
        return leader
    return voices[0]


def _label_order(voices: Sequence[int], therapist: int | None) -> dict[int, int]:
    """Voice index → label index: the therapist 0 (if known), the rest by first appearance."""
    order: dict[int, int] = {} if therapist is None else {therapist: 0}
    for voice in voices:
        if voice not in order:
            order[voice] = len(order)
    return order


def _piece(words: Sequence[Word], speaker: str, channel: int) -> Segment:
    return Segment(
        start=words[0].start,
        end=words[-1].end,
        text=" ".join(w.text for w in words),
        speaker=speaker,
        channel=channel,
        words=list(words),
    )


def join_turns(segments: Sequence[Segment]) -> list[Segment]:
    """Segments in time order, consecutive pieces by the same speaker joined into one turn."""
    joined: list[Segment] = []
    for segment in sorted(segments, key=lambda s: (s.start, s.channel)):
        last = joined[-1] if joined else None
        if (
            last is not None
            and last.speaker == segment.speaker
            and segment.start - last.end <= JOIN_PAUSE_SECONDS
            and segment.end - last.start <= LONGEST_SEGMENT_SECONDS
        ):
            joined[-1] = _piece(last.words + segment.words, last.speaker, last.channel)
        else:
            joined.append(segment)
    return joined


@dataclass
class SpeakersStage:
    """Labels every segment with its speaker."""

    speakers: int
    therapist_voice: VoiceProfile | None = None
    name: str = "speakers"

    def run(self, work: Work, report: ReportFraction) -> None:
        transcript = work.require_transcript(self.name)
        audio = work.require_audio(self.name)
        work.transcript = attribute_speakers(
            transcript, audio, speakers=self.speakers, therapist_voice=self.therapist_voice, report=report
        )


register_stage(
    "speakers", lambda options: SpeakersStage(speakers=options.speakers, therapist_voice=options.therapist_voice)
)
