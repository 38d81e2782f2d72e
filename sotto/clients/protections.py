"""The "how your recordings are protected" page, written from the practice's real settings."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sotto.accounts.models import Practice
from sotto.audit import service as audit
from sotto.config import Settings
from sotto.consent import template as forms
from sotto.crypto.keystore import KeyStore
from sotto.mail import service as mail

Section = tuple[str, list[str]]


def sections(practice: Practice, settings: Settings) -> list[Section]:
    """The page's headings and paragraphs; every sentence about a setting comes from its current value."""
    context = forms.form_context(practice, "your therapist", settings.invitation_ttl_days)
    return [
        (
            "Where your recordings are",
            [
                f"Recordings are processed and stored only on {practice.name}'s own server. No outside company's "
                "AI service hears or reads them: the speech recognition and every other step run on that server.",
            ],
        ),
        (
            "How they are protected",
            [
                "Each recording is encrypted the moment it arrives (AES-256-GCM), with its own random key. Those "
                "keys are themselves encrypted with a master key kept apart from the recordings and the database.",
                "Nothing is written to disk unencrypted, not even temporarily.",
                "Deleting a recording destroys its key, so what remains cannot be read by anyone.",
            ],
        ),
        ("What is removed", [context.phi_removal, context.topics_removed]),
        (
            "How long things are kept",
            [
                context.audio_retention,
                f"Transcripts and notes made from them are {context.transcript_retention}.",
                "When the time is up they are deleted automatically, and you can see a receipt on your page.",
            ],
        ),
        (
            "Who can see them",
            [
                "Your therapist. A clinical supervisor only if you allowed supervision and your therapist shares a "
                "session. The practice's administrators manage accounts and settings but cannot open session content.",
                "Every access to session content is written to a tamper-evident log.",
            ],
        ),
        (
            "Your rights",
            [
                "You choose each use of your recordings and can change your choices at any time.",
                "You can withdraw your consent at any time, even during a session: recording stops and that "
                "session's recording is destroyed.",
                "On your private page you can see what is kept and until when, ask for a copy, and ask for deletion.",
            ],
        ),
    ]


def as_text(practice: Practice, settings: Settings) -> str:
    lines = [f"How your recordings are protected at {practice.name}", ""]
    for heading, paragraphs in sections(practice, settings):
        lines += [heading.upper(), *paragraphs, ""]
    return "\n".join(lines)


def send(
    session: Session, *, keystore: KeyStore, settings: Settings, practice: Practice, email: str, actor: str
) -> None:
    """Queue the page as an e-mail to a client; the address is used for this message only."""
    address = mail.plain_address(email)
    if address is None:
        raise ValueError("Enter the client's e-mail address.")
    mail.queue_message(
        session,
        keystore=keystore,
        message=mail.compose(
            sender=settings.mail_from,
            to=address,
            subject=f"{practice.name}: how your recordings are protected",
            text=as_text(practice, settings),
        ),
    )
    audit.record(
        session,
        keystore=keystore,
        action="practice.protections_sent",
        actor=actor,
        practice_id=practice.id,
        subject=f"practice:{practice.id}",
    )
