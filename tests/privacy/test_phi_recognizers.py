"""Each identifier recogniser on clean text and on speech-recognition text."""

from __future__ import annotations

import pytest
from phi_found import found, spans

from sotto.privacy.phi_addresses import find_addresses
from sotto.privacy.phi_ages import find_ages
from sotto.privacy.phi_contacts import find_contacts, find_ids
from sotto.privacy.phi_dates import find_dates
from sotto.privacy.phi_names import truecase
from sotto.privacy.tokens import read_digits, read_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My cell, 508-555-0163. Texting is fine.", "508-555-0163"),
        ("Is that mhalloran72@inboxmail.com?", "mhalloran72@inboxmail.com"),
        ("He made a new account, eli_builds_things, last week.", "eli_builds_things"),
        (
            "my cell five oh eight five five five oh one six three texting is fine",
            "five oh eight five five five oh one six three",
        ),
        ("it's j o h n at example dot com", "j o h n at example dot com"),
        ("it's r n ellis at northbank c m h dot org if", "r n ellis at northbank c m h dot org"),
        ("send it to lgutierrez at eastbaylegalproject dot org please", "lgutierrez at eastbaylegalproject dot org"),
        ("his account is eli underscore builds underscore things", "eli underscore builds underscore things"),
    ],
)
def test_contacts_written_and_said_aloud(text: str, expected: str) -> None:
    assert expected in spans(find_contacts, text) + [t for t, k in found(text).items() if k == "CONTACT"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hang on. XKB 447 199 203.", "XKB 447 199 203"),
        ("It's N00482217.", "N00482217"),
        ("the case number, D-202-CV-2024-04417, and", "D-202-CV-2024-04417"),
        ("My reference is HOM-2291-448-KB. I check the portal.", "HOM-2291-448-KB"),
        (
            "hang on x k b four four seven one nine nine two zero three",
            "x k b four four seven one nine nine two zero three",
        ),
        ("the claim number is c two two four seven nine one six eight and", "c two two four seven nine one six eight"),
        ("it's i n four four seven one zero nine two three five", "i n four four seven one zero nine two three five"),
        ("sure one oh oh four eight two three three seven w a", "one oh oh four eight two three three seven w a"),
        ("the plate is k l m four five two", "k l m four five two"),
        ("and my policy number is PHL/2231/884706.", "PHL/2231/884706"),
        ("They gave me a case number, CAS 417/06/2024, and that's it.", "CAS 417/06/2024"),
    ],
)
def test_codes_written_and_read_out(text: str, expected: str) -> None:
    assert expected in spans(find_ids, text)


def test_a_spoken_phone_number_near_a_phone_word_is_a_contact() -> None:
    text = "the office number is nine oh nine five five five zero one eight eight"
    assert found(text) == {"nine oh nine five five five zero one eight eight": "CONTACT"}


def test_years_and_amounts_are_not_codes() -> None:
    assert spans(find_ids, "I got arrested in 2019 and paid $1,200.") == []
    assert spans(find_ids, "probation ended in twenty twenty one") == []
    # Letters end a written code only after a dash: "4482 I think" keeps its "I".
    assert spans(find_ids, "the pin is 4482 I think") == ["4482"]
    assert spans(find_ids, "i got four five six seven eight a day") == []
    assert spans(find_ids, "we won four five two") == []
    # Slashed dates and spans of years are not codes, and a spoken code stops before the speaker's "I".
    assert spans(find_ids, "the 2019/2020 season and 3/14/2023") == []
    assert max(spans(find_ids, "the reference is PX 4471 0926 B; I check it"), key=len) == "PX 4471 0926"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Date of birth? August 9th, 1972.", "August 9th, 1972"),
        ("Birthday party on the 22nd. He's turning four.", "the 22nd"),
        ("since I stopped drinking in February, the evenings", "February"),
        ("It's May 14th to the 17th.", "May 14th"),
        ("party on the twenty second hes turning four", "the twenty second"),
        ("date of birth august ninth nineteen seventy two", "august ninth nineteen seventy two"),
        ("my date of birth is 12 May 1989.", "12 May 1989"),
    ],
)
def test_dates_more_specific_than_a_year(text: str, expected: str) -> None:
    assert expected in spans(find_dates, text)


