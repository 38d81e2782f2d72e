"""The consent-form template: validation, filling from real settings, and safe HTML."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from sotto.accounts.models import SENSITIVE_TOPICS, Practice
from sotto.consent.template import (
    DEFAULT_TEMPLATE,
    MAX_TEMPLATE_CHARS,
    PLACEHOLDERS,
    FormContext,
    TemplateError,
    fill_template,
    form_context,
    form_html,
    sha256_text,
    validate_template,
)


def make_practice(**settings: Any) -> Practice:
    values: dict[str, Any] = {
        "name": "Quiet Harbor Counseling",
        "us_state": "NY",
        "phi_removal": True,
        "topics_removed": list(SENSITIVE_TOPICS),
        "topic_marker_names_category": False,
        "audio_retention_days": 0,
        "transcript_retention_days": 365,
        "consent_valid_days": 365,
    }
    values.update(settings)
    return Practice(**values)


def filled(**settings: Any) -> str:
    context = form_context(make_practice(**settings), therapist_name="Dana Reyes, LCSW", link_expiry_days=7)
    return fill_template(DEFAULT_TEMPLATE, context)


def prose(markdown_text: str) -> str:
    """The text as a reader sees it: line breaks and emphasis markers don't split phrases."""
    return " ".join(markdown_text.replace("*", "").split())


def test_default_template_validates() -> None:
    validate_template(DEFAULT_TEMPLATE)


def test_default_template_uses_every_placeholder() -> None:
    used = set(re.findall(r"\{\{(\w+)\}\}", DEFAULT_TEMPLATE))
    assert used == PLACEHOLDERS


def test_filling_the_default_leaves_no_placeholder() -> None:
    text = filled()
    assert "{{" not in text
    assert "}}" not in text
    assert "Quiet Harbor Counseling" in text
    assert "Dana Reyes, LCSW" in text


@pytest.mark.parametrize(
    "phrase",
    [
        "withdraw",
        "voluntary",
        "will not change your care",
        "even in the middle of a session",
        "recording stops right away",
        "recorded of the current session is destroyed",
        "therapist review",
        "clinical supervision",
        "supervisor",
        "ai-drafted notes",
        "artificial intelligence (ai)",
        "not sent to outside ai services",
        "a recap for you",
        "limits of confidentiality",
        "mandated reporting",
        "imminent danger",
        "court order",
        "encrypted",
        "private link",
        "paper copy",
        "free of charge",
        "esign act",
        "withdraw your agreement to electronic records",
        "how this differs from withdrawing your recording consent",
        "hardware and software",
        "web browser",
        "pdf",
        "e-mail account",
        "print or save",
        "updating your contact information",
    ],
)
def test_filled_default_covers_required_topic(phrase: str) -> None:
    assert phrase in prose(filled()).lower()


def test_no_audio_kept_is_stated() -> None:
    text = prose(filled(audio_retention_days=0))
    assert "Raw audio is destroyed as soon as the transcript has been made." in text
    assert "is kept for" not in text.split("Identifying details.")[0].split("Audio.")[1]


def test_kept_audio_states_its_days() -> None:
    text = prose(filled(audio_retention_days=30))
    assert "Audio, with identifying details silenced, is kept for 30 days and then destroyed." in text
    assert "Raw audio is destroyed as soon as" not in text


def test_kept_audio_without_phi_removal_does_not_claim_identifiers_are_silenced() -> None:
    text = prose(filled(audio_retention_days=14, phi_removal=False, topics_removed=[]))
    assert "Audio is kept for 14 days and then destroyed." in text
    assert "identifying details silenced" not in text


def test_phi_removal_on_and_off_are_stated() -> None:
    assert "The full, unedited transcript is never stored." in prose(filled(phi_removal=True))
    off = prose(filled(phi_removal=False))
    assert "turned off automatic removal of identifying details" in off
    assert "never stored" not in off


def test_only_the_enabled_topics_are_said_to_be_removed() -> None:
    text = prose(filled(topics_removed=["substance", "criminal"]))
    assert "does not say what the topic was: criminal history; substance use." in text
    assert (
        "These topics are not removed: immigration status; sexual orientation and gender identity; "
        "trauma and abuse; sexual and reproductive health" in text
    )


def test_all_topics_removed_lists_every_one() -> None:
    text = prose(filled())
    for label in (
        "criminal history",
        "immigration status",
        "sexual orientation and gender identity",
        "trauma and abuse",
        "substance use",
        "sexual and reproductive health",
    ):
        assert label in text
    assert "These topics are not removed" not in text


def test_topic_removal_off_is_stated() -> None:
    text = prose(filled(topics_removed=[]))
    assert "turned off removal of sensitive topics" in text
    assert "is removed and replaced with" not in text


def test_marker_that_names_the_topic_is_disclosed() -> None:
    assert "a marker that names the topic" in prose(filled(topic_marker_names_category=True))
    assert "does not say what the topic was" in prose(filled(topic_marker_names_category=False))


def test_transcript_retention_is_stated() -> None:
    assert "are kept for 90 days, then deleted." in prose(filled(transcript_retention_days=90))
    assert "are kept until you or your therapist delete them." in prose(filled(transcript_retention_days=None))


def test_all_party_state_adds_its_notice() -> None:
    text = prose(filled(us_state="CA"))
    assert "California law requires everyone taking part in a private conversation to agree" in text


def test_one_party_state_has_no_all_party_notice() -> None:
    text = prose(filled(us_state="NY"))
    assert "law requires everyone taking part" not in text
    assert "the laws of New York or federal law" in text


def test_consent_duration_is_stated() -> None:
    text = prose(filled(consent_valid_days=365))
    assert "This consent lasts 12 months" in text
    assert "expires 365 days after you sign" in text
    assert "This consent lasts 6 months" in prose(filled(consent_valid_days=180))
    assert "The link to sign this form works for 7 days." in text


