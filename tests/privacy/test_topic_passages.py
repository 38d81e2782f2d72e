"""Sensitive passages: found per category, carried over follow-ups, look-alikes left alone."""

from __future__ import annotations

import pytest

from sotto.privacy import topics
from sotto.privacy.settings import TOPICS
from sotto.privacy.topics import find_passages


@pytest.fixture(autouse=True)
def rules_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the cue and conversation rules; the passage model has its own tests."""
    monkeypatch.setattr(topics, "MODEL", None)


def removed(texts: list[str], categories: frozenset[str] = TOPICS) -> list[tuple[int, str, str]]:
    return [(p.turn, p.category, texts[p.turn][p.start : p.end]) for p in find_passages(texts, categories)]


def removed_with(texts: list[str], speakers: list[str]) -> list[tuple[int, str, str]]:
    return [(p.turn, p.category, texts[p.turn][p.start : p.end]) for p in find_passages(texts, TOPICS, speakers)]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I got arrested for a DUI in 2019 and did the court program.", "criminal"),
        ("My asylum hearing has a date now.", "immigration"),
        ("I think I'm bisexual, and I want to use they and them.", "sogi"),
        ("He grabbed me by the throat and shoved me into the counter.", "trauma"),
        ("I've been a heavy drinker for a lot of years.", "substance"),
        ("The genetic testing came back: BRCA1 positive.", "health"),
        ("i got arrested for a dui in twenty nineteen and did the court program", "criminal"),
        ("my work permit runs out in march and my daca renewal is still pending", "immigration"),
        ("most nights i wake up and i can still smell him he used to come into our room at night", "trauma"),
        ("The interlock beeps every time I start the truck.", "criminal"),
        ("If she violates me, I lose the bed.", "criminal"),
        ("Can you not tell him about the ket?", "substance"),
        ("My wife found the empties in the shed.", "substance"),
        ("i could not get through a work night without a drink", "substance"),
        ("undetectable means untransmittable but i still can't believe it", "health"),
    ],
)
def test_a_disclosure_is_removed_with_its_category(text: str, category: str) -> None:
    (passage,) = removed(["How was the week?", text])
    assert passage[:2] == (1, category)


@pytest.mark.parametrize(
    "text",
    [
        "I had a crime documentary on, which was not the most calming choice.",
        "I drank a whole glass of water and counted the ceiling tiles.",
        "I'm saving for a holiday abroad in the summer, maybe Portugal.",
        "The weekend was a disaster. My trip to see my cousin was a mess.",
        "The transition to high school is a lot more homework than I thought.",
        "It felt like a prison, that basement office.",
        "My physical therapist at the rehab place says move, don't wait.",
        "i watched a true crime documentary on my phone and ate crisps",
    ],
)
def test_look_alikes_are_not_removed(text: str) -> None:
    assert removed(["How was the week?", text, "Okay. Let's look at the plan."]) == []


def test_a_reply_that_stays_on_the_disclosure_goes_with_it_and_the_next_topic_stays() -> None:
    texts = [
        "Bill was sober twenty-six years when he died. Before that he drank, and it was bad.",
        "Thank you for telling me. How does that part of your history sit with you now?",
        "Proud, mostly. He worked so hard at it.",
        "Let's talk about the garden. What did you plant this spring?",
    ]
    speakers = ["client", "therapist", "client", "therapist"]
    assert [p.turn for p in find_passages(texts, TOPICS, speakers)] == [0, 1, 2]


def test_an_answer_to_a_question_about_the_topic_is_removed() -> None:
    texts = [
        "How much do you drink in a typical week?",
        "More than I should. I'll be straight with you: most nights, and it got worse after the layoff.",
    ]
    assert [t for t, _, _ in removed(texts)] == [0, 1]


def test_only_the_chosen_categories_are_found() -> None:
    texts = ["I was in prison for two years.", "I relapsed last month after six months sober."]
    assert [c for _, c, _ in removed(texts, frozenset({"substance"}))] == ["substance"]
    assert removed(texts, frozenset()) == []


def test_a_passage_is_whole_sentences_and_the_rest_of_a_long_turn_stays() -> None:
    text = (
        "Work is fine and the new manager seems decent, although the commute is long and the parking is awful "
        "and I keep forgetting my badge at home on Mondays. My father was a mean drunk who hit us."
    )
    ((_, _, passage),) = removed([text])
    assert passage == "My father was a mean drunk who hit us."


@pytest.mark.parametrize(("memory", "expected"), [("off", [0]), ("speaker", [0, 4]), ("all", [0, 3, 4])])
def test_session_memory_decides_whose_later_weak_cues_count(
    monkeypatch: pytest.MonkeyPatch, memory: str, expected: list[int]
) -> None:
    texts = [
        "I relapsed in March, after two years sober.",
        "Let's talk about the new job.",
        "It's fine. Long shifts, good people.",
        "Do you have meetings this week?",
        "Work is busy. I skipped a meeting on Sunday.",
    ]
    speakers = ["client", "therapist", "client", "therapist", "client"]
    monkeypatch.setattr(topics, "SESSION_MEMORY", memory)
    monkeypatch.setattr(topics, "ACTIVE_TURNS", 0)
    assert [p.turn for p in find_passages(texts, TOPICS, speakers)] == expected


def test_a_remembered_topic_marks_only_a_short_sentence_and_no_more_of_the_turn() -> None:
    texts = [
        "I relapsed in March, after two years sober.",
        "Let's talk about the new job.",
        "It's fine. Long shifts, good people.",
        "Anything else this week?",
        "The team meetings run long and the new manager keeps adding more of them every single week. "
        "Skipping the meeting. Then my sister visited.",
    ]
    speakers = ["client", "therapist", "client", "therapist", "client"]
    assert [(t, p) for t, _, p in removed_with(texts, speakers) if t == 4] == [(4, "Skipping the meeting.")]


def test_a_weak_cue_in_unpunctuated_text_keeps_to_its_clause() -> None:
    texts = [
        "i relapsed last month after two years sober and i hated telling my sponsor",
        "how are things otherwise",
        "honestly a slip is information my counselor keeps saying that over and over to me and we found a two "
        "bedroom apartment near the park with a yard for the dog and we are going to see her family in december "
        "and after that we will drive down the coast for a week and stay with my cousin who has a boat",
    ]
    assert [(t, c, p) for t, c, p in removed(texts) if t == 2] == [
        (2, "substance", "honestly a slip is information my counselor keeps saying that over and over to me")
    ]


@pytest.mark.parametrize(
    "text",
    [
        "the gate locks from the inside and the housing officer has a spare key",
        "it's warm inside the flat now and my benefits officer rang back",
    ],
)
def test_inside_and_officer_in_their_everyday_sense_are_not_prison(text: str) -> None:
    assert removed([text]) == []
