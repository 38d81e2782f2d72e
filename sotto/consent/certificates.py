"""The practice's seal certificate: created on first start, replaceable by an admin's PKCS#12.

The private key is stored only inside an envelope-encrypted PKCS#12. Retired certificates
are kept (public part and encrypted key) so PDFs sealed before a change still verify.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sotto import clock
from sotto.accounts import service as accounts
from sotto.accounts.models import Practice
from sotto.audit import service as audit
from sotto.consent import seal
from sotto.consent.models import SealCertificate
from sotto.crypto.envelope import open_sealed
from sotto.crypto.envelope import seal as seal_value
from sotto.crypto.keystore import KeyStore
from sotto.db import new_id
from sotto.mail import service as mail

# Days before a certificate an admin installed runs out that the practice's admins are told, by
# e-mail once at each and on their pages from the first. Sotto renews the ones it made itself.
EXPIRY_WARNINGS = (30, 7)


def _store(session: Session, *, keystore: KeyStore, practice_id: str, material: seal.SealMaterial) -> SealCertificate:
    for old in session.scalars(
        select(SealCertificate).where(SealCertificate.practice_id == practice_id, SealCertificate.active.is_(True))
    ):
        old.active = False
    cert_id = new_id()
    row = SealCertificate(
        id=cert_id,
        practice_id=practice_id,
        pkcs12_sealed=seal_value(keystore, material.pkcs12, context=f"seal-certificate:{cert_id}"),
        certificate_pem=material.certificate_pem,
        fingerprint_sha256=material.fingerprint_sha256,
        subject=material.subject,
        self_signed=material.self_signed,
        not_after=material.not_after,
        active=True,
    )
    session.add(row)
    session.flush()
    return row


def ensure_seal_certificate(session: Session, *, keystore: KeyStore, practice: Practice) -> SealCertificate:
    """The active certificate, creating a self-signed one if the practice has none or it has expired.

    A seal made with an expired certificate fails every check, Sotto's and PDF readers', so
    an expired certificate is retired as a replaced one is: it still checks what it sealed.
    """
    current = active_certificate(session, practice_id=practice.id)
    if current is not None and can_seal(current):
        return current
    row = _store(
        session, keystore=keystore, practice_id=practice.id, material=seal.create_self_signed_certificate(practice.name)
    )
    details = {"fingerprint": row.fingerprint_sha256}
    if current is not None:
        details["replaces_expired"] = current.fingerprint_sha256
    audit.record(
        session,
        keystore=keystore,
        action="seal.created",
        actor="system",
        practice_id=practice.id,
        subject=f"certificate:{row.id}",
        details=details,
    )
    return row


def can_seal(row: SealCertificate) -> bool:
    """Whether new PDFs may be sealed with this certificate: it is in use and has not expired."""
    return row.active and row.not_after > clock.now()


@dataclass(frozen=True)
class ExpiryNotice:
    """The practice's own certificate is near its end, or past it and not yet replaced."""

    subject: str
    not_after: datetime
    expired: bool

    @property
    def text(self) -> str:
        day = f"{self.not_after:%-d %B %Y}"
        if self.expired:
            return (
                f"The practice's seal certificate ({self.subject}) expired on {day}. New consent PDFs are sealed "
                "with a self-signed certificate, which PDF readers show as not verified, until you install a "
                "renewed one on the Seal certificate page."
            )
        return (
            f"The practice's seal certificate ({self.subject}) expires on {day}. Install its renewal on the "
            "Seal certificate page before then: from that day new consent PDFs are sealed with a self-signed "
            "certificate, which PDF readers show as not verified."
        )


def installed_by_admin(session: Session, row: SealCertificate) -> bool:
    """Whether an admin brought this certificate (rather than Sotto creating it)."""
    return any(event.action == "seal.installed" for event in audit.events_for(session, subject=f"certificate:{row.id}"))


def expiry_notice(session: Session, *, practice_id: str) -> ExpiryNotice | None:
    """What admins must be told about the practice's own certificate, or None while all is well.

    Only a certificate an admin installed is watched: Sotto renews its own. Once an installed
    one expires, the next sealing retires it for a self-signed one, and the notice stays until
    an admin installs a certificate again.
    """
    latest = next(
        (row for row in practice_certificates(session, practice_id=practice_id) if installed_by_admin(session, row)),
        None,
    )
    now = clock.now()
    if latest is None or latest.not_after - now > timedelta(days=EXPIRY_WARNINGS[0]):
        return None
    return ExpiryNotice(latest.subject, latest.not_after, expired=latest.not_after <= now)


def warn_of_expiry(session: Session, *, keystore: KeyStore, sender: str, public_url: str) -> int:
    """E-mail each practice's admins once at each of ``EXPIRY_WARNINGS`` days before its own
    certificate expires; returns how many warnings were queued."""
    now = clock.now()
    queued = 0
    near = session.scalars(
        select(SealCertificate).where(
            SealCertificate.active.is_(True),
            SealCertificate.not_after <= now + timedelta(days=EXPIRY_WARNINGS[0]),
        )
    ).all()
    for row in near:
        if not installed_by_admin(session, row):
            continue
        left = row.not_after - now
        due = min(days for days in EXPIRY_WARNINGS if left <= timedelta(days=days))
        subject = f"certificate:{row.id}"
        sent = {
            event.details.get("within_days")
            for event in audit.events_for(session, subject=subject)
            if event.action == "seal.expiry_warned"
        }
        if any(days <= due for days in sent if isinstance(days, int)):
            continue
        notice = ExpiryNotice(row.subject, row.not_after, expired=left <= timedelta(0))
        for admin in accounts.active_admins(session, practice_id=row.practice_id):
            mail.queue_message(
                session,
                keystore=keystore,
                message=mail.compose(
                    sender=sender,
                    to=admin.email,
                    subject="Sotto: the practice's seal certificate needs renewing",
                    text=f"{notice.text}\n\n{public_url.rstrip('/')}/admin/seal\n",
                ),
            )
            queued += 1
        audit.record(
            session,
            keystore=keystore,
            action="seal.expiry_warned",
            actor="system",
            practice_id=row.practice_id,
            subject=subject,
            details={"within_days": due},
        )
    return queued


def install_certificate(
    session: Session, *, keystore: KeyStore, practice_id: str, pkcs12: bytes, password: bytes | None, actor: str
) -> SealCertificate:
    """Install an admin's own PKCS#12; raises seal.SealError with a plain message if unusable."""
    material = seal.load_pkcs12(pkcs12, password)
    row = _store(session, keystore=keystore, practice_id=practice_id, material=material)
    audit.record(
        session,
        keystore=keystore,
        action="seal.installed",
        actor=actor,
        practice_id=practice_id,
        subject=f"certificate:{row.id}",
        details={"fingerprint": row.fingerprint_sha256},
    )
    return row


def active_certificate(session: Session, *, practice_id: str) -> SealCertificate | None:
    return session.scalar(
        select(SealCertificate).where(SealCertificate.practice_id == practice_id, SealCertificate.active.is_(True))
    )


def practice_certificates(session: Session, *, practice_id: str) -> list[SealCertificate]:
    return list(
        session.scalars(
            select(SealCertificate)
            .where(SealCertificate.practice_id == practice_id)
            .order_by(SealCertificate.created_at.desc())
        )
    )


def signing_pkcs12(keystore: KeyStore, row: SealCertificate) -> bytes:
    return open_sealed(keystore, row.pkcs12_sealed, context=f"seal-certificate:{row.id}")