def test_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="state"):
        form_context(make_practice(us_state="ZZ"), therapist_name="Dana", link_expiry_days=7)


def test_unset_privacy_setting_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="phi_removal"):
        form_context(make_practice(phi_removal=None), therapist_name="Dana", link_expiry_days=7)


def test_unknown_placeholder_is_rejected_with_the_allowed_list() -> None:
    with pytest.raises(TemplateError) as caught:
        validate_template("Taking part is voluntary; you may withdraw. Welcome to {{clinic}}.")
    message = str(caught.value)
    assert "Unknown placeholder {{clinic}}" in message
    assert "{{practice_name}}" in message


@pytest.mark.parametrize(
    "body",
    [
        "Voluntary; withdraw any time. {{practice name}}",
        "Voluntary; withdraw any time. {{practice_name}",
        "Voluntary; withdraw any time. {{ practice_name",
        "Voluntary; withdraw any time. practice_name}}",
        "Voluntary; withdraw any time. {{}}",
    ],
)
def test_malformed_placeholder_is_rejected(body: str) -> None:
    with pytest.raises(TemplateError):
        validate_template(body)


def test_spaces_inside_braces_are_allowed() -> None:
    context = form_context(make_practice(), therapist_name="Dana", link_expiry_days=7)
    text = fill_template("Voluntary; you may withdraw. {{ practice_name }}", context)
    assert text.endswith("Quiet Harbor Counseling")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("voluntary withdraw " + "x" * MAX_TEMPLATE_CHARS, "limit"),
        ("You may withdraw at any time.", "voluntary"),
        ("Taking part is voluntary.", "withdraw"),
    ],
)
def test_unusable_body_is_rejected(body: str, reason: str) -> None:
    with pytest.raises(TemplateError, match=reason):
        validate_template(body)


def test_fill_refuses_an_invalid_template() -> None:
    context = form_context(make_practice(), therapist_name="Dana", link_expiry_days=7)
    with pytest.raises(TemplateError):
        fill_template("Voluntary, withdraw. {{clinic}}", context)


def test_inserted_values_read_as_plain_text() -> None:
    practice = make_practice(name="*Bold* & [Co](https://evil.example) <b>")
    context = form_context(practice, therapist_name="# Dr_Who_", link_expiry_days=7)
    html = form_html(fill_template("Voluntary, withdraw.\n\n{{therapist_name}}\n\n{{practice_name}}", context))
    assert "<p># Dr_Who_</p>" in html
    assert "<p>*Bold* &amp; [Co](https://evil.example) &lt;b&gt;</p>" in html
    assert "<a " not in html
    assert "<h1>" not in html


def test_filled_values_do_not_expand_placeholders_again() -> None:
    context = form_context(make_practice(name="{{therapist_name}}"), therapist_name="Dana", link_expiry_days=7)
    text = fill_template("Voluntary, withdraw. {{practice_name}}", context)
    assert "Dana" not in text


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


ALLOWED_TAGS = {
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "a",
    "blockquote",
    "hr",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}


def assert_inert(html: str) -> None:
    """Only allow-listed tags; no event handlers; links only to http, https or mailto."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in ALLOWED_TAGS, html
        for name, value in attrs:
            assert name in {"href", "title", "rel", "start"}, html
            if name == "href":
                assert value is not None
                assert re.match(r"(https?:|mailto:)", value.strip(), re.IGNORECASE), html
    lowered = html.lower()
    for dangerous in ("<script", "<iframe", "<style", "<svg", "<img", "<object", "<embed", "<math"):
        assert dangerous not in lowered, html


XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](https://evil.example/x.png)",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;&#x61;vascript:alert(1))",
    "[x](java&#x09;script:alert(1))",
    '<a href="&#x6A;avascript:alert(1)">x</a>',
    "[x](vbscript:msgbox(1))",
    '<div onmouseover="alert(1)">hover</div>',
    '[x](https://ok.example/"onclick="alert(1))',
    "<!--<script>alert(1)</script>-->",
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "[x](//evil.example/path)",
    "[x](/relative/path)",
    "<javascript:alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> [y](javascript:alert(1)) |",
]


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_xss_vector_in_template_is_neutralised(vector: str) -> None:
    assert_inert(form_html(f"Voluntary, withdraw.\n\n{vector}\n"))


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_xss_vector_in_practice_name_is_neutralised(vector: str) -> None:
    context = form_context(make_practice(name=vector), therapist_name=vector, link_expiry_days=7)
    html = form_html(fill_template(DEFAULT_TEMPLATE, context))
    assert_inert(html)
    assert "<a " not in html


def test_safe_link_is_kept_with_noopener() -> None:
    html = form_html("[Our privacy notice](https://practice.example/privacy) and <mailto:office@practice.example>")
    assert '<a href="https://practice.example/privacy" rel="noopener noreferrer">Our privacy notice</a>' in html
    assert 'href="mailto:office@practice.example"' in html


def test_default_form_renders_to_headings_and_lists() -> None:
    html = form_html(filled())
    assert_inert(html)
    assert "<h1>Consent to Record Therapy Sessions</h1>" in html
    assert "<h2>Limits of confidentiality</h2>" in html
    assert "<li>" in html


def test_sha256_text_hashes_utf8() -> None:
    assert sha256_text("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_text("é") == hashlib.sha256(b"\xc3\xa9").hexdigest()


def test_form_context_is_frozen() -> None:
    context = form_context(make_practice(), therapist_name="Dana", link_expiry_days=7)
    assert isinstance(context, FormContext)
    with pytest.raises(AttributeError):
        context.practice_name = "Other"  # type: ignore[misc]
