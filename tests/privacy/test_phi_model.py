"""Identifiers read by the identifier model (``phi_model``) and how they join the rules'.

The first tests hand-set the probabilities over a real tokenisation: they are about turning token
probabilities into stretches of words, not about the model. The last ones run the stored models on
invented speech-recognition text.
"""

from __future__ import annotations

import numpy as np

from sotto.privacy import engine
from sotto.privacy.found import Found
from sotto.privacy.passage_model import (
    IDENTIFIER_OUTPUTS,
    OUTPUTS,
    Reading,
    conversation,
    identifier_model,
    passage_model,
    session_tokenizer,
)
from sotto.privacy.phi_model import BRIDGE, THRESHOLD, joined, model_identifiers
from sotto.privacy.propagation import propagate_names
from sotto.privacy.settings import PrivacySettings


def _reading(texts: list[str], marked: dict[str, tuple[str, float]]) -> Reading:
    """A reading of ``texts`` in which each token whose text is a key of ``marked`` has that type at
    that probability, and every other token none."""
    talk = conversation(texts, None)
    encoding = session_tokenizer().encode(talk.text, add_special_tokens=False)
    identifiers = np.zeros((len(encoding.ids), len(IDENTIFIER_OUTPUTS)), dtype=np.float32)
    identifiers[:, 0] = 1.0
    for k, (start, end) in enumerate(encoding.offsets):
        kind, probability = marked.get(talk.text[start:end], ("none", 0.0))
        if kind != "none":
            identifiers[k] = 0.0
            identifiers[k, 0] = 1.0 - probability
            identifiers[k, IDENTIFIER_OUTPUTS.index(kind)] = probability
    offsets = np.array(encoding.offsets, dtype=np.int64)
    topics = np.zeros((len(encoding.ids), len(OUTPUTS)), dtype=np.float32)
    return Reading(talk, offsets[:, 0], offsets[:, 1], topics, identifiers)


def _said(texts: list[str], found: list[list]) -> list[list[tuple[str, str]]]:
    return [[(f.kind, text[f.start : f.end]) for f in items] for text, items in zip(texts, found, strict=True)]


def test_a_word_read_in_pieces_is_taken_whole_and_typed_by_the_model() -> None:
    texts = ["how was the week", "still on nights at tamebridge distribution"]
    # "tamebridge" is read as several pieces; only the first is sure.
    pieces = session_tokenizer().encode("tamebridge", add_special_tokens=False).tokens
    assert len(pieces) > 1
    reading = _reading(texts, {pieces[0]: ("ORG", 0.9), "distribution": ("ORG", 0.8)})
    assert _said(texts, model_identifiers(reading, texts)) == [[], [("ORG", "tamebridge distribution")]]


def test_an_unsure_token_is_left_and_a_weak_word_between_two_sure_ones_joins_them() -> None:
    texts = ["we went to the ship and castle after", "my friend nadia came"]
    sure = {"ship": ("LOCATION", 0.9), "castle": ("LOCATION", 0.9)}
    reading = _reading(texts, {**sure, "and": ("LOCATION", 0.25), "nadia": ("NAME", 0.3)})
    assert THRESHOLD * BRIDGE <= 0.25 < 0.3 < THRESHOLD
    assert _said(texts, model_identifiers(reading, texts)) == [[("LOCATION", "ship and castle")], []]
    alone = _reading(texts, sure)
    assert _said(texts, model_identifiers(alone, texts)) == [[("LOCATION", "ship"), ("LOCATION", "castle")], []]


def test_a_hyphenated_word_is_taken_whole_when_the_model_is_sure_of_one_half() -> None:
    texts = ["my nan turned ninety-two and moved to kirkby-in-ashfield", "a well - known story"]
    marked = {"two": ("AGE", 0.9), "ash": ("LOCATION", 0.9), "known": ("LOCATION", 0.9)}
    reading = _reading(texts, marked)
    found = _said(texts, model_identifiers(reading, texts))
    assert found[0] == [("AGE", "ninety-two"), ("LOCATION", "kirkby-in-ashfield")]
    # A hyphen with spaces around it is a pause, not a join.
    assert found[1] == [("LOCATION", "known")]


def test_a_possessive_stays_outside_the_name() -> None:
    texts = ["it was joy's idea"]
    reading = _reading(texts, {"joy": ("NAME", 0.9), "'": ("NAME", 0.9), "s": ("NAME", 0.9)})
    assert _said(texts, model_identifiers(reading, texts)) == [[("NAME", "joy")]]


def test_a_model_without_an_identifier_head_finds_nothing() -> None:
    texts = ["hi joy"]
    reading = _reading(texts, {})
    bare = Reading(reading.talk, reading.token_starts, reading.token_ends, reading.topics, None)
    assert model_identifiers(bare, texts) == [[]]


def test_where_a_rule_and_the_model_overlap_the_rules_type_holds_over_both_stretches() -> None:
    rules = [Found(3, 8, "NAME", 0.75)]
    read = [Found(3, 8, "CONTACT", 0.6), Found(6, 14, "ORG", 0.6), Found(20, 25, "LOCATION", 0.6)]
    assert joined(rules, read) == [Found(3, 14, "NAME", 0.75), Found(20, 25, "LOCATION", 0.6)]
    assert joined(rules, []) == rules


# Invented speech-recognition text, where no rule has a cue: no capitals, no head word, no title.
UNCUED = [
    ("therapist", "how have the shifts been this week"),
    ("client", "long still on six till two shifts at tamebridge distribution and the new manager moves us around"),
    ("therapist", "that sounds draining and how is princess doing with you being home more"),
    ("client", "she likes it she says i cook better than her dad"),
]


def test_the_stored_model_finds_identifiers_the_rules_have_no_cue_for() -> None:
    texts = [text for _, text in UNCUED]
    rules = propagate_names(texts, engine.default_redactor()._phi.find(texts))
    read = model_identifiers(identifier_model().read(texts, [s for s, _ in UNCUED]), texts)

    def words(found: list[list], turn: int) -> str:
        return " ".join(texts[turn][f.start : f.end] for f in found[turn])

    assert "distribution" not in words(rules, 1) and "princess" not in words(rules, 2)
    assert "tamebridge distribution" in words(read, 1) and "princess" in words(read, 2)
    assert not read[0] and not read[3]


def test_the_redactor_removes_what_the_model_reads_only_when_identifiers_are_removed() -> None:
    redacted = engine.default_redactor().redact_turns(UNCUED, PrivacySettings.default()).texts
    assert "distribution" not in redacted[1] and "princess" not in redacted[2]
    assert redacted[0] == UNCUED[0][1] and redacted[3] == UNCUED[3][1]
    kept = engine.default_redactor().redact_turns(UNCUED, PrivacySettings(phi_removal=False)).texts
    assert kept == [text for _, text in UNCUED]


def test_each_model_reads_a_session_once(monkeypatch) -> None:
    reads = []
    for name, model in (("passages", passage_model()), ("identifiers", identifier_model())):
        read = model.read

        def counted(texts: list[str], speakers: list[str] | None, name=name, read=read) -> Reading:
            reads.append(name)
            return read(texts, speakers)

        monkeypatch.setattr(model, "read", counted)
    engine.default_redactor().redact_turns(UNCUED, PrivacySettings.default())
    assert sorted(reads) == ["identifiers", "passages"]
