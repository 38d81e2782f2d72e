"""Disclosures said the way people say them in speech: euphemisms, quantities, and the questions that stay on them."""

from __future__ import annotations

import pytest
from phi_found import found

from sotto.privacy.settings import TOPICS
from sotto.privacy.topics import find_passages


def removed(texts: list[str], speakers: list[str]) -> list[tuple[int, str]]:
    return [(p.turn, p.category) for p in find_passages(texts, TOPICS, speakers)]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("my uncle the one who's been away he gets out in the fall", "criminal"),
        ("they moved her to the facility out near the lake so we drive three hours", "criminal"),
        ("my husband can't work legally until the case is decided", "immigration"),
        ("some nights it's more than one bottle now", "substance"),
        ("i pour the first drink as soon as the kids are asleep", "substance"),
    ],
)
def test_a_disclosure_said_by_euphemism_or_quantity_is_found(text: str, category: str) -> None:
    assert removed([text], ["client"]) == [(0, category)]


def test_a_question_on_the_latest_instance_and_its_answer_stay_on_the_disclosure() -> None:
    texts = [
        "i drank a whole bottle of vodka on saturday by myself",
        "was that the first time since the new year",
        "no it was the second time this month",
    ]
    assert removed(texts, ["client", "therapist", "client"]) == [(0, "substance"), (1, "substance"), (2, "substance")]


def test_a_reaction_to_a_disclosure_made_in_context_is_part_of_it() -> None:
    texts = [
        "I've been drinking again.",
        "My friend goes to a meeting on Thursdays and she said I could come along, but I'd need a drink first.",
        "How do you feel about that?",
        "Nervous. Like everyone would know.",
    ]
    assert [t for t, _ in removed(texts, ["client", "client", "therapist", "client"])] == [0, 1, 2, 3]


def test_a_question_about_an_ordinary_call_is_left_alone() -> None:
    texts = ["my sister called on sunday", "how was the call", "nice we talked about her garden"]
    assert removed(texts, ["client", "therapist", "client"]) == []


def test_a_weekday_with_a_spelled_ordinal_is_a_date_and_a_hardware_store_an_organisation() -> None:
    text = "my next opening is tuesday the ninth and i work at bellweather hardware"
    kinds = found(text)
    assert kinds.get("tuesday the ninth") == "DATE"
    assert kinds.get("bellweather hardware") == "ORG"
