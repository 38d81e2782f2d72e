"""Cue windows in long unpunctuated turns, disclosures followed across turns, and the new cue families."""

from __future__ import annotations

import pytest

from sotto.privacy import topics
from sotto.privacy.settings import TOPICS
from sotto.privacy.topic_threads import TurnShape, bridging_questions, content_words, refers_back
from sotto.privacy.topic_windows import Cue, cue_windows
from sotto.privacy.topics import find_passages


def removed(texts: list[str], speakers: list[str] | None = None) -> list[tuple[int, str, str]]:
    return [(p.turn, p.category, texts[p.turn][p.start : p.end]) for p in find_passages(texts, TOPICS, speakers)]


def test_a_cue_late_in_a_long_unpunctuated_turn_takes_its_clause_not_the_turn() -> None:
    text = (
        "i spent the whole weekend painting the back fence with my neighbour from across the road and her two "
        "boys held the ladder and then we cleaned the brushes out in the garden and put the tins back in the shed "
        "and we ordered pizza after "
        "she said her brother was in rehab twice before it stuck she told me to stop worrying about the paint"
    )
    ((_, category, passage),) = removed([text])
    assert category == "substance"
    assert passage.startswith("she said her brother was in rehab")
    assert "fence" not in passage and "pizza" not in passage


def test_a_disclosure_told_all_through_an_unpunctuated_turn_takes_it_whole() -> None:
    text = (
        "i was drinking every night and then the blackouts started and i hid the bottles in the garage "
        "and my wife found the vodka under the seat of the car"
    )
    ((_, _, passage),) = removed([text])
    assert passage == text


def test_an_unpunctuated_turn_carrying_on_a_disclosure_is_not_cut_into_windows() -> None:
    texts = [
        "how much are you drinking these days",
        "more than i should honestly most nights a bottle of wine sometimes two and it got worse after the "
        "layoff because there was nothing to get up for in the morning",
    ]
    assert [t for t, _, p in removed(texts, ["therapist", "client"]) if p == texts[t]] == [0, 1]


def test_a_window_stops_at_a_subject_pronoun_and_leaves_a_joining_word_behind() -> None:
    text = "honestly a slip is information my counselor keeps saying that over and over to me and we found a flat"
    start = text.index("slip")
    rest = " near the park with a yard for the dog and a long garden out the back and a bus to town at the corner"
    assert cue_windows(text + rest, [
        Cue("substance", start, start + 4)
    ]) == [(0, text.index(" and we"), "substance")]  # fmt: skip


def test_a_turn_whose_window_covers_two_fifths_of_it_is_taken_whole() -> None:
    # A disclosure in unpunctuated speech more often runs past its window than stops where it does.
    text = "honestly a slip is information my counselor keeps saying that over and over to me and we found a flat"
    start = text.index("slip")
    rest = " near the park with a yard for the dog and a long garden out the back"  # 15 words of 36 in the window
    assert cue_windows(text + rest, [Cue("substance", start, start + 4)]) is None


def test_windows_close_together_join_and_a_dense_turn_is_taken_whole() -> None:
    text = "the pills first then the heroin then the needles in the bathroom and the money gone"
    cues = [Cue("substance", text.index(w), text.index(w) + len(w)) for w in ("pills", "heroin", "needles")]
    assert cue_windows(text, cues) is None


def test_a_question_between_two_parts_of_a_disclosure_is_part_of_it() -> None:
    texts = [
        "Some nights I think about calling my old dealer. It would be so easy.",
        "What did you do when that happened this week?",
        "I called my sponsor instead and we talked for an hour.",
    ]
    assert [t for t, _, _ in removed(texts, ["client", "therapist", "client"])] == [0, 1, 2]


def shape(category: str | None, text: str, speaker: str, question: bool = False) -> TurnShape:
    return TurnShape(
        category=category, cued=False, content=content_words(text), refers_back=refers_back(text),
        question=question, words=len(text.split()), speaker=speaker,
    )  # fmt: skip


def test_a_bare_prompt_between_two_parts_of_a_disclosure_is_not() -> None:
    shapes = [
        shape("substance", "I called my old dealer.", "client"),
        shape(None, "And how did it go?", "therapist", question=True),
        shape("substance", "I called my sponsor too.", "client"),
    ]
    assert bridging_questions(shapes) == {}


def test_a_question_naming_what_was_just_told_bridges_it() -> None:
    shapes = [
        shape("immigration", "They sent a letter asking for more evidence about the renewal.", "client"),
        shape(None, "What goes through your mind when the renewal letter comes?", "therapist", question=True),
        shape("immigration", "That I will be on a plane.", "client"),
    ]
    assert bridging_questions(shapes) == {1: "immigration"}
    assert refers_back("and how was that week after a night like that") and not refers_back("like that one")


def test_a_cover_story_for_prison_is_a_criminal_passage() -> None:
    ((_, category, _),) = removed(["Mum told everyone he was working abroad those three years."])
    assert category == "criminal"


def test_confinement_told_without_the_word_prison_is_a_criminal_passage() -> None:
    ((_, category, _),) = removed(["Two years of somebody else deciding when I eat and when I sleep."])
    assert category == "criminal"


def test_the_answer_to_a_session_long_topic_in_a_short_sentence_counts_only_for_its_speaker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The rules alone: the passage model, reading a five-turn session that opens on the relapse, takes
    # the whole last turn for part of it.
    monkeypatch.setattr(topics, "MODEL", None)
    texts = [
        "I relapsed in March after two years sober.",
        "Let's talk about the new job.",
        "It's fine. Long shifts, good people.",
        "Anything else on your mind?",
        "The team meetings at work run long every single week now. Skipping the meeting.",
    ]
    passages = removed(texts, ["client", "therapist", "client", "therapist", "client"])
    assert [(t, p) for t, _, p in passages if t == 4] == [(4, "Skipping the meeting.")]
    assert removed(texts, ["client", "therapist", "client", "therapist", "therapist"])[1:] == []


def test_a_transition_by_the_therapist_is_not_taken_into_the_disclosure_after_it() -> None:
    texts = [
        "Before we finish, I want to come back to the dreams you mentioned last month.",
        "It's what happened at my uncle's house when I was a kid. He abused me.",
    ]
    assert [t for t, _, _ in removed(texts, ["therapist", "client"])] == [1]
    texts[0] = "You mentioned the dreams last month. Are they back?"
    assert [t for t, _, _ in removed(texts, ["therapist", "client"])] == [0, 1]


def test_after_a_transition_a_weak_cue_needs_its_topic_raised_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    # The rules alone: the passage model, reading the relapse two turns before, may take the drinks too.
    monkeypatch.setattr(topics, "MODEL", None)
    texts = [
        "I relapsed last weekend and drank the whole bottle.",
        "Let's talk about work for a moment. How is the new manager?",
        "She's fine. We all had a few drinks after the product launch on Thursday, everyone did.",
    ]
    assert [t for t, _, _ in removed(texts, ["client", "therapist", "client"])] == [0]
    texts[1] = "How is the new manager?"
    assert [t for t, _, _ in removed(texts, ["client", "therapist", "client"])] == [0, 2]


def test_a_hesitation_inside_a_cue_phrase_does_not_hide_it() -> None:
    ((_, category, _),) = removed(["two years of somebody else um deciding when i eat and when i sleep"])
    assert category == "criminal"
