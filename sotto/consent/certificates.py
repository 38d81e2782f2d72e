"""The practice's seal certificate: created on first start, replaceable by an admin's PKCS#12.

The private key is stored only inside an envelope-encrypted PKCS#12. Retired certificates
are kept (public part and encrypted key) so PDFs sealed before a change still verify.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sotto import clock
from sotto.accounts.models import Practice
from sotto.audit import service as audit
from sotto.consent import seal
from sotto.consent.models import SealCertificate
from sotto.crypto.envelope import open_sealed
from sotto.crypto.envelope import seal as seal_value
from sotto.crypto.keystore import KeyStore
from sotto.db import new_id


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
