"""Less common ways of saying an identifier aloud: web addresses with a path, handles after "at sign",
flat letters, ages of a hundred and more, ages given in halves or for several children, dates read
out with "slash", and Irish surnames whose "O'" the recogniser writes as a separate "o"."""

from __future__ import annotations

import pytest
from phi_found import found, spans

from sotto.privacy.phi_addresses import find_addresses
from sotto.privacy.phi_ages import find_ages
from sotto.privacy.phi_contacts import find_contacts
from sotto.privacy.phi_dates import find_dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "she sends people to instagram dot com slash rosie paints underscore studio for commissions",
            "instagram dot com slash rosie paints underscore studio",
        ),
        ("the group is at linktree dot com slash mindful moms if you want it", "linktree dot com slash mindful moms"),
        ("my website is jaymendez dot example dot io so", "jaymendez dot example dot io"),
        ("the site is w w w dot healingroots dot example dot com", "w w w dot healingroots dot example dot com"),
    ],
)
def test_a_web_address_said_aloud_is_a_contact(text: str, expected: str) -> None:
    assert expected in spans(find_contacts, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("find him on twitter at symbol dj kavo", "dj kavo"),
        ("her handle is at sign rosie paints things and her site is", "rosie paints things"),
        ("my insta is at sign nightowl four four", "nightowl four four"),
    ],
)
def test_a_handle_after_at_sign_is_a_contact(text: str, expected: str) -> None:
    assert expected in spans(find_contacts, text)


@pytest.mark.parametrize(
    "text",
    [
        "the dot com bubble hit my dad hard",
        "i looked at sign language classes",
        "it was at the sign for the exit",
    ],
)
def test_everyday_dots_and_signs_are_no_contact(text: str) -> None:
    assert spans(find_contacts, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("we moved to forty one birchwood lane apartment three b last month", "apartment three b"),
        ("we were in unit four c at the maplewood apartments", "unit four c"),
        ("she's in Unit 12B now", "Unit 12B"),
    ],
)
def test_a_flat_number_with_its_letter(text: str, expected: str) -> None:
    assert expected in spans(find_addresses, text)


def test_a_unit_that_is_no_flat_stays() -> None:
    assert spans(find_addresses, "we're on unit four in the workbook") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("she turned a hundred in the spring", "a hundred"),
        ("grandpa is a hundred and one can you believe it", "a hundred and one"),
        ("my grandpa who is ninety one fell last week", "ninety one"),
        ("my son is three and a half and he bites", "three and a half"),
        ("i have two kids nine and eleven", "nine"),
        ("i have two kids nine and eleven", "eleven"),
    ],
)
def test_ages_said_in_other_ways(text: str, expected: str) -> None:
    assert expected in spans(find_ages, text)


@pytest.mark.parametrize(
    "text",
    [
        "i'm a hundred percent sure",
        "i've told him a hundred times",
        "she's a hundred per cent right",
        "the kids two of them anyway",
    ],
)
def test_hundreds_and_counts_that_are_no_age(text: str) -> None:
    assert spans(find_ages, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it happened three slash fourteen and i", "three slash fourteen"),
        ("we split up twelve slash eight slash twenty twenty one", "twelve slash eight slash twenty twenty one"),
    ],
)
def test_a_date_read_out_with_slash(text: str, expected: str) -> None:
    assert expected in spans(find_dates, text)


def test_a_fraction_or_a_rating_with_slash_is_no_date() -> None:
    assert spans(find_dates, "it was like fifty slash fifty and i'd give it seven slash ten or four slash five") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my teacher miss o connor used to say that", "o connor"),
        ("i called mister o malley about the lease", "o malley"),
    ],
)
def test_an_o_surname_written_apart_is_one_name(text: str, expected: str) -> None:
    assert any(expected in name for name in found(text))


def test_a_handle_that_ends_in_a_two_word_number_keeps_all_of_it() -> None:
    text = "my snapchat is jay underscore mendez underscore eighty four"
    assert "jay underscore mendez underscore eighty four" in spans(find_contacts, text)


def test_an_address_said_with_all_one_word_before_the_at() -> None:
    text = "write to jaymendez all one word at example dot org"
    assert any("jaymendez" in c and "example dot org" in c for c in spans(find_contacts, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my apartment is one twenty two maple street number four on the second floor", "number four"),
        ("she lives at 18 Larch Road, No. 3, above the shop", "No. 3"),
    ],
)
def test_the_number_of_a_flat_after_a_street(text: str, expected: str) -> None:
    assert any(expected in place for place in spans(find_addresses, text))


def test_a_number_after_a_street_that_counts_something_stays() -> None:
    assert spans(find_addresses, "we walked down maple street number one rule is no phones") == ["maple street"]


@pytest.mark.parametrize(
    "text",
    [
        "my medicaid number is x y z one two three dash four five six",
        "my ssn is one two three dash four five dash six seven eight nine",
        "i'm on medicare now and ssi",
    ],
)
def test_a_public_benefit_programme_is_no_name(text: str) -> None:
    names = {t for t, kind in found(text).items() if kind in ("NAME", "ORG")}
    assert not {"medicaid", "medicare", "ssn", "ssi"} & {w.lower() for n in names for w in n.split()}
