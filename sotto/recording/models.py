from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sotto import clock
from sotto.db import Base, UTCDateTime, new_id


class SessionStatus(StrEnum):
    RECORDING = "recording"  # live capture in progress
    RECORDED = "recorded"  # audio complete, waiting for processing
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    SHREDDED = "shredded"  # destroyed (withdrawal, deletion or retention); only the row and receipts remain


class Source(StrEnum):
    MICROPHONE = "microphone"  # the therapist's room microphone (channel 0)
    CALL = "call"  # a telehealth call's tab or system audio (channel 1)
    UPLOAD = "upload"  # an existing recording file
    REDACTED = "redacted"  # the kept copy, with every removed word and passage silenced


class TherapySession(Base):
    """One therapy session of one client, and what is kept of it."""

    __tablename__ = "therapy_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Who recorded it, which stays when the client is handed to a colleague (therapist_id moves):
    # processing tells the therapist's voice apart by this one's enrolled voice.
    recorded_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.RECORDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When each kind of content must be gone; None while it is not kept or not yet made.
    audio_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    transcript_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    shredded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A plain-words reason shown to the therapist when the session could not be kept.
    problem: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # People in the room: 2 for individual therapy, 3 or 4 for couples and families.
    speakers: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    # Where processing is (a name from sotto.review.progress.STAGES) and how far that stage is.
    stage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    stage_fraction: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    # The key under which the recorder page keeps unsent audio on the therapist's device,
    # sealed; None once the session stops recording, which leaves what a device still holds
    # undecryptable (see browser_key in service.py).
    browser_key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class Recording(Base):
    """One encrypted audio stream of a session: a channel, or one segment of it after a restart."""

    __tablename__ = "recordings"
    __table_args__ = (UniqueConstraint("session_id", "channel", "segment"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("therapy_sessions.id", ondelete="CASCADE"), index=True)
    channel: Mapped[int] = mapped_column(Integer, default=0)
    segment: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str] = mapped_column(String(80), default="")
    # None once destroyed: without it the stored chunks are noise.
    data_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    received_bytes: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    declared_length: Mapped[int | None] = mapped_column(Integer, nullable=True)
    complete: Mapped[bool] = mapped_column(default=False)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ClientRequest(Base):
    """A client's request about a session (a copy, or deletion when the practice reviews them)."""

    __tablename__ = "client_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(String(32), index=True)
    therapist_id: Mapped[str] = mapped_column(String(32), index=True)
    client_id: Mapped[str] = mapped_column(String(32), index=True)
    session_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "copy" or "delete"
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