@pytest.mark.parametrize(
    "text",
    [
        "You may be right.",
        "On Tuesday I was at work.",
        "That was the first drink.",
        "in 2019",
        "the third time I tried",
    ],
)
def test_weekdays_years_and_everyday_words_are_not_dates(text: str) -> None:
    assert spans(find_dates, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm 52. I don't cry.", "52"),
        ("She's nineteen, second year of college.", "nineteen"),
        ("He's turning four, and", "four"),
        ("I'm sixty-nine years old and", "sixty-nine"),
        ("My mom was 52 when she died.", "52"),
        ("i'm fifty two i don't cry", "fifty two"),
        ("she's nineteen second year of college", "nineteen"),
        ("How can you know something like that at fifteen?", "fifteen"),
    ],
)
def test_stated_ages(text: str, expected: str) -> None:
    assert expected in spans(find_ages, text)


@pytest.mark.parametrize("text", ["It's ten minutes away.", "I rated it an eight.", "We meet at four."])
def test_numbers_that_are_not_ages(text: str) -> None:
    assert spans(find_ages, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("And you're at 41 Tremont Court in Worcester?", "41 Tremont Court"),
        ("the chemist on Paisley Road West, and", "Paisley Road West"),
        ("the address is twenty two oh seven mesquite lane i wrote it", "twenty two oh seven mesquite lane"),
        ("the whole apartment on wolfram street from memory", "wolfram street"),
    ],
)
def test_street_addresses(text: str, expected: str) -> None:
    assert expected in spans(find_addresses, text)


def test_a_street_with_a_determiner_is_not_an_address() -> None:
    assert spans(find_addresses, "He lives down the road, on our street.") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Good to see you, Hope. How did the week go?", {"Hope": "NAME"}),
        ("My supervisor, Deshawn, came over.", {"Deshawn": "NAME"}),
        (
            "Dr. Pham sent me, my primary care over at Greendale Family Medicine.",
            {"Dr. Pham": "NAME", "Greendale Family Medicine": "ORG"},
        ),
        ("I was in HMP Kelvinhaugh.", {"HMP Kelvinhaugh": "LOCATION"}),
        ("She still calls him Min-jun when she's serious.", {"Min-jun": "NAME"}),
        ("Jordan, you'll get the same amount of time.", {"Jordan": "NAME"}),
        ("She came to Georgia's birthday dinner.", {"Georgia": "NAME"}),
    ],
)
def test_names_places_and_organisations_in_clean_text(text: str, expected: dict[str, str]) -> None:
    assert expected.items() <= found(text).items()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my supervisor deshawn came over and i answered him", ["deshawn"]),
        ("that's me mark halloran sorry i'm a few minutes late", ["mark halloran"]),
        ("my boss at judith basin feed and supply said i'm the only one", ["judith basin feed and supply"]),
        ("he gave me more hours at golden crust bakery and the people", ["golden crust bakery"]),
        ("a trampoline park in westerville loud crowded", ["westerville"]),
        ("hi will can you hear me okay", ["will"]),
    ],
)
def test_names_places_and_organisations_in_speech_recognition_text(text: str, expected: list[str]) -> None:
    assert set(expected) <= set(found(text))


def test_countries_states_and_everyday_words_are_kept() -> None:
    text = "We're going to Georgia for Thanksgiving, and my brother is back from Mexico. I hope it helps."
    assert found(text) == {}


def test_truecasing_capitalises_unknown_words_only_and_keeps_offsets() -> None:
    text = "i called my sponsor lorraine and went to the meeting"
    cased = truecase(text)
    assert cased == "I called my sponsor Lorraine and went to the meeting"
    assert len(cased) == len(text)


def test_spoken_numbers_are_read() -> None:
    words = ["fifty", "two", "twenty", "second", "five", "oh", "eight", "double", "five"]
    assert read_number(words, 0).value == 52  # type: ignore[union-attr]
    second = read_number(words, 2)
    assert second is not None and second.value == 22 and second.ordinal
    assert read_digits(words, 4) == ("50855", 5)
