"""The "redact" stage: identifiers and sensitive passages removed from the transcript, in one pass.

Identifier (PHI) and topic removal run together because a removed passage swallows any
identifier that straddles its edge, and every span's offsets must point into the text as
transcribed. The stage hands the transcript to ``PipelineOptions.redactor``; a run that
includes the stage without a redactor is refused, never quietly left unredacted. (Separate
"phi" and "topics" stages can still be registered by whoever needs them.)

* `PrivacyEngineRedactor` adapts ``sotto.privacy.engine.Redactor`` (turns in, texts and
  spans out) to the transcript: it also redacts the word list and gives each span the time
  it covers (``t0``/``t1``), for silencing retained audio.
* `PassThroughStandIn` removes nothing and says so: for tests of the other stages only; never
  for stored transcripts, and `sotto process` refuses to run without the privacy engine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from sotto.pipeline.stages import ReportFraction, Work, register_stage
from sotto.pipeline.types import Removal, Segment, Span, Transcript, Word

if TYPE_CHECKING:
    from sotto.pipeline.service import PipelineOptions


class TranscriptRedactor(Protocol):
    """Takes a transcript and returns it with passages replaced and each removal listed in ``spans``."""

    def __call__(self, transcript: Transcript) -> Transcript: ...


class PassThroughStandIn:
    """STAND-IN for the privacy engine: removes nothing. Only for tests about other stages."""

    note = "STAND-IN: identifiers and sensitive topics were NOT removed (sotto.privacy is not available)"

    def __call__(self, transcript: Transcript) -> Transcript:
        return transcript


class PrivacyEngineRedactor:
    """``sotto.privacy.engine.Redactor`` over a transcript: each segment is one turn."""

    def __init__(self, settings: Any = None) -> None:
        from sotto.privacy.engine import default_redactor
        from sotto.privacy.settings import PrivacySettings

        self._engine = default_redactor()  # loads its language models once per process
        self._settings = settings if settings is not None else PrivacySettings.default()

    def __call__(self, transcript: Transcript) -> Transcript:
        turns = [(segment.speaker, segment.text) for segment in transcript.segments]
        result = self._engine.redact_turns(turns, self._settings)
        applied = Removal(identifiers=self._settings.phi_removal, topics=sorted(self._settings.topics))
        return replace(apply_redaction(transcript, result.texts, result.spans), removal=applied)


def apply_redaction(transcript: Transcript, texts: list[str], spans: list[Span]) -> Transcript:
    """The transcript with each segment's redacted text, the words inside a removed span replaced
    by one word holding its placeholder (over the same time), and each span's time filled in."""
    by_segment: dict[int, list[Span]] = {}
    for span in spans:
        by_segment.setdefault(span.segment, []).append(span)
    segments: list[Segment] = []
    timed: list[Span] = []
    for index, (segment, text) in enumerate(zip(transcript.segments, texts, strict=True)):
        own = sorted(by_segment.get(index, []), key=lambda s: s.start)
        words, own = _redact_words(segment, own)
        segments.append(replace(segment, text=text, words=words))
        timed.extend(own)
    return replace(transcript, segments=segments, spans=[*transcript.spans, *timed])


def _redact_words(segment: Segment, spans: list[Span]) -> tuple[list[Word], list[Span]]:
    if not spans:
        return list(segment.words), spans
    offsets = _word_offsets(segment)
    if offsets is None:  # the words do not spell the text: keep none of them rather than leak one
        placeholder = Word(" ".join(s.placeholder for s in spans), segment.start, segment.end)
        return [placeholder], [replace(s, t0=segment.start, t1=segment.end) for s in spans]
    words: list[Word] = []
    timed: list[Span] = []
    taken = [False] * len(segment.words)
    for span in spans:
        inside = [n for n, (a, b) in enumerate(offsets) if a < span.end and b > span.start]
        if not inside:
            timed.append(span)
            continue
        first, last = segment.words[inside[0]], segment.words[inside[-1]]
        timed.append(replace(span, t0=first.start, t1=last.end))
        for n in inside:
            taken[n] = True
        words.append(Word(span.placeholder, first.start, last.end))
    words.extend(w for w, gone in zip(segment.words, taken, strict=True) if not gone)
    words.sort(key=lambda w: w.start)
    return words, timed


def _word_offsets(segment: Segment) -> list[tuple[int, int]] | None:
    offsets, cursor = [], 0
    for word in segment.words:
        at = segment.text.find(word.text, cursor)
        if at < 0:
            return None
        offsets.append((at, at + len(word.text)))
        cursor = at + len(word.text)
    return offsets


@dataclass
class RedactionStage:
    """Runs the redactor over the transcript."""

    redactor: TranscriptRedactor
    name: str = "redact"

    def run(self, work: Work, report: ReportFraction) -> None:
        work.transcript = self.redactor(work.require_transcript(self.name))
        note = getattr(self.redactor, "note", None)
        if note:
            work.notes.append(f"{self.name}: {note}")
        report(1.0)


def _build(options: PipelineOptions) -> RedactionStage:
    if options.redactor is None:
        raise ValueError("the 'redact' stage needs a redactor: give PipelineOptions(redactor=...)")
    return RedactionStage(redactor=options.redactor)


register_stage("redact", _build)
