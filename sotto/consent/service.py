"""The consent life cycle: send, open, sign or decline, withdraw, expire.

Every change is a conditional update on the status, so a double submission or a race
between two devices changes nothing the second time. Services never commit.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from datetime import timedelta

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sotto import clock, events
from sotto.accounts.models import Practice, User
from sotto.audit import service as audit
from sotto.clients.models import Client
from sotto.config import Settings
from sotto.consent import template as forms
from sotto.consent.models import Consent, ConsentStatus, ConsentTemplate, Use
from sotto.crypto.envelope import keyed_hash, new_token, open_sealed, seal, token_hash
from sotto.crypto.keystore import KeyStore
from sotto.db import new_id
from sotto.jobs.service import enqueue
from sotto.mail import service as mail

PENDING = (ConsentStatus.SENT, ConsentStatus.OPENED)
MAX_SIGNATURE_BYTES = 512 * 1024
MAX_NOTE_CHARS = 1000
MAX_REASON_CHARS = 1000


class ConsentError(ValueError):
    """A request the consent rules refuse; the message is shown as it is."""


class LinkProblem(ConsentError):
    """A client link that is unknown, forged, used up or expired."""


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
    changed = _transition(
        session, consent, PENDING, ConsentStatus.EXPIRED, expired_at=clock.now(), email_sealed=None, email_mac=None
    )
    if not changed:
        raise ConsentError("This request is no longer waiting for the client.")
    audit.record(
        session,
        keystore=keystore,
        action="consent.cancelled",
        actor=f"user:{therapist.id}",
        practice_id=consent.practice_id,
        subject=f"consent:{consent.id}",
    )


# -- status changes -------------------------------------------------------------------


def _transition(
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


def refresh_status(session: Session, *, keystore: KeyStore, consent: Consent) -> str:
    """Apply any expiry that is due to this consent, and return its status."""
    now = clock.now()
    if consent.status in PENDING and consent.link_expires_at <= now:
        action = "consent.invitation_expired"
        expired = _transition(
            session, consent, PENDING, ConsentStatus.EXPIRED, expired_at=now, email_sealed=None, email_mac=None
        )
    elif consent.status == ConsentStatus.SIGNED and consent.expires_at is not None and consent.expires_at <= now:
        action = "consent.expired"
        expired = _transition(session, consent, (ConsentStatus.SIGNED,), ConsentStatus.EXPIRED, expired_at=now)
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


def expire_due(session: Session, *, keystore: KeyStore) -> int:
    """Expire every overdue invitation and consent (the periodic sweep); returns how many."""
    now = clock.now()
    due = session.scalars(
        select(Consent).where(
            ((Consent.status.in_([str(s) for s in PENDING])) & (Consent.link_expires_at <= now))
            | ((Consent.status == ConsentStatus.SIGNED) & (Consent.expires_at <= now))
        )
    ).all()
    for consent in due:
        refresh_status(session, keystore=keystore, consent=consent)
    return len(due)


def invitation_for_token(session: Session, *, keystore: KeyStore, token: str) -> Consent:
    """The invitation a link points to, marked opened on first visit; raises LinkProblem."""
    consent = session.scalar(select(Consent).where(Consent.invite_token_hash == token_hash(token)))
    if consent is None:
        raise LinkProblem(
            "This link is not valid. Check that you copied all of it, or ask your therapist for a new one."
        )
    status = refresh_status(session, keystore=keystore, consent=consent)
    if status == ConsentStatus.EXPIRED and consent.signed_at is None:
        raise LinkProblem("This link has expired. Nothing was signed. Your therapist can send a new one if you wish.")
    if status not in PENDING:
        raise LinkProblem(
            "This form has already been completed, so this link no longer works. Nothing has been changed."
        )
    if status == ConsentStatus.SENT and _transition(
        session, consent, (ConsentStatus.SENT,), ConsentStatus.OPENED, opened_at=clock.now()
    ):
        audit.record(
            session,
            keystore=keystore,
            action="consent.opened",
            actor="client",
            practice_id=consent.practice_id,
            subject=f"consent:{consent.id}",
        )
    return consent


def check_signature_image(data_url: str) -> bytes:
    """The PNG bytes of a drawn signature, or ConsentError if it is missing, blank or not an image."""
    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix):
        raise ConsentError("Please draw your signature in the box.")
    if len(data_url) > MAX_SIGNATURE_BYTES * 4 // 3 + len(prefix) + 4:
        raise ConsentError("The signature image is too large. Clear it and sign again.")
    try:
        png = base64.b64decode(data_url[len(prefix) :], validate=True)
        with Image.open(io.BytesIO(png)) as img:
            if img.format != "PNG" or img.width > 4000 or img.height > 4000:
                raise ConsentError("The signature could not be read. Clear it and sign again.")
            alpha = img.convert("RGBA").getchannel("A")
            extrema = alpha.getextrema()
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
        raise ConsentError("The signature could not be read. Clear it and sign again.") from None
    if extrema[1] == 0:
        raise ConsentError("Please draw your signature in the box.")
    return png


@dataclass(frozen=True)
class SigningDetails:
    typed_name: str
    signature_png: bytes
    ip: str
    user_agent: str


def sign(
    session: Session,
    *,
    keystore: KeyStore,
    consent: Consent,
    practice: Practice,
    agree_electronic: bool,
    uses: dict[str, bool],
    details: SigningDetails,
) -> Consent:
    """Record the signature and queue the sealed PDF; raises ConsentError or LinkProblem."""
    if not agree_electronic:
        raise ConsentError(
            "To sign online, please agree to use electronic records. If you prefer paper, "
            "ask your therapist for a paper form."
        )
    typed = " ".join(details.typed_name.split())
    if not 2 <= len(typed) <= 200:
        raise ConsentError("Please type your full name.")
    chosen = {use.value: bool(uses.get(use.value)) for use in Use}
    now = clock.now()
    client_token = new_token()
    payload = json.dumps(
        {
            "typed_name": typed,
            "signature_png": base64.b64encode(details.signature_png).decode(),
            "ip": details.ip[:64],
            "user_agent": details.user_agent[:400],
            "client_token": client_token,
        }
    ).encode()
    changed = _transition(
        session,
        consent,
        PENDING,
        ConsentStatus.SIGNED,
        signed_at=now,
        uses=chosen,
        expires_at=now + timedelta(days=practice.consent_valid_days),
        client_token_hash=token_hash(client_token),
        signing_sealed=seal(keystore, payload, context=f"consent-signing:{consent.id}"),
    )
    if not changed:
        raise LinkProblem("This form has already been completed, so nothing has been changed.")
    enqueue(session, "consent.deliver_signed_pdf", consent_id=consent.id)
    audit.record(
        session,
        keystore=keystore,
        action="consent.signed",
        actor="client",
        practice_id=consent.practice_id,
        subject=f"consent:{consent.id}",
        details={"uses": chosen},
    )
    return consent


def decline(session: Session, *, keystore: KeyStore, settings: Settings, consent: Consent, reason: str) -> None:
    """Record a refusal, tell the therapist (with the reason, which Sotto does not keep), erase the address."""
    reason = reason.strip()[:MAX_REASON_CHARS]
    if not _transition(
        session, consent, PENDING, ConsentStatus.DECLINED, declined_at=clock.now(), email_sealed=None, email_mac=None
    ):
        raise LinkProblem("This form has already been completed, so nothing has been changed.")
    therapist = session.get(User, consent.therapist_id)
    client = session.get(Client, consent.client_id)
    assert therapist is not None and client is not None
    text = [f"{client.pseudonym} declined to have sessions recorded.", ""]
    if reason:
        text += ["They wrote:", reason, ""]
    text += ["Sotto will not send reminders. Their care continues as before.", f"Home page: {settings.public_url}/"]
    mail.queue_message(
        session,
        keystore=keystore,
        message=mail.compose(
            sender=settings.mail_from,
            to=therapist.email,
            subject=f"Recording consent declined: {client.pseudonym}",
            text="\n".join(text),
        ),
    )
    audit.record(
        session,
        keystore=keystore,
        action="consent.declined",
        actor="client",
        practice_id=consent.practice_id,
        subject=f"consent:{consent.id}",
        details={"reason_given": bool(reason)},
    )


def consent_for_client_token(session: Session, *, keystore: KeyStore, token: str) -> Consent:
    consent = session.scalar(select(Consent).where(Consent.client_token_hash == token_hash(token)))
    if consent is None:
        raise LinkProblem("This link is not valid. Check that you copied all of it.")
    refresh_status(session, keystore=keystore, consent=consent)
    return consent


def withdraw(session: Session, *, keystore: KeyStore, consent: Consent, by: str, actor: str) -> bool:
    """Withdraw a signed consent at once; False if it was not in force (already withdrawn or expired)."""
    if not _transition(
        session, consent, (ConsentStatus.SIGNED,), ConsentStatus.WITHDRAWN, withdrawn_at=clock.now(), withdrawn_by=by
    ):
        return False
    audit.record(
        session,
        keystore=keystore,
        action="consent.withdrawn",
        actor=actor,
        practice_id=consent.practice_id,
        subject=f"consent:{consent.id}",
        details={"by": by},
    )
    # Other domains act in this same transaction (recording stops, the session is destroyed).
    events.publish(events.CONSENT_WITHDRAWN, session=session, keystore=keystore, consent=consent, by=actor)
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


def signing_details(keystore: KeyStore, consent: Consent) -> tuple[SigningDetails, str]:
    """The encrypted signing data held until the PDF is delivered, and the client's page token."""
    assert consent.signing_sealed is not None
    data = json.loads(open_sealed(keystore, consent.signing_sealed, context=f"consent-signing:{consent.id}"))
    return SigningDetails(
        data["typed_name"], base64.b64decode(data["signature_png"]), data["ip"], data["user_agent"]
    ), data["client_token"]


