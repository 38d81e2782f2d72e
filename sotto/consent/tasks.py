"""Background work for consent: the sealed PDF, delivered and discarded; the expiry sweeps."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from sotto import clock
from sotto.accounts import service as accounts
from sotto.accounts.models import Practice, User
from sotto.audit import service as audit
from sotto.clients.models import Client
from sotto.consent import certificates, service, signing
from sotto.consent.models import USE_LABELS, Consent, Use
from sotto.consent.pdf import ConsentDocument, render_consent_pdf
from sotto.consent.seal import seal_pdf
from sotto.db import session_scope
from sotto.jobs.service import periodic, task
from sotto.mail import service as mail

if TYPE_CHECKING:
    from sotto.runtime import Runtime

log = logging.getLogger(__name__)


@task("consent.deliver_signed_pdf")
def deliver_signed_pdf(runtime: Runtime, *, consent_id: str) -> None:
    """Render, seal and e-mail the completed PDF to the therapist and the client, then forget it.

    The therapist's copy goes to the practice's admins instead when the therapist's account was
    deactivated between the signing and this job.

    The PDF exists only in this function's memory. Once both messages are delivered the
    record keeps its hashes, and the signing data and the client's address are erased.
    Idempotent: a consent already delivered is left alone. Rendering and sending happen
    outside any transaction, so the database is never held while mail is on its way.
    """
    with session_scope(runtime.read_sessions) as session:
        consent = session.get(Consent, consent_id)
        if consent is None or consent.signing_sealed is None:
            return
        practice = session.get(Practice, consent.practice_id)
        therapist = session.get(User, consent.therapist_id)
        client = session.get(Client, consent.client_id)
        cert = certificates.active_certificate(session, practice_id=consent.practice_id)
        # A therapist who has left the practice no longer gets a client's form at the address they had there:
        # the practice's admins file it instead.
        practice_copy_to = (
            [therapist.email]
            if therapist is not None and therapist.active
            else [admin.email for admin in accounts.active_admins(session, practice_id=consent.practice_id)]
        )
    assert practice is not None and therapist is not None and client is not None
    if not practice_copy_to:  # a practice always keeps an active admin; without one, keep the form and try later
        raise RuntimeError("nobody active in the practice to receive its copy of a signed consent")
    assert consent.signed_at is not None and consent.expires_at is not None and consent.opened_at is not None
    if cert is None or not certificates.can_seal(cert):
        with session_scope(runtime.sessions) as session:
            cert = certificates.ensure_seal_certificate(session, keystore=runtime.keystore, practice=practice)
    details, client_token = signing.signing_details(runtime.keystore, consent)
    document = ConsentDocument(
        practice_name=practice.name,
        client_pseudonym=client.pseudonym,
        consent_id=consent.id,
        form_markdown=consent.form_text,
        uses=[(USE_LABELS[use], bool(consent.uses.get(use.value))) for use in Use],
        typed_name=details.typed_name,
        signature_png=details.signature_png,
        sent_at=consent.sent_at,
        opened_at=consent.opened_at,
        signed_at=consent.signed_at,
        consent_expires_at=consent.expires_at,
        signer_ip=details.ip,
        signer_user_agent=details.user_agent,
        delivery="Link sent by e-mail to the client",
        template_version=consent.template_version,
        template_sha256=consent.template_sha256,
        form_sha256=consent.form_sha256,
    )
    pdf = seal_pdf(render_consent_pdf(document), certificates.signing_pkcs12(runtime.keystore, cert))
    attachment = mail.Attachment(f"recording-consent-{consent.id[:8]}.pdf", "application/pdf", pdf)
    settings = runtime.settings
    signed_for = "" if therapist.active else f" for {therapist.display_name}, whose account is now deactivated"

    def send(to: str, subject: str, lines: list[str]) -> None:
        text = "\n".join(lines)
        mail.send_now(
            runtime.mailer,
            mail.compose(sender=settings.mail_from, to=to, subject=subject, text=text, attachments=[attachment]),
        )

    for address in practice_copy_to:
        send(
            address,
            f"Signed recording consent: {client.pseudonym}",
            [
                f"{client.pseudonym} signed the recording consent form{signed_for}.",
                "",
                "The completed form, sealed with the practice's certificate, is attached. Please file it in your EHR: "
                "Sotto does not keep a copy, only its fingerprint (SHA-256):",
                hashlib.sha256(pdf).hexdigest(),
                "",
                f"Check a copy at any time on {settings.public_url}/consents/verify",
            ],
        )
    email = service.client_email(runtime.keystore, consent)
    if email is not None:
        send(
            email,
            f"{practice.name}: your signed consent form",
            [
                "Thank you. Your signed consent form is attached for your records.",
                "",
                "Your private page, where you can see what you agreed to, change it, or withdraw your consent "
                "at any time (even during a session), is here:",
                f"{settings.public_url}/my/{client_token}",
                "",
                "Keep this e-mail: the link is yours alone and we do not keep your e-mail address. "
                "You can also withdraw by telling your therapist. Withdrawing has no effect on your care.",
                "",
                "You may ask your therapist for a paper copy at no cost.",
            ],
        )
    with session_scope(runtime.sessions) as session:
        _record_delivery(session, runtime, consent_id, pdf, client_copy=email is not None)
    log.info("consent %s: sealed PDF delivered", consent_id)


def _record_delivery(session: Session, runtime: Runtime, consent_id: str, pdf: bytes, *, client_copy: bool) -> None:
    consent = session.get(Consent, consent_id)
    assert consent is not None
    consent.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    consent.pdf_sha1 = hashlib.sha1(pdf, usedforsecurity=False).hexdigest()
    consent.pdf_delivered_at = clock.now()
    consent.signing_sealed = None
    consent.email_sealed = None
    audit.record(
        session,
        keystore=runtime.keystore,
        action="consent.pdf_delivered",
        actor="system",
        practice_id=consent.practice_id,
        subject=f"consent:{consent.id}",
        details={"pdf_sha256": consent.pdf_sha256, "client_copy": client_copy},
    )


@periodic("consent.expire", every=timedelta(minutes=1))
def expire_consents(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        service.expire_due(session, keystore=runtime.keystore)


@periodic("consent.seal_expiry", every=timedelta(hours=6))
def warn_of_seal_expiry(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        certificates.warn_of_expiry(
            session,
            keystore=runtime.keystore,
            sender=runtime.settings.mail_from,
            public_url=runtime.settings.public_url,
        )
