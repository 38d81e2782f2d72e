"""Identifiers that only their surroundings give away in speech-recognition text (all invented)."""

from __future__ import annotations

import pytest

from sotto.privacy.engine import default_redactor
from sotto.privacy.phi_contacts import find_ids
from sotto.privacy.phi_dates import find_dates
from sotto.privacy.tokens import tokenize
from sotto.privacy.vocabulary import vocabulary


def found(text: str) -> dict[str, str]:
    (items,) = default_redactor()._phi.find([text])
    return {text[f.start : f.end]: f.kind for f in items}


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("so same time next week friday the fourth", "friday the fourth"),
        ("Can we move it to Monday, the 21st?", "Monday, the 21st"),
        ("the plan was wednesday march second", "wednesday march second"),
    ],
)
def test_a_weekday_said_with_a_date_goes_with_it(text: str, date: str) -> None:
    assert [text[f.start : f.end] for f in find_dates(text, tokenize(text))] == [date]


def test_a_turn_that_opens_on_an_ordinal_answers_when() -> None:
    text = "the twenty third sorting parcels at the depot"
    assert [text[f.start : f.end] for f in find_dates(text, tokenize(text))] == ["the twenty third"]


def test_an_abbreviated_month_alone_is_not_a_date() -> None:
    text = "his grandmother still calls him jae jun when she's cross"
    assert find_dates(text, tokenize(text)) == []
    assert found(text).get("jae jun") == "NAME"


def test_a_code_spelled_out_keeps_its_closing_letter() -> None:
    text = "my national insurance number is k r three one five two eight six d and my address"
    assert [text[f.start : f.end] for f in find_ids(text, tokenize(text))] == ["k r three one five two eight six d"]


@pytest.mark.parametrize(
    ("text", "org"),
    [
        ("i did nights at the ostrova textiles plant for a year", "ostrova textiles plant"),
        ("my manager at lindqvist engineering offered to help", "lindqvist engineering"),
        ("our pastor at living waters tabernacle lets me stack the chairs", "living waters tabernacle"),
    ],
)
def test_an_organisation_in_everyday_words_is_found_by_its_head(text: str, org: str) -> None:
    assert any(org in span and kind == "ORG" for span, kind in found(text).items())


@pytest.mark.parametrize(
    "text",
    [
        "i waited at the bus station for an hour",
        "he works at the water treatment plant",
        "she goes on tuesdays and saturdays",
        "we met in the spring and then again later",
    ],
)
def test_generic_places_weekdays_and_function_words_stay(text: str) -> None:
    assert found(text) == {}


def test_a_kin_title_names_the_next_word_whatever_it_is() -> None:
    assert found("tita sunny brought the rice").get("sunny") == "NAME"


def test_function_words_are_not_first_names() -> None:
    assert not {"in", "so", "an", "my"} & vocabulary().first_names
