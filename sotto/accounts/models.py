from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from sotto import clock
from sotto.db import Base, UTCDateTime, new_id

SENSITIVE_TOPICS = ("criminal", "immigration", "sogi", "trauma", "substance", "health")

TOPIC_LABELS = {  # as the consent form and the settings page name them
    "criminal": "criminal history",
    "immigration": "immigration status",
    "sogi": "sexual orientation and gender identity",
    "trauma": "trauma and abuse",
    "substance": "substance use",
    "health": "sexual and reproductive health (such as HIV and other sexually transmitted "
    "infections, abortion, fertility and genetic test results)",
}

# States where every party to a confidential conversation must consent to its recording.
ALL_PARTY_CONSENT_STATES = frozenset({"CA", "DE", "FL", "IL", "MD", "MA", "MI", "MT", "NV", "NH", "OR", "PA", "WA"})

US_STATES = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
}


class Role(StrEnum):
    ADMIN = "admin"
    THERAPIST = "therapist"
    SUPERVISOR = "supervisor"


class Practice(Base):
    __tablename__ = "practices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    us_state: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Privacy settings; the consent form quotes them, later stages enforce them.
    phi_removal: Mapped[bool] = mapped_column(Boolean, default=True)
    topics_removed: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(SENSITIVE_TOPICS))
    topic_marker_names_category: Mapped[bool] = mapped_column(Boolean, default=False)
    audio_retention_days: Mapped[int] = mapped_column(Integer, default=0)
    transcript_retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True, default=365)
    consent_valid_days: Mapped[int] = mapped_column(Integer, default=365)
    # "immediate": a client's delete button destroys the session at once; "request": the
    # therapist must act on the request within ``request_response_days``.
    client_deletion: Mapped[str] = mapped_column(String(16), default="immediate")
    request_response_days: Mapped[int] = mapped_column(Integer, default=30)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A therapist's enrolled voice (a biometric identifier, so sealed), to tell them apart on one channel.
    voice_profile_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    voice_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EnrolmentLink(Base):
    """A one-time link to set a password and two-factor sign-in (first admin or a new user)."""

    __tablename__ = "enrolment_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginAttempt(Base):
    """Failed sign-in attempts, keyed by a hash of the account or the address, for rate limiting."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
