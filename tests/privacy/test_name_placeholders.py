"""Placeholders stay the same for the same person or thing throughout a session."""

from __future__ import annotations

from sotto.privacy.placeholders import PlaceholderBook


def test_first_name_full_name_and_title_with_surname_are_one_person() -> None:
    book = PlaceholderBook()
    assert book.placeholder("NAME", "Maria") == "[Name 1]"
    assert book.placeholder("NAME", "Maria Lopez") == "[Name 1]"
    assert book.placeholder("NAME", "Ms. Lopez") == "[Name 1]"
    assert book.placeholder("NAME", "Pedro") == "[Name 2]"
    assert book.placeholder("NAME", "maria") == "[Name 1]"


def test_a_short_form_links_to_the_name_it_begins() -> None:
    book = PlaceholderBook()
    assert book.placeholder("NAME", "Valentina") == "[Name 1]"
    assert book.placeholder("NAME", "Val") == "[Name 1]"
    assert book.placeholder("NAME", "Desmond") == "[Name 2]"
    assert book.placeholder("NAME", "Des") == "[Name 2]"


def test_two_people_with_one_surname_stay_apart_and_the_surname_goes_to_the_latest() -> None:
    book = PlaceholderBook()
    assert book.placeholder("NAME", "Maria Lopez") == "[Name 1]"
    assert book.placeholder("NAME", "Juan Lopez") == "[Name 2]"
    assert book.placeholder("NAME", "Lopez") == "[Name 2]"


def test_other_types_are_numbered_by_what_was_said_and_ages_are_not_numbered() -> None:
    book = PlaceholderBook()
    assert book.placeholder("DATE", "the 3rd") == "[Date 1]"
    assert book.placeholder("DATE", "The 3rd") == "[Date 1]"
    assert book.placeholder("DATE", "March 18th") == "[Date 2]"
    assert book.placeholder("LOCATION", "Worcester") == "[Place 1]"
    assert book.placeholder("ORG", "Corcoran Electric") == "[Organisation 1]"
    assert book.placeholder("CONTACT", "508-555-0163") == "[Contact 1]"
    assert book.placeholder("ID", "XKB 447") == "[ID 1]"
    assert book.placeholder("AGE", "52") == "[Age]"
