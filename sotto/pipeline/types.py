"""The plain dataclasses that pipeline stages hand each other. Stages never import each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Word:
    """One recognised word with its time in the session audio (seconds)."""

    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass
class Segment:
    """A stretch of speech by one speaker: the unit a transcript is shown in."""

    start: float
    end: float
    text: str
    speaker: str = "unknown"  # "therapist", "client", "client2", ...
    channel: int = 0
    words: list[Word] = field(default_factory=list)


@dataclass
class Span:
    """Something removed from a segment: an identifier (kind = PHI type) or a passage (kind = topic).

    ``start``/``end`` are character offsets into the segment's original text; ``t0``/``t1``
    the time it covers in the audio (for silencing retained audio), when known.
    """

    segment: int
    start: int
    end: int
    kind: str
    category: str  # "phi" or "topic"
    placeholder: str
    t0: float | None = None
    t1: float | None = None


@dataclass
class Audio:
    """Decoded audio: one float32 mono 16 kHz signal per channel, kept in memory only."""

    sample_rate: int
    channels: list[Any]  # numpy float32 arrays, one per channel (kept loose: numpy comes with the speech stack)
    duration: float


@dataclass
class Removal:
    """What the redaction was set to remove, kept with the transcript so that what is said of it
    (the client's copy) stays true after the practice changes its settings."""

    identifiers: bool
    topics: list[str]


@dataclass
class Transcript:
    """What flows through the stages. ``spans`` fill in as identifiers and passages are removed;
    ``removal`` says what the redaction was set to remove (None: not redacted, or stored before
    Sotto kept this)."""

    duration: float
    segments: list[Segment] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    language: str = "en"
    removal: Removal | None = None
