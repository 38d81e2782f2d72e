from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sotto import clock
from sotto.db import Base, UTCDateTime, new_id


class AuditEvent(Base):
    """One entry of the chain. ``details`` never holds names, e-mail addresses or content."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    practice_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str | None] = mapped_column(String(120), nullable=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The newest entry's number and hash, so deleting the tail of the chain is noticed."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class DeletionReceipt(Base):
    """Proof that something was destroyed: what, when, by whom and why (no content, no names)."""

    __tablename__ = "deletion_receipts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(32), index=True)
    client_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    subject: Mapped[str] = mapped_column(String(120))
    what: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    by: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(200))
    audit_seq: Mapped[int] = mapped_column(Integer)
