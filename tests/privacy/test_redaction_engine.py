"""The redaction engine: placeholders, markers, settings, empty sessions, and no transcript in logs."""

from __future__ import annotations

import logging

import pytest

from sotto.privacy import topics
from sotto.privacy.engine import RedactionResult, default_redactor, redact_turns
from sotto.privacy.settings import PrivacySettings


@pytest.fixture(autouse=True)
def rules_decide_passages(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about placeholders, markers, spans and settings, on a four-turn session the
    passage model (which reads whole sessions) is not made for: the rules decide its passages."""
    monkeypatch.setattr(topics, "MODEL", None)


SESSION = [
    ("therapist", "Good to see you, Maria. How was the week?"),
    ("client", "Long. Maria Lopez is still my name on the lease at 41 Tremont Court, and I'm 52 now."),
    ("client", "I got arrested for a DUI in 2019, and I was on probation until last year."),
    ("therapist", "Ms. Lopez, can I reach you at maria.lopez@example.com if the call drops?"),
]


def test_identifiers_become_consistent_placeholders_and_passages_a_neutral_marker() -> None:
    result = redact_turns(SESSION)
    assert result.texts[0] == "Good to see you, [Name 1]. How was the week?"
    assert "[Name 1] is still my name on the lease at [Place 1]" in result.texts[1]
    assert "[Age]" in result.texts[1]
    assert result.texts[2] == "[removed: sensitive topic]"
    # The title goes with the name: "Ms." would tell the reader the person's gender.
    assert result.texts[3] == "[Name 1], can I reach you at [Contact 1] if the call drops?"


def test_spans_point_into_the_original_text_and_are_counted() -> None:
    result = redact_turns(SESSION)
    for span in result.spans:
        original = SESSION[span.segment][1][span.start : span.end]
        assert original and span.placeholder
    assert result.counts["criminal"] == 1
    assert result.counts["NAME"] == 3
    topic = next(s for s in result.spans if s.category == "topic")
    assert (topic.segment, topic.start, topic.end) == (2, 0, len(SESSION[2][1]))


def test_a_topic_turned_off_is_kept() -> None:
    settings = PrivacySettings(topics=frozenset({"substance", "trauma"}))
    result = redact_turns(SESSION, settings)
    assert "arrested for a DUI" in result.texts[2]


def test_the_marker_names_the_category_when_the_setting_says_so() -> None:
    result = redact_turns(SESSION, PrivacySettings(marker_names_category=True))
    assert result.texts[2] == "[removed: criminal history]"


def test_identifiers_stay_when_phi_removal_is_off_but_topics_still_go() -> None:
    result = redact_turns(SESSION, PrivacySettings(phi_removal=False))
    assert result.texts[0] == SESSION[0][1]
    assert "maria.lopez@example.com" in result.texts[3]
    assert result.texts[2] == "[removed: sensitive topic]"
    assert all(span.category == "topic" for span in result.spans)


@pytest.mark.parametrize("turns", [[], [("therapist", ""), ("client", "   ")]])
def test_an_empty_session_gives_empty_turns_back(turns: list[tuple[str, str]]) -> None:
    result = redact_turns(turns)
    assert result == RedactionResult(texts=[text for _, text in turns], spans=[])


def test_speech_recognition_text_is_redacted_too() -> None:
    result = redact_turns(
        [
            ("therapist", "hi marisol is your cell still five five five one two three four"),
            ("client", "yes and my email is j o h n at example dot com my friend lorraine has it too"),
        ]
    )
    assert result.texts[0] == "hi [Name 1] is your cell still [Contact 1]"
    assert result.texts[1] == "yes and my email is [Contact 2] my friend [Name 2] has it too"


def test_redaction_logs_no_transcript_text(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        default_redactor().redact_turns(SESSION, PrivacySettings.default())
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("Maria", "Lopez", "maria.lopez@example.com", "Tremont", "DUI", "arrested"):
        assert secret not in logged
