from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sotto import clock
from sotto.db import Base, UTCDateTime, new_id


class ConsentStatus(StrEnum):
    SENT = "sent"
    OPENED = "opened"
    SIGNED = "signed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Use(StrEnum):
    """Each use of a recording the client allows or refuses separately."""

    THERAPIST_REVIEW = "therapist_review"
    SUPERVISION = "supervision"
    AI_NOTES = "ai_notes"
    CLIENT_RECAP = "client_recap"


USE_LABELS = {
    Use.THERAPIST_REVIEW: "My therapist may listen to and review recordings of our sessions",
    Use.SUPERVISION: "My therapist may share de-identified session material with a clinical supervisor",
    Use.AI_NOTES: "Software running on the practice's own server may draft session notes",
    Use.CLIENT_RECAP: "I would like a short written recap of each session for myself",
}

USE_SHORT_LABELS = {
    Use.THERAPIST_REVIEW: "Therapist review",
    Use.SUPERVISION: "Supervision",
    Use.AI_NOTES: "AI-drafted notes",
    Use.CLIENT_RECAP: "Client recap",
}


class ConsentTemplate(Base):
    __tablename__ = "consent_templates"
    __table_args__ = (UniqueConstraint("practice_id", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Consent(Base):
    """One request for consent and, once signed, the consent record.

    Holds no legal name, no signature and no PDF: only the pseudonymous client, the
    scope, times, the template version and the hashes of what was signed.
    """

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ConsentStatus.SENT)

    template_version: Mapped[int] = mapped_column(Integer)
    template_sha256: Mapped[str] = mapped_column(String(64))
    # The form exactly as the client was shown it (placeholders filled in), and its hash.
    form_text: Mapped[str] = mapped_column(Text)
    form_sha256: Mapped[str] = mapped_column(String(64))

    invite_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # Encrypted, and erased once the invitation is completed, declined or expired.
    email_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # A keyed hash of the address (not the address): lets a client who lost their private
    # link have it re-sent by typing the same address. Kept only while the consent is signed.
    email_mac: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # Typed name, signature image and certificate details, encrypted, held only until the
    # sealed PDF has been delivered; the PDF itself is never stored.
    signing_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    uses: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    link_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    pdf_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdf_sha1: Mapped[str | None] = mapped_column(String(40), nullable=True)
    pdf_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pdf_delivery_failed: Mapped[bool] = mapped_column(Boolean, default=False)


class SealCertificate(Base):
    """The practice's signing certificate for sealing consent PDFs (key encrypted)."""

    __tablename__ = "seal_certificates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"), index=True)
    pkcs12_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    certificate_pem: Mapped[str] = mapped_column(Text)
    fingerprint_sha256: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(400))
    self_signed: Mapped[bool] = mapped_column(Boolean)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
