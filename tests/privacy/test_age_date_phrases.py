"""Ages and dates said in passing: after a name or a verb, as a birthday, a holiday or "last june"."""

from __future__ import annotations

import pytest
from phi_found import spans

from sotto.privacy.phi_ages import find_ages
from sotto.privacy.phi_dates import find_dates


def ages(text: str) -> list[str]:
    return spans(find_ages, text)


def dates(text: str) -> list[str]:
    return spans(find_dates, text)


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("Wren is six. She drew us a horse.", "six"),
        ("soren's four and he still naps", "four"),
        ("okay so dashiell is eight and loves trains", "eight"),
        ("my brother's eleven now", "eleven"),
        ("Your friends are sixteen. It's different.", "sixteen"),
        ("the twins are nine and they fight all day", "nine"),
    ],
)
def test_an_age_after_a_name_or_kin_and_is_is_an_age(text: str, age: str) -> None:
    assert age in ages(text)


@pytest.mark.parametrize(
    "text",
    [
        "Tobias is five minutes away.",
        "it's nine and we're still waiting",
        "the score is two to one",
        "orla's two kids came along",
    ],
)
def test_a_count_or_a_time_after_is_is_not_an_age(text: str) -> None:
    assert ages(text) == []


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("her birthday's in may and she'll be ten on the sixth", "ten"),
        ("i'll be forty two by then", "forty two"),
        ("Dad would have been eighty-one.", "eighty-one"),
        ("so that makes you twenty seven", "twenty seven"),
    ],
)
def test_an_age_to_come_or_that_would_have_been_is_an_age(text: str, age: str) -> None:
    assert age in ages(text)


def test_an_age_that_would_have_been_said_short_is_an_age() -> None:
    assert ages("yeah it's march ninth he would've been thirty two") == ["thirty two"]


def test_a_wait_said_after_will_be_is_not_an_age() -> None:
    assert ages("i'll be ten minutes late") == []
    assert ages("we'll be two of us") == []


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("I came out at nineteen, after college.", "nineteen"),
        ("he was diagnosed at forty-seven.", "forty-seven"),
        ("it stopped when I got taller, at about fourteen.", "fourteen"),
        ("because of appa he had his heart attack at fifty four in the bank where he worked", "fifty four"),
        ("my nan passed away at eighty one in her sleep", "eighty one"),
    ],
)
def test_a_life_event_at_a_number_is_an_age(text: str, age: str) -> None:
    assert age in ages(text)


def test_a_clock_time_after_at_is_not_an_age() -> None:
    assert ages("the bus comes out at nine and I catch it") == []
    assert ages("we meet at eleven.") == []


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("i felt fifteen again in that kitchen", "fifteen"),
        ("you're not nine anymore", "nine"),
        ("she locked us in from like seven till my dad came home", "seven"),
    ],
)
def test_an_age_felt_again_or_as_the_start_of_a_stretch_is_an_age(text: str, age: str) -> None:
    assert age in ages(text)


def test_a_stretch_of_clock_hours_is_not_an_age() -> None:
    assert ages("the shop is open from nine till five") == []
    assert ages("i was there from nine until my shift ended") == []


def test_the_second_number_of_a_pair_of_ages_is_an_age() -> None:
    assert ages("And you're fifty-two and forty-eight, right?") == ["fifty-two", "forty-eight"]
    assert ages("they're like seven and ten so it's loud") == ["seven", "ten"]
    assert ages("I'm forty and two kids later I'm tired") == ["forty"]


def test_an_age_hedged_between_two_numbers_is_one_age() -> None:
    assert ages("that's what he did to me when i was like nine or ten") == ["nine or ten"]


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("Fourteen in May.", "Fourteen"),
        ("eighteen in three weeks actually", "eighteen"),
    ],
)
def test_an_answer_that_turns_a_year_older_soon_is_an_age(text: str, age: str) -> None:
    assert age in ages(text)


def test_a_small_count_in_some_weeks_is_not_an_age() -> None:
    assert ages("Four in two weeks. Down from nine.") == []


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("we had a party for her seventieth birthday", "seventieth"),
        ("my uncle's fiftieth is next month", "fiftieth"),
        ("it was his twenty first birthday", "twenty first"),
        ("I went home for Mam's birthday. Her sixtieth.", "sixtieth"),
        ("my fortieth is in the spring and i'm dreading it", "fortieth"),
    ],
)
def test_a_birthday_said_as_an_ordinal_is_an_age(text: str, age: str) -> None:
    assert age in ages(text)


