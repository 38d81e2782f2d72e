"""Redact a session: identifiers become typed placeholders, sensitive passages a neutral marker.

    redactor = Redactor()                      # loads spaCy and Presidio once
    result = redactor.redact_turns([("therapist", "Hi, Maria."), ...], PrivacySettings.default())
    result.texts    # ["Hi, [Name 1].", ...]
    result.spans    # what was removed, with offsets into the original turns

Nothing here logs, prints or keeps transcript text: only counts leave this module besides the
result itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache

from sotto.pipeline.types import Span
from sotto.privacy.found import Found, Stretches
from sotto.privacy.passage_model import bottom_layers_shared, identifier_model, passage_model
from sotto.privacy.phi import PhiFinder
from sotto.privacy.phi_model import joined, model_identifiers
from sotto.privacy.placeholders import PlaceholderBook
from sotto.privacy.propagation import propagate_names
from sotto.privacy.settings import PrivacySettings
from sotto.privacy.topics import Passage, find_passages

#: Whether the identifier model's findings join the rules' (``phi_model``; a study aid can turn them off).
IDENTIFIERS_READ = True


@dataclass
class RedactionResult:
    """The redacted text of each turn, and every removed span (``Span.segment`` is the turn index)."""

    texts: list[str]
    spans: list[Span] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """How many identifiers of each type and passages of each category were removed."""
        return dict(Counter(span.kind for span in self.spans))


class Redactor:
    """Loads the language models once; then redacts any number of sessions."""

    def __init__(self) -> None:
        self._phi = PhiFinder()
        # Loaded now so that a missing model stops the caller before any session is redacted.
        passage_model()
        identifier_model()

    def redact_turns(self, turns: list[tuple[str, str]], settings: PrivacySettings) -> RedactionResult:
        """Redact one session given as (speaker, text) pairs, in order.

        Placeholders are numbered across the whole session, so "[Name 1]" is one person
        throughout. Turns keep their order and count; an empty turn stays empty.
        """
        texts = [text for _, text in turns]
        speakers = [speaker for speaker, _ in turns] if all(speaker for speaker, _ in turns) else None
        found: list[list[Found]] = [[] for _ in texts]
        with bottom_layers_shared():
            # One reading by the identifier model serves both: its topic head joins the passage model's.
            reading = None
            if settings.topics or (settings.phi_removal and IDENTIFIERS_READ):
                reading = identifier_model().read(texts, speakers)
            passages = find_passages(texts, settings.topics, speakers, identifiers=reading)
            if settings.phi_removal:
                by_rules = self._phi.find(texts)
                if IDENTIFIERS_READ and reading is not None:
                    read = model_identifiers(reading, texts)
                    by_rules = [joined(rules, model) for rules, model in zip(by_rules, read, strict=True)]
                found = propagate_names(texts, by_rules)
        book = PlaceholderBook()
        result = RedactionResult(texts=[])
        for index, text in enumerate(texts):
            turn_passages = [p for p in passages if p.turn == index]
            spans = _turn_spans(index, text, found[index], turn_passages, book, settings)
            result.spans += spans
            result.texts.append(_apply(text, spans))
        return result


def _turn_spans(
    index: int,
    text: str,
    found: list[Found],
    passages: list[Passage],
    book: PlaceholderBook,
    settings: PrivacySettings,
) -> list[Span]:
    spans = []
    # ``found`` is merged (sorted, no two overlapping), so an identifier can only overlap a passage, and
    # what an identifier widens a passage to meets no further identifier.
    identifiers = Stretches(found)
    for passage in passages:
        start, end = passage.start, passage.end
        # An identifier straddling the passage's edge goes with it whole.
        for item in identifiers.meeting(passage.start, passage.end):
            start, end = min(start, item.start), max(end, item.end)
        spans.append(Span(index, start, end, passage.category, "topic", settings.marker(passage.category)))
    removed = Stretches(spans)
    for item in found:
        if removed.meet(item.start, item.end):
            continue
        placeholder = book.placeholder(item.kind, text[item.start : item.end])
        spans.append(Span(index, item.start, item.end, item.kind, "phi", placeholder))
    return sorted(spans, key=lambda s: s.start)


def _apply(text: str, spans: list[Span]) -> str:
    pieces = []
    last = 0
    for span in spans:
        pieces.append(text[last : span.start])
        pieces.append(span.placeholder)
        last = span.end
    pieces.append(text[last:])
    return "".join(pieces)


@cache
def default_redactor() -> Redactor:
    """One process-wide redactor, built on first use."""
    return Redactor()


def redact_turns(turns: list[tuple[str, str]], settings: PrivacySettings | None = None) -> RedactionResult:
    """Redact one session with the process-wide redactor (see ``Redactor.redact_turns``)."""
    return default_redactor().redact_turns(turns, settings or PrivacySettings.default())
