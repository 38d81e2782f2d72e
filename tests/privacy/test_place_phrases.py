"""Places, flats and workplaces said in everyday lower-case words, as speech recognition writes them."""

from __future__ import annotations

import pytest
from phi_found import found, found_items


def removed(text: str) -> list[str]:
    """The stretches of ``text`` the finder takes for identifiers."""
    return list(found(text))


def is_removed(text: str, phrase: str) -> bool:
    """Is every word of ``phrase`` inside something the finder removes?"""
    start = text.index(phrase)
    items = found_items(text)
    words = [(start + k, start + k + len(w)) for k, w in _offsets(phrase)]
    return all(any(f.start <= a and b <= f.end for f in items) for a, b in words)


def _offsets(phrase: str) -> list[tuple[int, str]]:
    result, at = [], 0
    for word in phrase.split():
        at = phrase.index(word, at)
        result.append((at, word))
        at += len(word)
    return result


def keeps_all(text: str, phrase: str) -> bool:
    """Is no word of ``phrase`` inside something the finder removes?"""
    start = text.index(phrase)
    end = start + len(phrase)
    return not any(f.start < end and start < f.end for f in found_items(text))


def test_a_compass_word_before_an_unknown_place_is_removed_with_it() -> None:
    assert is_removed("the bus from north kellerby was late again", "north kellerby")


@pytest.mark.parametrize(
    ("text", "phrase"),
    [("we sat on the east side of the room", "east side"), ("it's a bit north of here i think", "north of here")],
)
def test_a_compass_word_before_an_everyday_word_is_kept(text: str, phrase: str) -> None:
    assert keeps_all(text, phrase)


def test_a_mountain_named_after_mount_is_removed() -> None:
    assert is_removed("we drove to mount rainier last summer", "mount rainier")


def test_a_named_reservoir_is_removed_and_a_plain_one_kept() -> None:
    assert is_removed("we used to swim at dunwick reservoir as kids", "dunwick reservoir")
    assert keeps_all("we used to swim at the reservoir as kids", "the reservoir")


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("she lives in apartment 4c right above us", "apartment 4c"),
        ("i moved into apartment d last fall", "apartment d"),
    ],
)
def test_a_flat_number_or_letter_is_removed(text: str, phrase: str) -> None:
    assert is_removed(text, phrase)


def test_an_apartment_two_blocks_away_is_not_a_flat_number() -> None:
    assert keeps_all("we found an apartment two blocks away from her", "apartment two blocks")


def test_a_house_number_said_as_words_after_a_verb_is_removed() -> None:
    assert is_removed("it's fifteen eighty linden way the blue house", "fifteen eighty linden way")
    assert is_removed("your address is one hundred eighteen larkspur road", "one hundred eighteen larkspur road")


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("that's it the zip is ninety eight thousand four hundred five", "ninety eight thousand four hundred five"),
        ("zip code nine eight four oh five and the state", "nine eight four oh five"),
        ("My zip code is 02134, I think.", "02134"),
    ],
)
def test_a_postal_code_after_its_name_is_removed(text: str, phrase: str) -> None:
    assert is_removed(text, phrase)


