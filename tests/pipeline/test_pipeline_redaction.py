"""The redaction stage's adapter: redacted text, redacted words, and the time each removal covers."""

from __future__ import annotations

import pytest

from sotto.pipeline.redaction import PrivacyEngineRedactor, apply_redaction
from sotto.pipeline.types import Segment, Span, Transcript, Word


def segment_of(speaker: str, *words: tuple[str, float, float]) -> Segment:
    items = [Word(text, start, end) for text, start, end in words]
    return Segment(items[0].start, items[-1].end, " ".join(w.text for w in items), speaker=speaker, words=items)


def session() -> Transcript:
    return Transcript(
        duration=10.0,
        segments=[
            segment_of(
                "therapist",
                ("Good", 0.0, 0.3),
                ("to", 0.3, 0.4),
                ("see", 0.4, 0.6),
                ("you,", 0.6, 0.8),
                ("Maria.", 0.9, 1.4),
            ),
            segment_of("client", ("Thanks.", 2.0, 2.5)),
        ],
    )


def test_removed_words_leave_the_word_list_and_spans_get_their_time() -> None:
    transcript = session()
    span = Span(segment=0, start=17, end=22, kind="NAME", category="phi", placeholder="[Name 1]")
    redacted = apply_redaction(transcript, ["Good to see you, [Name 1].", "Thanks."], [span])
    first = redacted.segments[0]
    assert first.text == "Good to see you, [Name 1]."
    assert [w.text for w in first.words] == ["Good", "to", "see", "you,", "[Name 1]"]
    assert (first.words[-1].start, first.words[-1].end) == (0.9, 1.4)
    assert redacted.spans == [Span(0, 17, 22, "NAME", "phi", "[Name 1]", t0=0.9, t1=1.4)]
    assert redacted.segments[1] == transcript.segments[1]
    assert "Maria" not in repr(redacted)


def test_words_that_do_not_spell_the_text_are_all_dropped_rather_than_leaked() -> None:
    transcript = session()
    transcript.segments[0].words[4] = Word("Mariah.", 0.9, 1.4)  # the text and its words disagree
    span = Span(segment=0, start=17, end=22, kind="NAME", category="phi", placeholder="[Name 1]")
    redacted = apply_redaction(transcript, ["Good to see you, [Name 1].", "Thanks."], [span])
    assert [w.text for w in redacted.segments[0].words] == ["[Name 1]"]
    assert "Maria" not in repr(redacted.segments[0])


def test_the_privacy_engine_redacts_a_transcript_end_to_end() -> None:
    pytest.importorskip("sotto.privacy.engine")
    try:
        redactor = PrivacyEngineRedactor()
    except ImportError as exc:  # its language models belong to sotto.privacy's install
        pytest.skip(f"sotto.privacy cannot load: {exc}")
    redacted = redactor(session())
    assert "Maria" not in redacted.segments[0].text
    assert all("Maria" not in w.text for w in redacted.segments[0].words)
    [span] = [s for s in redacted.spans if s.kind == "NAME"]
    assert span.category == "phi" and (span.t0, span.t1) == (0.9, 1.4)
