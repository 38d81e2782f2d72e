"""Composing mail, the durable outbox with retries, and immediate delivery.

Two ways to send:

* ``queue_message`` stores the message, encrypted, in the caller's transaction; a job then
  runs ``deliver_due``, which sends, deletes what was delivered and reschedules failures.
  Use it for everything that may be stored (invitations, notices).
* ``send_now`` delivers at once with a few in-memory retries and stores nothing. Use it for
  what must never be stored, even encrypted (the signed consent PDF). It blocks, so call it
  from a job, never from a request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from sotto import clock
from sotto.crypto.envelope import DecryptionError, open_sealed, seal
from sotto.crypto.keystore import KeyStore, KeyStoreError
from sotto.db import new_id, session_scope
from sotto.mail.backends import MailBackend, MailDeliveryError
from sotto.mail.models import OutboxMessage

logger = logging.getLogger(__name__)

PENDING = "pending"
FAILED = "failed"
MAX_ATTEMPTS = 8
FIRST_RETRY_DELAY = timedelta(minutes=1)
LONGEST_RETRY_DELAY = timedelta(hours=1)
# How long a worker owns a message it is sending. Longer than any one SMTP exchange, so
# another worker never sends the same message meanwhile; if the worker dies, the message
# becomes due again when the lease runs out.
CLAIM_LEASE = timedelta(minutes=15)


def plain_address(email: str) -> str | None:
    """The address trimmed, if it is one plain mailbox (no display name, no list); else None.

    Deliberately simple: the mail server is the judge of deliverability; this keeps out
    typos, several addresses and header tricks.
    """
    address = email.strip()
    local, _, domain = address.partition("@")
    if not local or "." not in domain or "@" in domain or len(address) > 254:
        return None
    if any(c.isspace() or c in '<>,;"()[]\\' for c in address):
        return None
    return address


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def compose(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """A complete message: plain text, optional HTML alternative, attachments.

    It carries Date, a Message-ID in the sender's domain and ``Auto-Submitted:
    auto-generated`` (so auto-responders do not reply). A header value with a line break
    raises ValueError rather than injecting headers.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain=_domain_of(sender))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, slash, subtype = attachment.content_type.partition("/")
        if not slash or not maintype or not subtype:
            raise ValueError(f"not a content type: {attachment.content_type!r}")
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return message


def _domain_of(address: str) -> str:
    domain = parseaddr(address)[1].rpartition("@")[2]
    return domain or "localhost"


def queue_message(session: Session, *, keystore: KeyStore, message: EmailMessage) -> str:
    """Add the message to the outbox, encrypted, and return its outbox id.

    Does not commit: the message is sent only if the caller's transaction commits, so a
    rolled-back action never sends its mail.
    """
    outbox_id = new_id()
    sealed = seal(keystore, message.as_bytes(), context=_context(outbox_id))
    now = clock.now()
    session.add(
        OutboxMessage(
            id=outbox_id,
            created_at=now,
            next_attempt_at=now,
            attempts=0,
            status=PENDING,
            message_sealed=sealed,
        )
    )
    return outbox_id


def deliver_due(
    session_factory: sessionmaker[Session],
    *,
    keystore: KeyStore,
    backend: MailBackend,
    now: datetime | None = None,
    limit: int = 50,
) -> DeliveryReport:
    """Send up to ``limit`` pending messages that are due at ``now`` (default: the clock).

    Takes a session factory, not a session, and commits after each message, because
    sending is a side effect that cannot be rolled back: a delivered message is deleted
    in its own transaction right after the send, so a crash re-sends at most that one
    message, once.

    Each message is first claimed (its next attempt moved ``CLAIM_LEASE`` ahead, in a
    transaction of its own) with a compare-and-set update, after ``SELECT ... FOR UPDATE
    SKIP LOCKED`` on PostgreSQL; so two workers, on PostgreSQL or SQLite, never send the
    same message, and no transaction stays open during the network exchange.

    A failed send counts an attempt, records the kind of failure and retries after 1, 2,
    4, ... minutes (at most an hour); the ``MAX_ATTEMPTS``-th failure, or a message that no
    longer decrypts, leaves the message ``failed`` for an admin (``retry_failed`` /
    ``purge_failed``). Errors other than MailDeliveryError propagate; the claimed message
    is then retried when its lease runs out.
    """
    moment = now or clock.now()
    sent = retried = failed = 0
    for _ in range(limit):
        claimed = _claim_next(session_factory, moment)
        if claimed is None:
            break
        outbox_id, sealed = claimed
        try:
            raw = open_sealed(keystore, sealed, context=_context(outbox_id))
        except (DecryptionError, KeyStoreError) as exc:
            _record_failure(session_factory, outbox_id, type(exc).__name__, moment, give_up=True)
            failed += 1
            continue
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)  # policy.default always builds EmailMessage
        try:
            backend.send(message)
        except MailDeliveryError as exc:
            if _record_failure(session_factory, outbox_id, exc.reason, moment, give_up=False):
                failed += 1
            else:
                retried += 1
            continue
        with session_scope(session_factory) as session:
            session.execute(delete(OutboxMessage).where(OutboxMessage.id == outbox_id))
        sent += 1
    if sent or retried or failed:
        logger.info("outbox: %d sent, %d to retry, %d failed", sent, retried, failed)
    return DeliveryReport(sent=sent, retried=retried, failed=failed)


