"""The consent life cycle on the practice's side: templates, send, cancel, withdraw, expire.

Every change is a conditional update on the status, so a double submission or a race
between two devices changes nothing the second time. Services never commit. The client's
side (open the link, sign or decline, their own page) is in `sotto.consent.signing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sotto import clock, events
from sotto.accounts.models import Practice, User
from sotto.audit import service as audit
from sotto.clients.models import Client
from sotto.config import Settings
from sotto.consent import template as forms
from sotto.consent.models import Consent, ConsentStatus, ConsentTemplate
from sotto.crypto.envelope import keyed_hash, new_token, open_sealed, seal, token_hash
from sotto.crypto.keystore import KeyStore
from sotto.db import lock_row, new_id
from sotto.mail import service as mail

PENDING = (ConsentStatus.SENT, ConsentStatus.OPENED)
MAX_NOTE_CHARS = 1000


class ConsentError(ValueError):
    """A request the consent rules refuse; the message is shown as it is."""


# -- templates ------------------------------------------------------------------------


def current_template(session: Session, *, practice_id: str) -> ConsentTemplate:
    """The practice's newest template, creating version 1 from the default if there is none."""
    row = session.scalar(
        select(ConsentTemplate)
        .where(ConsentTemplate.practice_id == practice_id)
        .order_by(ConsentTemplate.version.desc())
        .limit(1)
    )
    if row is None:
        row = ConsentTemplate(
            practice_id=practice_id,
            version=1,
            body=forms.DEFAULT_TEMPLATE,
            sha256=forms.sha256_text(forms.DEFAULT_TEMPLATE),
        )
        session.add(row)
        session.flush()
    return row


def save_template(session: Session, *, keystore: KeyStore, admin: User, body: str) -> ConsentTemplate:
    """Store an edited template as a new version (no-op if unchanged); raises forms.TemplateError."""
    body = body.replace("\r\n", "\n")
    forms.validate_template(body)
    current = current_template(session, practice_id=admin.practice_id)
    if current.sha256 == forms.sha256_text(body):
        return current
    row = ConsentTemplate(
        practice_id=admin.practice_id,
        version=current.version + 1,
        body=body,
        sha256=forms.sha256_text(body),
        created_by=admin.id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        keystore=keystore,
        action="consent.template_saved",
        actor=f"user:{admin.id}",
        practice_id=admin.practice_id,
        subject=f"template:{row.id}",
        details={"version": row.version, "sha256": row.sha256},
    )
    return row


def preview_form(
    session: Session, *, settings: Settings, practice: Practice, therapist_name: str, body: str | None = None
) -> str:
    """The form as a client would see it, as Markdown with the placeholders filled in."""
    body = body if body is not None else current_template(session, practice_id=practice.id).body
    context = forms.form_context(practice, therapist_name, settings.invitation_ttl_days)
    return forms.fill_template(body, context)


# -- sending --------------------------------------------------------------------------


def _check_email(email: str) -> str:
    address = mail.plain_address(email)
    if address is None:
        raise ConsentError("Enter the client's e-mail address, such as name@example.org.")
    return address


def email_mac(keystore: KeyStore, email: str) -> str:
    return keyed_hash(keystore, email.strip().lower(), purpose="client-email")


def latest_consent(session: Session, *, client_id: str) -> Consent | None:
    return session.scalar(
        select(Consent).where(Consent.client_id == client_id).order_by(Consent.sent_at.desc()).limit(1)
    )


def consents_of_client(session: Session, *, keystore: KeyStore, client_id: str) -> list[Consent]:
    """Every consent form sent for this client, newest first, with any expiry that is due applied."""
    rows = list(session.scalars(select(Consent).where(Consent.client_id == client_id).order_by(Consent.sent_at.desc())))
    refresh_statuses(session, keystore=keystore, consents=rows)
    return rows


@dataclass(frozen=True)
class Invitation:
    consent: Consent
    link: str