def test_a_zip_that_is_not_a_code_is_kept() -> None:
    assert keeps_all("the zip on my jacket broke twice", "the zip on my jacket broke twice")
    assert keeps_all("zip two bags shut before the trip", "zip two bags")


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("i do the books for corrington cellars now", "corrington cellars"),
        ("we went bowling at lucky strike lanes on friday", "lucky strike lanes"),
        ("my aunt goes to greater hope baptist every week", "greater hope baptist"),
        ("i got two weeks off at pine lane credit union but", "pine lane credit union"),
        ("i picked up a shift at harbor street deli again", "harbor street deli"),
        ("there's a program through cascade freight for that", "cascade freight"),
        ("i'm still at northgate primary the kids are doing the nativity", "northgate primary"),
        ("everyone at kingfisher print was being really careful with me", "kingfisher print"),
    ],
)
def test_a_workplace_named_before_its_head_is_removed(text: str, phrase: str) -> None:
    assert is_removed(text, phrase)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("i had to go to the credit union after work", "the credit union"),
        ("we met at a bowling alley near the mall", "a bowling alley"),
        ("she asked for medical records from them", "medical records"),
        ("we went through the records together", "the records"),
        ("my primary concern is the print on the letter", "my primary concern is the print"),
        ("i called the hotline and then the helpline", "the hotline and then the helpline"),
    ],
)
def test_a_kind_of_business_without_a_name_is_kept(text: str, phrase: str) -> None:
    assert keeps_all(text, phrase)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("i do roofing for halvorsen roofing and siding it's seasonal", "halvorsen roofing and siding"),
        ("the afternoons at harrow and finch architects are long", "harrow and finch architects"),
        ("the last week at saint brendan's hospice whether i should have", "saint brendan's hospice"),
        ("up at five to open at larkspur bakehouse", "larkspur bakehouse"),
    ],
)
def test_a_business_with_two_heads_or_a_newer_head_is_removed_whole(text: str, phrase: str) -> None:
    assert is_removed(text, phrase)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("he used to get nineties at westmount secondary", "westmount secondary"),
        ("i picked up extra shifts at left bank espresso on saturdays", "left bank espresso"),
        ("he plays for southside rovers and coaches the under nines", "southside rovers"),
        ("working through lunch at didsbury sports physio because it's easier", "didsbury sports physio"),
    ],
)
def test_schools_cafes_clubs_and_clinics_named_before_their_head_are_removed(text: str, phrase: str) -> None:
    assert is_removed(text, phrase)


def test_a_visit_to_the_physio_keeps_the_word() -> None:
    assert keeps_all("i went to physio on monday", "physio")


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("i walked from cheetham hill the bus pass has run out", "cheetham hill"),
        ("we've been living at my mum's in box hill she's thrilled", "box hill"),
        ("i went back to the house in port clement to start clearing it out", "port clement"),
        ("you don't make somebody drive forty minutes to new glasgow to tell them", "new glasgow"),
    ],
)
def test_a_town_named_by_a_prefix_or_a_hill_is_removed(text: str, phrase: str) -> None:
    assert is_removed(text, phrase)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("we moved to new york last year", "new york"),
        ("she's from north carolina originally", "north carolina"),
        ("She's from South Carolina.", "South Carolina"),
        ("we were in trailer park hell for a year", "trailer park"),
        ("he bought new shoes in town", "new shoes"),
    ],
)
def test_a_state_or_an_everyday_phrase_after_in_stays(text: str, phrase: str) -> None:
    assert keeps_all(text, phrase)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("it took me two buses to get there", "two buses"),
        ("i cooked for both sons on sunday", "both sons"),
        ("we got quotes from three architects", "three architects"),
    ],
)
def test_a_count_before_a_business_head_stays(text: str, phrase: str) -> None:
    assert keeps_all(text, phrase)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("It's a five-hour drive each way, so that's a day off.", "five-hour drive"),
        ("the office is a ten minute walk from the station", "ten minute walk"),
        ("it's about twenty minutes drive from mine", "twenty minutes drive"),
    ],
)
def test_a_journey_measured_in_time_is_no_street(text: str, phrase: str) -> None:
    assert keeps_all(text, phrase)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("we were on like forty one oak drive back then", "forty one oak drive"),
        ("we lived off Eight Mile Road", "Eight Mile Road"),
        ("she's moved to a flat on 12 Harrow Walk", "12 Harrow Walk"),
        ("she is at no. 12 mill lane now", "12 mill lane"),
    ],
)
def test_a_house_number_or_a_named_street_still_makes_an_address(text: str, phrase: str) -> None:
    assert is_removed(text, phrase)
