"""The one source of the current time, so tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC) + _offset


def advance(delta: timedelta) -> None:
    """Move the clock forward (tests only)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)


def duration_words(seconds: float) -> str:
    """4 hours, 1 hour 30 minutes, 15 minutes, 36 seconds."""
    whole = round(seconds)
    hours, minutes, secs = whole // 3600, whole // 60 % 60, whole % 60

    def unit(count: int, name: str) -> str:
        return f"{count} {name}{'' if count == 1 else 's'}"

    parts = [unit(n, name) for n, name in ((hours, "hour"), (minutes, "minute"), (secs, "second")) if n]
    return " ".join(parts[:2]) or "0 seconds"
