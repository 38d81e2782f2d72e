"""Names after a title or a transcriber's note, full names given alone, mailboxes in everyday words and code
suffixes, said aloud."""

from __future__ import annotations

import pytest
from phi_found import found


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("thank you doctor finch", "doctor finch"),
        ("we went to see doctor lark about the letter", "doctor lark"),
        ("mister wood was my teacher back then", "mister wood"),
    ],
)
def test_an_everyday_word_after_a_title_is_a_surname_and_goes_with_its_title(text: str, name: str) -> None:
    assert found(text) == {name: "NAME"}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Telling Mr. Forde I'm leaving at two.", "Mr. Forde"),
        ("I told Dr. Haynes I'd try.", "Dr. Haynes"),
    ],
)
def test_the_speakers_own_i_after_a_name_is_not_part_of_it(text: str, name: str) -> None:
    assert found(text) == {name: "NAME"}


@pytest.mark.parametrize(
    "text",
    [
        "she wants to be a doctor when she grows up",
        "i have a doctor appointment on friday",
        "the doctor who saw me was kind",
    ],
)
def test_a_title_used_as_a_job_names_nobody(text: str) -> None:
    assert "NAME" not in found(text).values()


def test_a_first_name_and_a_word_alone_in_a_turn_is_a_full_name() -> None:
    assert found("tobias crane") == {"tobias crane": "NAME"}


def test_a_first_name_and_a_reply_is_not_a_full_name() -> None:
    assert "grace okay" not in found("grace okay")


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("send it to intake at maplewood clinic dot org please", "intake at maplewood clinic dot org"),
        ("it's referrals at harbor therapy dot com", "referrals at harbor therapy dot com"),
    ],
)
def test_a_shared_mailbox_named_in_an_everyday_word_is_a_contact(text: str, address: str) -> None:
    assert found(text).get(address) == "CONTACT"


def test_working_at_a_place_with_a_web_address_is_not_a_mailbox() -> None:
    assert not any(k.startswith("work") for k in found("i work at maplewood clinic dot org now"))


def test_a_letter_after_dash_ends_a_spoken_code() -> None:
    text = "the case is four seven seven two one nine dash c and that's it"
    assert found(text).get("four seven seven two one nine dash c") == "ID"


def test_a_plain_number_of_things_is_not_a_code() -> None:
    assert found("we have four seven dogs") == {}


@pytest.mark.parametrize(
    ("text", "handle"),
    [
        ("my handle's literally at k a y dot l e e dot waves and he's on it", "at k a y dot l e e dot waves"),
        ("follow my page at sunny dot days dot bakes please", "at sunny dot days dot bakes"),
    ],
)
def test_a_handle_said_after_at_is_a_contact(text: str, handle: str) -> None:
    assert found(text).get(handle) == "CONTACT"


def test_at_without_a_handle_word_is_not_a_handle() -> None:
    assert not any(k.startswith("at") for k in found("we met at sunny dot days dot bakes"))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("the file number they gave me is r w c two two nine one a d they said", "r w c two two nine one a d"),
        ("the rego's k r m four one seven and they'll fit it", "k r m four one seven"),
    ],
)
def test_letters_after_a_spoken_code_and_a_code_word_with_s_make_a_code(text: str, code: str) -> None:
    assert found(text).get(code) == "ID"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Some days it's sad. (pause) But I'm not ready to tell my parents.", set()),
        ("(sighs) That was the worst of it.", set()),
        ("It was quiet. (pause) When Jamie left, I stopped cooking.", {"Jamie"}),
        ("(laughs) Cape Town in winter, hey.", {"Cape Town"}),
        ("(pause) Noted. Let's come back to it.", set()),
        ("(laughs) Fair enough, I asked for that.", set()),
        ("(sighs) Nobody tells you that part.", set()),
        ("(pause) Priya said it first.", {"Priya"}),
    ],
)
def test_a_sentence_after_a_transcribers_note_opens_with_no_name(text: str, names: set[str]) -> None:
    assert set(found(text)) == names