def send_invitation(
    session: Session,
    *,
    keystore: KeyStore,
    settings: Settings,
    therapist: User,
    client: Client,
    email: str,
    note: str = "",
) -> Invitation:
    """Create the request and queue the e-mail carrying its link; the address is kept encrypted."""
    email = _check_email(email)
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ConsentError(f"Keep the personal note under {MAX_NOTE_CHARS} characters.")
    latest = latest_consent(session, client_id=client.id)
    if latest is not None and refresh_status(session, keystore=keystore, consent=latest) in PENDING:
        raise ConsentError("A consent form is already waiting for this client. Cancel it before sending another.")
    if latest is not None and latest.status == ConsentStatus.SIGNED:
        raise ConsentError(
            "This client's consent is in force. It must be withdrawn or expire before a new form is sent."
        )
    practice = session.get(Practice, therapist.practice_id)
    assert practice is not None
    template = current_template(session, practice_id=practice.id)
    form_text = forms.fill_template(
        template.body, forms.form_context(practice, therapist.display_name, settings.invitation_ttl_days)
    )
    token = new_token()
    consent_id = new_id()
    now = clock.now()
    consent = Consent(
        id=consent_id,
        practice_id=practice.id,
        therapist_id=therapist.id,
        client_id=client.id,
        status=ConsentStatus.SENT,
        template_version=template.version,
        template_sha256=template.sha256,
        form_text=form_text,
        form_sha256=forms.sha256_text(form_text),
        invite_token_hash=token_hash(token),
        email_sealed=seal(keystore, email.encode(), context=f"consent-email:{consent_id}"),
        email_mac=email_mac(keystore, email),
        sent_at=now,
        link_expires_at=now + timedelta(days=settings.invitation_ttl_days),
        uses={},
    )
    session.add(consent)
    session.flush()
    link = f"{settings.public_url}/c/{token}"
    body = [
        f"{therapist.display_name} at {practice.name} is asking for your consent to record your therapy sessions.",
        "",
    ]
    if note:
        body += [f"A note from {therapist.display_name}:", note, ""]
    body += [
        "You can read the form, choose what you allow, and sign or decline here:",
        link,
        "",
        f"The link works for {settings.invitation_ttl_days} days and only for you; please do not forward it.",
        "Saying no is fine and changes nothing about your care.",
        "",
        "If you did not expect this message, you can ignore it.",
    ]
    mail.queue_message(
        session,
        keystore=keystore,
        message=mail.compose(
            sender=settings.mail_from,
            to=email,
            subject=f"{practice.name}: consent to record your sessions",
            text="\n".join(body),
        ),
    )
    audit.record(
        session,
        keystore=keystore,
        action="consent.sent",
        actor=f"user:{therapist.id}",
        practice_id=practice.id,
        subject=f"consent:{consent.id}",
        details={"client": client.id, "template_version": template.version},
    )
    return Invitation(consent, link)


def cancel_invitation(session: Session, *, keystore: KeyStore, therapist: User, consent: Consent) -> None:
    if not _cancel(session, keystore=keystore, consent=consent, actor=f"user:{therapist.id}"):
        raise ConsentError("This request is no longer waiting for the client.")


def _cancel(session: Session, *, keystore: KeyStore, consent: Consent, actor: str, details: dict | None = None) -> bool:
    """Retire an invitation still waiting for the client, and its address; False if it no longer waits."""
    changed = change_status(
        session, consent, PENDING, ConsentStatus.EXPIRED, expired_at=clock.now(), email_sealed=None, email_mac=None
    )
    if changed:
        audit.record(
            session,
            keystore=keystore,
            action="consent.cancelled",
            actor=actor,
            practice_id=consent.practice_id,
            subject=f"consent:{consent.id}",
            details=details,
        )
    return changed