def _claim_next(session_factory: sessionmaker[Session], moment: datetime) -> tuple[str, bytes] | None:
    """Take ownership of the next due message, or return None when none is due."""
    is_due = (OutboxMessage.status == PENDING) & (OutboxMessage.next_attempt_at <= moment)
    while True:
        with session_scope(session_factory) as session:
            row = session.execute(
                select(OutboxMessage.id, OutboxMessage.message_sealed)
                .where(is_due)
                .order_by(OutboxMessage.next_attempt_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            # The condition repeats the selection, so where the lock above is ignored
            # (SQLite) a worker that lost the race updates nothing and moves on.
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, is_due)
                .values(next_attempt_at=moment + CLAIM_LEASE)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) == 1:
                return row.id, row.message_sealed


def _record_failure(
    session_factory: sessionmaker[Session], outbox_id: str, reason: str, moment: datetime, *, give_up: bool
) -> bool:
    """Count a failed attempt and schedule the next; returns True if the message is now failed."""
    with session_scope(session_factory) as session:
        row = session.get(OutboxMessage, outbox_id)
        if row is None:  # purged by an admin while it was being sent
            return False
        row.attempts += 1
        row.last_error = reason[:200]
        if give_up or row.attempts >= MAX_ATTEMPTS:
            row.status = FAILED
        else:
            row.next_attempt_at = moment + retry_delay(row.attempts)
        logger.warning("outbox message %s: attempt %d failed (%s)", outbox_id, row.attempts, row.last_error)
        return row.status == FAILED


def retry_delay(attempts: int) -> timedelta:
    """The wait after the given number of failed attempts: 1, 2, 4, ... minutes, at most an hour."""
    return min(FIRST_RETRY_DELAY * 2 ** max(attempts - 1, 0), LONGEST_RETRY_DELAY)


def retry_failed(session: Session, *, now: datetime | None = None) -> int:
    """Make every failed message due again with a fresh set of attempts; returns how many.

    Does not commit.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == FAILED)
        .values(status=PENDING, attempts=0, last_error=None, next_attempt_at=now or clock.now())
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def purge_failed(session: Session, *, created_before: datetime | None = None) -> int:
    """Delete failed messages (only those created before a time, if given); returns how many.

    Does not commit.
    """
    condition = OutboxMessage.status == FAILED
    if created_before is not None:
        condition = condition & (OutboxMessage.created_at < created_before)
    result = session.execute(delete(OutboxMessage).where(condition).execution_options(synchronize_session=False))
    return _rowcount(result)


def send_now(
    backend: MailBackend,
    message: EmailMessage,
    *,
    attempts: int = 3,
    backoff_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Deliver the message now, trying up to ``attempts`` times; stores nothing.

    Waits ``backoff_seconds``, then twice that, and so on, between tries; raises the last
    MailDeliveryError if every try fails. Note that the outbox backend writes the message
    to a file: that is the backend's delivery, not storage by this function.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            backend.send(message)
            return
        except MailDeliveryError as exc:
            if attempt == attempts:
                raise
            logger.warning("immediate mail: attempt %d of %d failed (%s)", attempt, attempts, exc.reason)
            sleep(backoff_seconds * 2 ** (attempt - 1))


def _context(outbox_id: str) -> str:
    return f"outbox:{outbox_id}"


def _rowcount(result: Result[Any]) -> int:
    # Session.execute is typed as returning Result, but UPDATE and DELETE give a CursorResult.
    return cast(CursorResult[Any], result).rowcount
