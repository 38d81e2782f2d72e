"""Identifiers given as answers ("How old is she?" - "Seven months.") and places said aloud ("saint bride's")."""

from __future__ import annotations

import pytest

from sotto.privacy.engine import default_redactor
from sotto.privacy.found import Found
from sotto.privacy.phi_ages import find_answered_ages, find_echoed_ages


def found(texts: list[str]) -> list[dict[str, str]]:
    return [{text[f.start : f.end]: f.kind for f in items} for text, items in
            zip(texts, default_redactor()._phi.find(texts), strict=True)]  # fmt: skip


def test_an_age_given_as_the_answer_to_how_old_is_an_age() -> None:
    assert found(["how old is she now", "seven months she's got two teeth coming"])[1] == {"seven months": "AGE"}
    assert find_answered_ages("And how old was he then?", "Oh, about 12, I think.")[0].kind == "AGE"


def test_a_number_after_any_other_question_is_not_an_age() -> None:
    assert find_answered_ages("how many times did that happen", "seven times maybe more") == []
    assert find_answered_ages("how old is she", "she's the youngest of us") == []


@pytest.mark.parametrize(
    ("turns", "age"),
    [
        (["I was about fifteen. I kept writing it.", "(pause) Fifteen, and already so careful."], "Fifteen"),
        (["he turned sixteen in march", "sixteen yeah and he drives now"], "sixteen"),
    ],
)
def test_an_age_from_the_turn_before_said_again_to_open_a_turn_is_an_age(turns: list[str], age: str) -> None:
    assert found(turns)[1].get(age) == "AGE"


def test_people_of_that_age_in_general_or_a_count_of_the_same_number_are_no_age() -> None:
    before = "My daughter is three."
    age = Found(before.index("three"), before.index("three") + 5, "AGE", 0.85)
    assert find_echoed_ages(before, [age], "(laughs) Three-year-olds are honest critics.") == []
    assert find_echoed_ages(before, [age], "Three minutes later she was asleep.") == []
    assert find_echoed_ages(before, [age], "(laughs) Three, and already the boss.") != []


def test_a_saint_with_a_possessive_said_aloud_is_an_organisation() -> None:
    (items,) = found(["i have a hospital appointment at saint bride's on tuesday for my knee"])
    assert any(text.startswith("saint bride") and kind == "ORG" for text, kind in items.items())


def test_a_saint_as_a_word_of_praise_is_not_an_organisation() -> None:
    (items,) = found(["honestly she's a saint's patience with him every day"])
    assert not any(text.startswith("saint") for text in items)
