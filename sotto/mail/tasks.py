"""Draining the outbox: delivery with retries runs on a worker, never in a request."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sotto import clock
from sotto.db import session_scope
from sotto.jobs.service import periodic
from sotto.mail import service

if TYPE_CHECKING:
    from sotto.runtime import Runtime


@periodic("mail.deliver", every=timedelta(seconds=5))
def deliver_outbox(runtime: Runtime) -> None:
    service.deliver_due(runtime.sessions, keystore=runtime.keystore, backend=runtime.mailer)


@periodic("mail.purge_failed", every=timedelta(hours=1))
def purge_undeliverable(runtime: Runtime) -> None:
    """Give up on mail that could not be delivered while its link was valid.

    A failed message still holds an address (encrypted); once the invitation it carries
    has expired it is no use to anyone, and the address must go.
    """
    cutoff = clock.now() - timedelta(days=runtime.settings.invitation_ttl_days)
    with session_scope(runtime.sessions) as session:
        service.purge_failed(session, created_before=cutoff)
