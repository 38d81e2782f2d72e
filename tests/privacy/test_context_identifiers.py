"""Identifiers that only their surroundings give away in speech-recognition text (all invented)."""

from __future__ import annotations

import pytest
from phi_found import found

from sotto.privacy.phi_addresses import find_addresses
from sotto.privacy.phi_ages import find_ages
from sotto.privacy.phi_contacts import find_ids
from sotto.privacy.phi_dates import find_dates
from sotto.privacy.tokens import tokenize
from sotto.privacy.vocabulary import vocabulary


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


@pytest.mark.parametrize(
    ("text", "spelled"),
    [
        ("my new caseworker is siobhan that's s i o b h a n", "s i o b h a n"),
        ("and the surname is k o w a l right", "k o w a l"),
        ("It's Aoife, A-O-I-F-E, she's Irish.", "A-O-I-F-E"),
    ],
)
def test_a_name_spelled_out_letter_by_letter_is_removed(text: str, spelled: str) -> None:
    assert found(text).get(spelled) == "NAME"


@pytest.mark.parametrize("text", ["i got a b on the quiz", "i i i don't know what to say"])
def test_two_letters_or_a_stammered_i_are_not_taken_for_a_spelled_name(text: str) -> None:
    assert "NAME" not in found(text).values()


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("okay so that's the ninth thank you", "the ninth"),
        ("next week is thursday the fourteenth does that work", "thursday the fourteenth"),
        ("the nurse called on the seventh while i was driving", "the seventh"),
    ],
)
def test_a_day_of_the_month_before_thanks_or_a_question_is_a_date(text: str, date: str) -> None:
    assert [text[f.start : f.end] for f in find_dates(text, tokenize(text))] == [date]


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("my cousin started drinking at fifteen and nobody noticed", "fifteen"),
        ("i was maybe nine ten when we moved", "nine ten"),
    ],
)
def test_an_age_after_at_or_said_as_a_range_is_found_without_punctuation(text: str, age: str) -> None:
    assert [text[f.start : f.end] for f in find_ages(text, tokenize(text))] == [age]


@pytest.mark.parametrize(
    "text",
    [
        "can we meet at eleven and talk after",
        "we get there at fifteen past and wait",
        "my anxiety was at seventy and then it came down",
    ],
)
def test_a_clock_time_or_a_rating_after_at_is_not_an_age(text: str) -> None:
    assert find_ages(text, tokenize(text)) == []


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("there was a crash on route twelve so i was late", "route twelve"),
        ("We took Highway 61 the whole way.", "Highway 61"),
        ("the bus stops at maple and thirty second", "maple and thirty second"),
        ("The shop is on 5th and Alder.", "5th and Alder"),
    ],
)
def test_numbered_roads_and_street_corners_are_locations(text: str, place: str) -> None:
    assert place in [text[f.start : f.end] for f in find_addresses(text, tokenize(text))]


@pytest.mark.parametrize(
    "text",
    ["at first and then it got easier", "i was on my fourth and last try", "i did a paper route two days a week"],
)
def test_an_ordinal_beside_and_or_a_counted_route_is_not_a_road(text: str) -> None:
    assert find_addresses(text, tokenize(text)) == []


def test_an_everyday_surname_after_a_titled_first_name_goes_with_it() -> None:
    assert found("the officer dana marsh gave me her card").get("dana marsh") == "NAME"


def test_the_verb_after_a_titled_first_name_stays() -> None:
    assert found("and then doctor amy told me to wait") == {"doctor amy": "NAME"}


def test_a_first_name_opening_a_sentence_before_said_is_a_name() -> None:
    assert found("It was late. Sterling said the bus had gone.").get("Sterling") == "NAME"


def test_a_word_for_someone_opening_a_sentence_before_said_stays() -> None:
    assert found("It was late. Ma said the bus had gone.") == {}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Crazy. Lookout Valley Credit Union is doing a promotion.", "Lookout Valley Credit Union"),
        ("Three days a week. Rouge River Logistics keeps promising me a route.", "Rouge River Logistics"),
        ("It was the traffic. Third Mainland Bridge was a disaster.", "Third Mainland Bridge"),
    ],
)
def test_an_everyday_word_opening_the_sentence_before_a_named_firm_is_part_of_the_name(text: str, name: str) -> None:
    assert name in found(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Yesterday Harbor Hospital rang me.", "Harbor Hospital"),
        ("Take Orchard Road home so you miss the shop.", "Orchard Road"),
        ("Then Brandt Logistics called.", "Brandt Logistics"),
    ],
)
def test_a_word_that_opens_sentences_is_not_part_of_the_name_after_it(text: str, name: str) -> None:
    assert any(found_text.startswith(name) for found_text in found(text))


@pytest.mark.parametrize("text", ["Tell me what you see.", "what do you hope", "we can stop there if you will"])
def test_a_verb_after_you_is_no_name_even_when_it_is_a_first_name_too(text: str) -> None:
    assert found(text) == {}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("okay thank you will", "will"),
        ("see you hope", "hope"),
        ("i told you grace", "grace"),
        ("bless you maria", "maria"),
    ],
)
def test_someone_addressed_after_you_is_still_a_name(text: str, name: str) -> None:
    assert found(text).get(name) == "NAME"


def test_a_weekday_is_no_name_even_before_and_i() -> None:
    # FORMAT.md: weekdays alone are not identifiers, and "on Sunday, and I said" pairs no one with "I".
    assert found("He did a full fry-up on Sunday, and I said thank you properly.") == {}


def test_two_first_names_joined_by_and_are_two_people_and_a_named_pub_one_firm() -> None:
    assert found("Mum called me Samantha in front of Ella and Josh when they came round.") == {
        "Samantha": "NAME",
        "Ella": "NAME",
        "Josh": "NAME",
    }
    assert found("My manager at Birch and Bean said no.") == {"Birch and Bean": "ORG"}


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("The first two days I checked his breathing every hour.", []),
        ("the first three weeks were the worst", []),
        ("on the twenty first three of us are going", ["the twenty first"]),
        ("monday the third two of us can come", ["monday the third"]),
        ("the twelfth two thirty works", ["the twelfth"]),
    ],
)
def test_an_ordinal_before_a_count_is_no_day_unless_something_makes_it_one(text: str, dates: list[str]) -> None:
    assert [text[f.start : f.end] for f in find_dates(text, tokenize(text))] == dates