def client_email(keystore: KeyStore, consent: Consent) -> str | None:
    if consent.email_sealed is None:
        return None
    return open_sealed(keystore, consent.email_sealed, context=f"consent-email:{consent.id}").decode()


def change_uses(session: Session, *, keystore: KeyStore, consent: Consent, uses: dict[str, bool]) -> bool:
    """The client changes what they allow, from their own page; False unless the consent is in force."""
    if consent.status != ConsentStatus.SIGNED:
        return False
    chosen = {use.value: bool(uses.get(use.value)) for use in Use}
    if chosen == consent.uses:
        return True
    consent.uses = chosen
    audit.record(
        session,
        keystore=keystore,
        action="consent.uses_changed",
        actor="client",
        practice_id=consent.practice_id,
        subject=f"consent:{consent.id}",
        details={"uses": chosen},
    )
    return True


def reissue_client_link(session: Session, *, keystore: KeyStore, settings: Settings, email: str) -> None:
    """Send a fresh private link to a client who typed the address their consent was sent to.

    Matched by keyed hash only. The old link stops working. Says nothing about whether the
    address matched, so the form cannot be used to find out who is a client.
    """
    mac = email_mac(keystore, email)
    consent = session.scalar(
        select(Consent)
        .where(Consent.email_mac == mac, Consent.signed_at.is_not(None))
        .order_by(Consent.signed_at.desc())
        .limit(1)
    )
    if consent is None:
        return
    token = new_token()
    consent.client_token_hash = token_hash(token)
    practice = session.get(Practice, consent.practice_id)
    assert practice is not None
    mail.queue_message(
        session,
        keystore=keystore,
        message=mail.compose(
            sender=settings.mail_from,
            to=email.strip(),
            subject=f"{practice.name}: your private link",
            text="\n".join(
                [
                    "You asked for a new link to your recording consent page. Here it is:",
                    f"{settings.public_url}/my/{token}",
                    "",
                    "Your previous link no longer works. If you did not ask for this, you can ignore this e-mail.",
                ]
            ),
        ),
    )
    audit.record(
        session,
        keystore=keystore,
        action="consent.client_link_reissued",
        actor="client",
        practice_id=consent.practice_id,
        subject=f"consent:{consent.id}",
    )
