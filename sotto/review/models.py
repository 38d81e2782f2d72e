from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sotto import clock
from sotto.db import Base, UTCDateTime, new_id


class SessionTranscript(Base):
    """The redacted transcript of one session. Its content is an encrypted blob under its own
    data key; this row holds only the key's id and the therapist's speaker corrections."""

    __tablename__ = "session_transcripts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("therapy_sessions.id", ondelete="CASCADE"), unique=True, index=True
    )
    # None once destroyed: without it the stored blob is noise.
    data_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    segments: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Speaker corrections, labels only ("therapist", "client", "client2", ...): a whole-transcript
    # relabelling {"client": "therapist", ...} and single segments {"12": "client"}.
    relabel: Mapped[dict] = mapped_column(JSON, default=dict)
    segment_labels: Mapped[dict] = mapped_column(JSON, default=dict)
