from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sotto import clock
from sotto.db import Base, UTCDateTime, new_id


class Client(Base):
    """A client as Sotto knows them: a pseudonym and nothing else that identifies them."""

    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("therapist_id", "pseudonym"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"), index=True)
    therapist_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
