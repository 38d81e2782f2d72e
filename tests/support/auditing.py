"""Audit events for the audit tests, appended as the server appends them."""

from __future__ import annotations

from sotto.audit import service as audit
from sotto.db import session_scope
from sotto.runtime import Runtime

EVENTS = 6


def record_events(runtime: Runtime, count: int = EVENTS) -> None:
    """One event per transaction, as requests and jobs append them."""
    for n in range(count):
        with session_scope(runtime.sessions) as session:
            audit.record(
                session,
                keystore=runtime.keystore,
                action="consent.sent",
                actor=f"user:{n:032x}",
                practice_id="p" * 32,
                subject=f"consent:{n:032x}",
                details={"template_version": n},
            )