def cancel_invitations_of(
    session: Session, *, keystore: KeyStore, practice_id: str, therapist_id: str, actor: str
) -> int:
    """Cancel every invitation of a therapist that is still waiting for the client (the therapist
    is leaving: a consent signed now would go to them and name them); returns how many.

    Every such consent's row is locked, in one order, before the first is written to the audit
    log, as a client opening or signing one locks it before writing there.
    """
    waiting = session.scalars(
        select(Consent.id)
        .where(
            Consent.practice_id == practice_id,
            Consent.therapist_id == therapist_id,
            Consent.status.in_([str(s) for s in PENDING]),
        )
        .order_by(Consent.id)
    ).all()
    for consent_id in waiting:
        lock_row(session, Consent, consent_id)
    cancelled = 0
    for consent_id in waiting:
        consent = session.get(Consent, consent_id)
        assert consent is not None
        if _cancel(
            session, keystore=keystore, consent=consent, actor=actor, details={"reason": "therapist deactivated"}
        ):
            cancelled += 1
    return cancelled


def hand_over_consents(session: Session, *, client_ids: Sequence[str], therapist: User) -> list[Consent]:
    """Give these clients' consent records to ``therapist``, who now holds the clients, and end every
    consent still in force or waiting: its form names the therapist who sent it, so it no longer
    lets anyone record. Returns the consents ended.

    Every row is locked, in one order, before any is changed. Nothing is written to the audit log
    here: the caller next locks the clients' sessions (a withdrawal takes a consent, then its
    sessions, then the log) and then calls ``note_hand_over``.
    """
    ids = session.scalars(select(Consent.id).where(Consent.client_id.in_(client_ids)).order_by(Consent.id)).all()
    for consent_id in ids:
        lock_row(session, Consent, consent_id)
    session.execute(
        update(Consent)
        .where(Consent.id.in_(ids))
        .values(therapist_id=therapist.id)
        .execution_options(synchronize_session=False)
    )
    ended = []
    now = clock.now()
    for consent_id in ids:
        consent = session.get(Consent, consent_id, populate_existing=True)
        assert consent is not None
        in_force = change_status(session, consent, (ConsentStatus.SIGNED,), ConsentStatus.EXPIRED, expired_at=now)
        if in_force or change_status(
            session, consent, PENDING, ConsentStatus.EXPIRED, expired_at=now, email_sealed=None, email_mac=None
        ):
            ended.append(consent)
    return ended


def note_hand_over(session: Session, *, keystore: KeyStore, consents: Sequence[Consent], to: User, actor: str) -> None:
    """The audit entries for the consents ``hand_over_consents`` ended."""
    for consent in consents:
        audit.record(
            session,
            keystore=keystore,
            action="consent.ended" if consent.signed_at is not None else "consent.cancelled",
            actor=actor,
            practice_id=consent.practice_id,
            subject=f"consent:{consent.id}",
            details={"reason": "therapist handed over", "to": to.id},
        )


# -- status changes -------------------------------------------------------------------


