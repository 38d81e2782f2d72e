"""Identifiers given as answers ("How old is she?" - "Seven months.") and places said aloud ("saint bride's")."""

from __future__ import annotations

from sotto.privacy.engine import default_redactor
from sotto.privacy.phi_ages import find_answered_ages


def found(texts: list[str]) -> list[dict[str, str]]:
    return [{text[f.start : f.end]: f.kind for f in items} for text, items in
            zip(texts, default_redactor()._phi.find(texts), strict=True)]  # fmt: skip


def test_an_age_given_as_the_answer_to_how_old_is_an_age() -> None:
    assert found(["how old is she now", "seven months she's got two teeth coming"])[1] == {"seven months": "AGE"}
    assert find_answered_ages("And how old was he then?", "Oh, about 12, I think.")[0].kind == "AGE"


def test_a_number_after_any_other_question_is_not_an_age() -> None:
    assert find_answered_ages("how many times did that happen", "seven times maybe more") == []
    assert find_answered_ages("how old is she", "she's the youngest of us") == []


def test_a_saint_with_a_possessive_said_aloud_is_an_organisation() -> None:
    (items,) = found(["i have a hospital appointment at saint bride's on tuesday for my knee"])
    assert any(text.startswith("saint bride") and kind == "ORG" for text, kind in items.items())


def test_a_saint_as_a_word_of_praise_is_not_an_organisation() -> None:
    (items,) = found(["honestly she's a saint's patience with him every day"])
    assert not any(text.startswith("saint") for text in items)
