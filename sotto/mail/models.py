from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from sotto import clock
from sotto.db import Base, UTCDateTime, new_id


class OutboxMessage(Base):
    """A message waiting for delivery; encrypted, and deleted once delivered."""

    __tablename__ = "outbox_messages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # The kind of failure only (an exception class), never message content or addresses.
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    message_sealed: Mapped[bytes] = mapped_column(LargeBinary)