def change_status(
    session: Session, consent: Consent, from_states: tuple[str, ...], to_state: str, **values: object
) -> bool:
    """Atomically move a consent from one of ``from_states``; False if another request got there first."""
    result = session.execute(
        update(Consent)
        .where(Consent.id == consent.id, Consent.status.in_([str(s) for s in from_states]))
        .values(status=str(to_state), **values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(consent)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _expiry_due(consent: Consent, now: datetime) -> bool:
    return (consent.status in PENDING and consent.link_expires_at <= now) or (
        consent.status == ConsentStatus.SIGNED and consent.expires_at is not None and consent.expires_at <= now
    )


def refresh_status(session: Session, *, keystore: KeyStore, consent: Consent) -> str:
    """Apply any expiry that is due to this consent, and return its status."""
    now = clock.now()
    if consent.status in PENDING and consent.link_expires_at <= now:
        action = "consent.invitation_expired"
        expired = change_status(
            session, consent, PENDING, ConsentStatus.EXPIRED, expired_at=now, email_sealed=None, email_mac=None
        )
    elif consent.status == ConsentStatus.SIGNED and consent.expires_at is not None and consent.expires_at <= now:
        action = "consent.expired"
        expired = change_status(session, consent, (ConsentStatus.SIGNED,), ConsentStatus.EXPIRED, expired_at=now)
    else:
        return consent.status
    if expired:
        audit.record(
            session,
            keystore=keystore,
            action=action,
            actor="system",
            practice_id=consent.practice_id,
            subject=f"consent:{consent.id}",
        )
    return consent.status


def refresh_statuses(session: Session, *, keystore: KeyStore, consents: Sequence[Consent]) -> None:
    """Apply the expiries due to several consents in one transaction.

    Every due consent's row is locked, in one order, before the first expiry is written to
    the audit log: a transaction that holds the log and then waits for a consent deadlocks
    on PostgreSQL with one that changed that consent and waits for the log (a client's page
    applying the same expiry, a withdrawal), and one of them is rolled back.
    """
    now = clock.now()
    due = sorted((c for c in consents if _expiry_due(c, now)), key=lambda c: c.id)
    for consent in due:
        lock_row(session, Consent, consent.id)
    for consent in due:
        session.refresh(consent)  # another transaction may have changed it while we waited
        refresh_status(session, keystore=keystore, consent=consent)


def expire_due(session: Session, *, keystore: KeyStore) -> int:
    """Expire every overdue invitation and consent (the periodic sweep); returns how many."""
    now = clock.now()
    due = session.scalars(
        select(Consent).where(
            ((Consent.status.in_([str(s) for s in PENDING])) & (Consent.link_expires_at <= now))
            | ((Consent.status == ConsentStatus.SIGNED) & (Consent.expires_at <= now))
        )
    ).all()
    refresh_statuses(session, keystore=keystore, consents=due)
    return len(due)


def withdraw(session: Session, *, keystore: KeyStore, consent: Consent, by: str, actor: str) -> bool:
    """Withdraw a signed consent at once; False if it was not in force (already withdrawn or expired)."""
    if not change_status(
        session, consent, (ConsentStatus.SIGNED,), ConsentStatus.WITHDRAWN, withdrawn_at=clock.now(), withdrawn_by=by
    ):
        return False
    # Other domains act in this same transaction (recording stops, the session is destroyed),
    # and first: they lock the sessions' rows, which ending a session or the processing job
    # hold while they wait for the audit log. Taking the log first here could deadlock with
    # them on PostgreSQL and roll the withdrawal back.
    events.publish(events.CONSENT_WITHDRAWN, session=session, keystore=keystore, consent=consent, by=actor)
    audit.record(
        session,
        keystore=keystore,
        action="consent.withdrawn",
        actor=actor,
        practice_id=consent.practice_id,
        subject=f"consent:{consent.id}",
        details={"by": by},
    )
    return True


def consent_of(session: Session, *, therapist: User, consent_id: str) -> Consent | None:
    """The consent if it belongs to this therapist in their practice; None otherwise."""
    consent = session.get(Consent, consent_id)
    if consent is None or consent.therapist_id != therapist.id or consent.practice_id != therapist.practice_id:
        return None
    return consent


def consent_by_pdf_hash(session: Session, *, therapist: User, pdf_sha256: str) -> Consent | None:
    """The therapist's own consent whose delivered PDF has this SHA-256, if any."""
    return session.scalar(
        select(Consent).where(
            Consent.pdf_sha256 == pdf_sha256,
            Consent.therapist_id == therapist.id,
            Consent.practice_id == therapist.practice_id,
        )
    )


def client_email(keystore: KeyStore, consent: Consent) -> str | None:
    if consent.email_sealed is None:
        return None
    return open_sealed(keystore, consent.email_sealed, context=f"consent-email:{consent.id}").decode()
