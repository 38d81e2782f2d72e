"""A redacted transcript to bytes and back, as it is stored (encrypted) once redacted."""

from __future__ import annotations

import json

import pytest

from sotto.pipeline.serialise import dump_transcript, load_transcript
from sotto.pipeline.types import Removal, Segment, Span, Transcript, Word


def transcript(removal: Removal | None) -> Transcript:
    words = [Word("[Name 1]", 0.0, 0.4, 0.9), Word("called", 0.4, 0.9, 0.95)]
    segment = Segment(0.0, 0.9, "[Name 1] called", speaker="client", channel=1, words=words)
    span = Span(segment=0, start=0, end=8, kind="NAME", category="phi", placeholder="[Name 1]", t0=0.0, t1=0.4)
    return Transcript(duration=0.9, segments=[segment], spans=[span], removal=removal)


@pytest.mark.parametrize("removal", [Removal(identifiers=True, topics=["sogi", "trauma"]), None])
def test_a_transcript_comes_back_as_it_was_stored(removal: Removal | None) -> None:
    stored = transcript(removal)
    assert load_transcript(dump_transcript(stored)) == stored


def test_a_transcript_stored_before_its_removal_was_kept_reads_as_not_known() -> None:
    raw = json.loads(dump_transcript(transcript(Removal(identifiers=True, topics=[]))))
    del raw["removal"]
    assert load_transcript(json.dumps(raw).encode()).removal is None


def test_bytes_that_are_not_a_stored_transcript_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown transcript format"):
        load_transcript(b'{"format": 99}')
    with pytest.raises(ValueError, match="not a stored transcript"):
        load_transcript(b"not json")
