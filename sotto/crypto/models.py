from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from sotto import clock
from sotto.db import Base, UTCDateTime, new_id


class DataKey(Base):
    """One object's data key, wrapped by a key-encryption key; deleting the row shreds the object."""

    __tablename__ = "data_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    purpose: Mapped[str] = mapped_column(String(32))  # "recording", "transcript", ...
    kek_id: Mapped[str] = mapped_column(String(80))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
