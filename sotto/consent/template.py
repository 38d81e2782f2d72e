"""The practice's recording-consent form: placeholders, validation, filling and safe HTML.

A consent template is Markdown written (or adopted from ``default_template.md``) by the
practice admin. ``{{name}}`` placeholders are filled from the practice's *current* privacy
settings, so the form a client signs always quotes what the system actually does.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, fields
from importlib import resources

import nh3
from markdown_it import MarkdownIt

from sotto.accounts.models import ALL_PARTY_CONSENT_STATES, SENSITIVE_TOPICS, TOPIC_LABELS, US_STATES, Practice

MAX_TEMPLATE_CHARS = 50_000

# Words a form must contain before it may be sent: a consent form that does not say that
# taking part is voluntary and can be withdrawn is not one a client can rely on.
REQUIRED_WORDS = {
    "voluntary": "say that taking part is voluntary",
    "withdraw": "explain how to withdraw consent",
}


# A well-formed placeholder; anything else between double braces is malformed.
_BRACED = re.compile(r"\{\{([^{}\n]*)\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TemplateError(ValueError):
    """A consent template that cannot be used; the message is meant for the practice admin."""


@dataclass(frozen=True)
class FormContext:
    """Everything a consent form may quote, as plain text ready to read.

    Each field is one placeholder: ``{{practice_name}}`` and so on.
    """

    practice_name: str
    practice_state: str
    therapist_name: str
    consent_valid_days: int
    consent_valid_period: str
    link_expiry_days: int
    audio_retention: str
    transcript_retention: str
    phi_removal: str
    topics_removed: str
    all_party_notice: str

    def placeholder_values(self) -> dict[str, str]:
        """Return each placeholder's text, unescaped."""
        return {name: str(value) for name, value in asdict(self).items()}


PLACEHOLDERS: frozenset[str] = frozenset(field.name for field in fields(FormContext))


def form_context(practice: Practice, therapist_name: str, link_expiry_days: int) -> FormContext:
    """Describe the practice's current settings in the words the consent form uses.

    Raises ValueError when a setting is missing or out of range: a form must never guess
    what the practice does.
    """
    if not therapist_name.strip():
        raise ValueError("therapist_name is empty")
    if link_expiry_days < 1:
        raise ValueError("link_expiry_days must be at least 1")
    state = US_STATES.get(practice.us_state or "")
    if state is None:
        raise ValueError(f"unknown US state code {practice.us_state!r}")
    settings = (
        "phi_removal",
        "topics_removed",
        "topic_marker_names_category",
        "audio_retention_days",
        "consent_valid_days",
    )
    for setting in settings:
        # Column defaults are applied only on insert; an unsaved Practice may lack them.
        if getattr(practice, setting) is None:
            raise ValueError(f"practice setting {setting} is not set")
    if practice.consent_valid_days < 1:
        raise ValueError("consent_valid_days must be at least 1")
    if practice.audio_retention_days < 0:
        raise ValueError("audio_retention_days cannot be negative")
    retention = practice.transcript_retention_days
    if retention is not None and retention < 1:
        raise ValueError("transcript_retention_days must be at least 1, or None to keep until deleted")
    unknown = set(practice.topics_removed) - set(SENSITIVE_TOPICS)
    if unknown:
        raise ValueError(f"unknown sensitive topics {sorted(unknown)}")

    return FormContext(
        practice_name=practice.name,
        practice_state=state,
        therapist_name=therapist_name,
        consent_valid_days=practice.consent_valid_days,
        consent_valid_period=_period(practice.consent_valid_days),
        link_expiry_days=link_expiry_days,
        audio_retention=_audio_retention(practice.audio_retention_days, practice),
        transcript_retention=_transcript_retention(retention),
        phi_removal=_phi_removal(practice.phi_removal),
        topics_removed=_topics_removed(practice.topics_removed, practice.topic_marker_names_category),
        all_party_notice=_all_party_notice(practice.us_state, state),
    )


def validate_template(body: str) -> None:
    """Accept a template that can be filled and sent, or raise TemplateError saying why."""
    if not body.strip():
        raise TemplateError("The consent form is empty.")
    if len(body) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"The consent form is {len(body):,} characters long; the limit is {MAX_TEMPLATE_CHARS:,}.")
    for match in _BRACED.finditer(body):
        inner = match.group(1).strip()
        where = _line_of(body, match.start())
        if not _NAME.fullmatch(inner):
            raise TemplateError(
                f"Malformed placeholder {match.group(0)} on line {where}; "
                f"a placeholder is a name in double braces, such as {{{{practice_name}}}}."
            )
        if inner not in PLACEHOLDERS:
            raise TemplateError(
                f"Unknown placeholder {{{{{inner}}}}} on line {where}; the allowed ones are "
                + ", ".join(f"{{{{{name}}}}}" for name in sorted(PLACEHOLDERS))
                + "."
            )
    leftover = _BRACED.sub("", body)
    for brace in ("{{", "}}"):
        position = leftover.find(brace)
        if position >= 0:
            raise TemplateError(
                f"Unmatched {brace} on line {_line_of(leftover, position)}; "
                "each placeholder opens with {{ and closes with }} on the same line."
            )
    lowered = body.lower()
    for word, purpose in REQUIRED_WORDS.items():
        if word not in lowered:
            raise TemplateError(f'The consent form must {purpose} (it never uses the word "{word}").')


