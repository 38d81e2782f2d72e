"""The client's side of consent: open the private link, sign or decline, then keep the choice.

After signing, the client reaches their own page by a second private link, where they can
change what they allow or ask for a fresh link. Status changes go through the same
conditional update as the therapist's side (`service.change_status`), so a double
submission changes nothing the second time. Services never commit.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from datetime import timedelta

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sotto import clock, events
from sotto.accounts.models import Practice, User
from sotto.audit import service as audit
from sotto.clients.models import Client
from sotto.config import Settings
from sotto.consent.models import Consent, ConsentStatus, Use
from sotto.consent.service import PENDING, ConsentError, change_status, email_mac, refresh_status
from sotto.crypto.envelope import new_token, open_sealed, seal, token_hash
from sotto.crypto.keystore import KeyStore
from sotto.jobs.service import enqueue
from sotto.mail import service as mail

MAX_SIGNATURE_BYTES = 512 * 1024
MAX_REASON_CHARS = 1000


class LinkProblem(ConsentError):
    """A client link that is unknown, forged, used up or expired."""


# -- the invitation link --------------------------------------------------------------


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
    if status == ConsentStatus.SENT and change_status(
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


# -- signing --------------------------------------------------------------------------


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
    changed = change_status(
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


def signing_details(keystore: KeyStore, consent: Consent) -> tuple[SigningDetails, str]:
    """The encrypted signing data held until the PDF is delivered, and the client's page token."""
    assert consent.signing_sealed is not None
    data = json.loads(open_sealed(keystore, consent.signing_sealed, context=f"consent-signing:{consent.id}"))
    return SigningDetails(
        data["typed_name"], base64.b64decode(data["signature_png"]), data["ip"], data["user_agent"]
    ), data["client_token"]


def decline(session: Session, *, keystore: KeyStore, settings: Settings, consent: Consent, reason: str) -> None:
    """Record a refusal, tell the therapist (with the reason, which Sotto does not keep), erase the address."""
    reason = reason.strip()[:MAX_REASON_CHARS]
    if not change_status(
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


# -- the client's own page ------------------------------------------------------------


def consent_for_client_token(session: Session, *, keystore: KeyStore, token: str) -> Consent:
    consent = session.scalar(select(Consent).where(Consent.client_token_hash == token_hash(token)))
    if consent is None:
        raise LinkProblem("This link is not valid. Check that you copied all of it.")
    refresh_status(session, keystore=keystore, consent=consent)
    return consent


def change_uses(session: Session, *, keystore: KeyStore, consent: Consent, uses: dict[str, bool]) -> bool:
    """The client changes what they allow, from their own page; False unless the consent is in force."""
    if consent.status != ConsentStatus.SIGNED:
        return False
    chosen = {use.value: bool(uses.get(use.value)) for use in Use}
    if chosen == consent.uses:
        return True
    consent.uses = chosen
    if not any(chosen.values()):
        # Nothing may be made of a recording any more: what was captured and not yet processed
        # goes, as on a withdrawal, and first, for the same order of locks (see ``withdraw``).
        events.publish(events.CONSENT_NO_USE_LEFT, session=session, keystore=keystore, consent=consent, by="client")
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

    Matched by keyed hash only. Every earlier link stops working, those of the client's
    earlier consents too (each opens the client's whole page); the new one opens their latest
    consent. An address shared by several clients (a parent's, say) gets one e-mail for each.
    Says nothing about whether the address matched, so the form cannot be used to find out
    who is a client.
    """
    mac = email_mac(keystore, email)
    signed = session.scalars(
        select(Consent)
        .where(Consent.email_mac == mac, Consent.signed_at.is_not(None))
        .order_by(Consent.signed_at.desc(), Consent.id)
    ).all()
    latest: dict[str, Consent] = {}
    for consent in signed:
        latest.setdefault(consent.client_id, consent)
        consent.client_token_hash = None
    for consent in latest.values():
        _send_client_link(session, keystore=keystore, settings=settings, email=email, consent=consent)


def _send_client_link(
    session: Session, *, keystore: KeyStore, settings: Settings, email: str, consent: Consent
) -> None:
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
