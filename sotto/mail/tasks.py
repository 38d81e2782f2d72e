"""Draining the outbox: delivery with retries runs on a worker, never in a request."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sotto.jobs.service import periodic
from sotto.mail import service

if TYPE_CHECKING:
    from sotto.runtime import Runtime


@periodic("mail.deliver", every=timedelta(seconds=5))
def deliver_outbox(runtime: Runtime) -> None:
    service.deliver_due(runtime.sessions, keystore=runtime.keystore, backend=runtime.mailer)
