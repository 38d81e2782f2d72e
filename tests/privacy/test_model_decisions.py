"""How the passage model's probabilities overrule the rules (``topics.MODEL``), with the model's
answers chosen by the test: the decisions are under test here, the model in test_passage_model."""

from __future__ import annotations

import pytest

from sotto.privacy import topics
from sotto.privacy.passage_model import OUTPUTS, Judged
from sotto.privacy.settings import TOPICS
from sotto.privacy.topics import find_passages

THRESHOLDS = topics.ModelThresholds(keep=0.1, turn=0.6, therapist_turn=0.85, sentence=0.9)


def on(category: str, probability: float) -> dict[str, float]:
    """The model's answer: ``probability`` of ``category``, the rest "none"."""
    return {output: probability if output == category else 0.0 for output in OUTPUTS} | {"none": 1 - probability}


def judged_as(monkeypatch: pytest.MonkeyPatch, answers: list[tuple[dict[str, float], list[dict[str, float]]]]) -> None:
    def judge_topics(
        texts: list[str], speakers: object, units: list[list[tuple[int, int]]], *, identifiers: object = None
    ) -> list[Judged]:
        assert [len(u) for u in units] == [len(sentences) for _, sentences in answers]
        return [Judged(turn, sentences) for turn, sentences in answers]

    monkeypatch.setattr(topics, "MODEL", THRESHOLDS)
    monkeypatch.setattr(topics, "judge_topics", judge_topics)


def removed(texts: list[str], speakers: list[str]) -> list[tuple[int, str]]:
    return [(p.turn, texts[p.turn][p.start : p.end]) for p in find_passages(texts, TOPICS, speakers)]


LOOK_ALIKE = ["What helps you switch off?", "A podcast about a prison escape. I listen to it on the bus."]


def test_a_sentence_the_rules_mark_stays_when_the_model_is_sure_neither_it_nor_its_turn_is_on_a_topic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    judged_as(monkeypatch, [(on("criminal", 0.0), [on("criminal", 0.0)]),
                            (on("criminal", 0.05), [on("criminal", 0.08), on("criminal", 0.01)])])  # fmt: skip
    assert removed(LOOK_ALIKE, ["therapist", "client"]) == []
    monkeypatch.setattr(topics, "MODEL", None)
    assert removed(LOOK_ALIKE, ["therapist", "client"]) == [(1, LOOK_ALIKE[1])]


def test_a_sentence_the_rules_mark_goes_when_its_turn_is_not_surely_off_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    judged_as(monkeypatch, [(on("criminal", 0.0), [on("criminal", 0.0)]),
                            (on("criminal", 0.15), [on("criminal", 0.05), on("criminal", 0.3)])])  # fmt: skip
    assert removed(LOOK_ALIKE, ["therapist", "client"]) == [(1, LOOK_ALIKE[1])]


TALK = ["It has been a hard month. I think about it at night.", "That sounds heavy. What happens at night?"]


@pytest.mark.parametrize(("speaker", "whole"), [("client", True), ("therapist", False)])
def test_a_turn_goes_whole_above_its_speakers_threshold(
    monkeypatch: pytest.MonkeyPatch, speaker: str, whole: bool
) -> None:
    judged_as(monkeypatch, [(on("trauma", 0.7), [on("trauma", 0.5), on("trauma", 0.8)]),
                            (on("trauma", 0.0), [on("trauma", 0.0), on("trauma", 0.0)])])  # fmt: skip
    expected = [(0, TALK[0])] if whole else []
    assert removed(TALK, [speaker, "therapist" if speaker == "client" else "client"]) == expected


def test_a_sentence_the_model_is_sure_of_goes_alone_in_a_turn_below_the_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    judged_as(monkeypatch, [(on("trauma", 0.5), [on("trauma", 0.1), on("trauma", 0.95)]),
                            (on("trauma", 0.0), [on("trauma", 0.0), on("trauma", 0.0)])])  # fmt: skip
    assert removed(TALK, ["client", "therapist"]) == [(0, "I think about it at night.")]


def test_a_turn_taken_whole_keeps_the_category_the_rules_gave_it(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [
        "I relapsed on Friday. After that I went to my sister's place for the weekend, and we cooked and "
        "watched old films and walked her dog along the river twice.",
        "What happened before that?",
    ]
    monkeypatch.setattr(topics, "MODEL", None)
    assert removed(texts, ["client", "therapist"]) == [(0, "I relapsed on Friday.")]
    mostly_trauma = {**on("trauma", 0.5), "substance": 0.3, "none": 0.2}
    judged_as(monkeypatch, [(mostly_trauma, [on("substance", 0.9), on("trauma", 0.5)]),
                            (on("trauma", 0.0), [on("trauma", 0.0)])])  # fmt: skip
    assert [(p.turn, p.category) for p in find_passages(texts, TOPICS, ["client", "therapist"])] == [(0, "substance")]
    assert removed(texts, ["client", "therapist"]) == [(0, texts[0])]