def test_an_ordinal_that_is_not_a_birthday_is_not_an_age() -> None:
    assert ages("it was the fiftieth time she asked") == []
    assert ages("her first birthday party i went to") == []
    assert ages("it was the patient's fortieth visit") == []
    assert ages("we had a meal for our fortieth") == []
    assert ages("it was her fortieth anniversary at the firm") == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("we split up last august", "last august"),
        ("the order runs through next june", "next june"),
        ("I haven't had a drink since like march", "march"),
        ("the transfer is so maybe april", "april"),
        ("around march i got promoted to site lead", "march"),
    ],
)
def test_a_month_with_last_next_or_a_hedge_is_a_date(text: str, date: str) -> None:
    assert date in dates(text)


def test_a_month_word_that_is_a_verb_or_a_wish_is_not_a_date() -> None:
    assert dates("we may march for it") == []
    assert dates("you may be right") == []
    assert dates("so like march was hard") == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("how about thursday the twelfth as our next one", "thursday the twelfth"),
        ("see you on the nineteenth take care", "the nineteenth"),
        ("let's meet again on the thirtieth bring the letter", "the thirtieth"),
        ("maybe read it at the grave on the thirtieth that's when we go back", "the thirtieth"),
        ("i'd love to hear how the twenty first goes", "the twenty first"),
        ("let's book the next session for just after the twenty seventh either way", "the twenty seventh"),
        ("the exam's the sixth then the report's the ninth i've got them on a sticky note", "the ninth"),
    ],
)
def test_a_spelled_day_after_a_weekday_or_on_is_a_date(text: str, date: str) -> None:
    assert date in dates(text)


def test_an_ordinal_before_a_noun_is_not_a_date() -> None:
    assert dates("she got it on the third try") == []
    assert dates("it was on the second visits list") == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("i've been sober since thanksgiving", "thanksgiving"),
        ("her mom said maybe christmas eve", "christmas eve"),
        ("the visa runs out around New Year's.", "New Year's"),
    ],
)
def test_a_holiday_as_a_point_in_time_is_a_date(text: str, date: str) -> None:
    assert date in dates(text)


def test_a_holiday_as_an_occasion_is_not_a_date() -> None:
    assert dates("There's a Christmas party at work.") == []
    assert dates("he said something at christmas") == []
    assert dates("we might lose staff in the new year") == []


def test_an_age_in_years_of_age_or_turned_before_an_ordinal_word_is_an_age() -> None:
    assert "forty four" in ages("it didn't feel like a plan i'm forty four years of age and i was shaking")
    assert ages("for my mum's birthday she turned seventy first time without him") == ["seventy"]
    assert ages("he came in seventy first out of eighty runners") == []


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("she's eleven weeks tomorrow sorry in advance if she cries", "eleven weeks"),
        ("She's four months, a dote.", "four months"),
        ("the baby is nine weeks old and sleeping better", "nine weeks"),
        ("Saoirse's seven months.", "seven months"),
        ("her little boy is four months she's been asking me", "four months"),
        ("he's eleven weeks and he still wakes every two hours", "eleven weeks"),
    ],
)
def test_a_baby_s_age_in_weeks_or_months_is_an_age(text: str, age: str) -> None:
    assert ages(text) == [age]


@pytest.mark.parametrize(
    "text",
    ["i'm eleven weeks pregnant", "he's six months sober", "it's six weeks now", "she's two months behind on rent"],
)
def test_a_pregnancy_a_sobriety_or_a_wait_in_weeks_or_months_is_not_an_age(text: str) -> None:
    assert ages(text) == []


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("Now he's a big man of twenty-nine and I don't know him.", "twenty-nine"),
        ("a girl of six should not have to see that", "six"),
    ],
)
def test_an_age_after_a_man_or_a_girl_of_is_an_age(text: str, age: str) -> None:
    assert ages(text) == [age]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("The 4th's good. I'll bring the letter.", "The 4th's"),
        ("the twenty fourth's fine for me", "the twenty fourth's"),
    ],
)
def test_a_day_said_to_suit_is_a_date(text: str, date: str) -> None:
    assert dates(text) == [date]


def test_the_first_or_second_said_to_be_something_is_not_a_date() -> None:
    assert dates("the first's always the hardest") == []


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("his dad started exactly like this weed at fifteen then the drinking", "fifteen"),
        ("she's good six foot at sixteen got it from her mom's side", "sixteen"),
        ("i came here alone at twenty two to study", "twenty two"),
    ],
)
def test_at_a_number_from_thirteen_before_what_follows_an_age_is_an_age(text: str, age: str) -> None:
    assert ages(text) == [age]


def test_at_twenty_to_is_a_clock_time() -> None:
    assert ages("we meet at twenty to six then go") == []
    assert ages("it went up at fifteen percent then") == []
    assert ages("i reckon i sent it at eighty five then i noticed") == []