def fill_template(body: str, context: FormContext) -> str:
    """Return the form's Markdown with every placeholder replaced by the context's text.

    The template is validated first (TemplateError if unusable). Inserted values are
    escaped so that they always read as plain text, never as Markdown or HTML.
    """
    validate_template(body)
    values = {name: markdown_literal(text) for name, text in context.placeholder_values().items()}
    # One pass: a value that itself contains "{{...}}" is inserted as is, never expanded.
    return _BRACED.sub(lambda match: values[match.group(1).strip()], body)


def markdown_literal(text: str) -> str:
    """Return text that Markdown renders exactly as written, on a single line."""
    text = " ".join(text.split())
    # CommonMark lets any ASCII punctuation be backslash-escaped; these are the characters
    # that can start emphasis, code, links, raw HTML, entities or table cells anywhere.
    text = re.sub(r"([\\`*_\[\]<>&|])", r"\\\1", text)
    # These matter only where a line begins (headings, lists, rules); a value might.
    if text[:1] in ("#", "+", "-", "="):
        text = "\\" + text
    return re.sub(r"^(\d+)([.)])", r"\1\\\2", text)


_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")

_SANITISER = nh3.Cleaner(
    tags={
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
    },
    attributes={"a": {"href", "title"}, "ol": {"start"}},
    url_schemes={"http", "https", "mailto"},
    # Relative links would resolve against whichever page shows the form; none is wanted.
    url_relative="deny",
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def form_html(markdown_text: str) -> str:
    """Render the form's Markdown as HTML that is safe to insert into a page unescaped.

    Raw HTML in the Markdown is shown as text; the result passes a strict allow-list of
    tags and attributes, with links limited to http, https and mailto.
    """
    # markdown-it already refuses raw HTML and javascript:/data: links; the sanitiser
    # stands behind it in case either ever changes.
    return _SANITISER.clean(_MARKDOWN.render(markdown_text))


def sha256_text(text: str) -> str:
    """Return the hex SHA-256 of the text's UTF-8 bytes (template bodies, filled forms)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


DEFAULT_TEMPLATE: str = resources.files("sotto.consent").joinpath("default_template.md").read_text(encoding="utf-8")


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def _period(days: int) -> str:
    if days % 365 == 0:
        years = days // 365
        return "12 months" if years == 1 else f"{years} years"
    if days % 30 == 0:
        months = days // 30
        return "1 month" if months == 1 else f"{months} months"
    if days % 7 == 0:
        weeks = days // 7
        return "1 week" if weeks == 1 else f"{weeks} weeks"
    return _days(days)


def _audio_retention(days: int, practice: Practice) -> str:
    if days == 0:
        return "Raw audio is destroyed as soon as the transcript has been made."
    # Kept audio is redacted like the transcript, so say only what is actually silenced.
    if practice.phi_removal:
        silenced = ", with identifying details silenced,"
    elif practice.topics_removed:
        silenced = ", with removed sensitive topics silenced,"
    else:
        silenced = ""
    return f"Audio{silenced} is kept for {_days(days)} and then destroyed."


def _transcript_retention(days: int | None) -> str:
    if days is None:
        return "kept until you or your therapist delete them"
    return f"kept for {_days(days)}, then deleted"


def _phi_removal(enabled: bool) -> str:
    if enabled:
        return (
            "Before a transcript is saved, software removes names, places, dates, phone numbers "
            "and other details that could identify you or the people you talk about. The full, "
            "unedited transcript is never stored."
        )
    return (
        "This practice has turned off automatic removal of identifying details. Transcripts may "
        "include names, places, dates and other details that could identify you or the people "
        "you talk about."
    )


def _topics_removed(enabled: list[str], marker_names_category: bool) -> str:
    removed = [TOPIC_LABELS[topic] for topic in SENSITIVE_TOPICS if topic in enabled]
    kept = [TOPIC_LABELS[topic] for topic in SENSITIVE_TOPICS if topic not in enabled]
    # Semicolons, because labels such as "trauma and abuse" contain "and" themselves.
    if not removed:
        return (
            "This practice has turned off removal of sensitive topics, so what is said about "
            f"them stays in the transcript. These include: {'; '.join(kept)}."
        )
    marker = (
        "a marker that names the topic but not what was said"
        if marker_names_category
        else "a neutral marker that does not say what the topic was"
    )
    sentence = (
        "Before a transcript is saved, anything said about these topics is removed and "
        f"replaced with {marker}: {'; '.join(removed)}."
    )
    if kept:
        sentence += f" These topics are not removed: {'; '.join(kept)}."
    return sentence


def _all_party_notice(code: str, state: str) -> str:
    if code not in ALL_PARTY_CONSENT_STATES:
        return ""
    return (
        f"{state} law requires everyone taking part in a private conversation to agree before "
        "it is recorded. No session will be recorded without your consent, and anyone else who "
        "joins a session must agree too."
    )
