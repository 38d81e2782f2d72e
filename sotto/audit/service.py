"""Append to and verify the hash-chained audit log.

Each entry's hash is an HMAC (under a key from the key store, so someone with only
database access cannot rebuild the chain) over the previous hash and the entry's own
fields. Entries are numbered without gaps and the newest number and hash are kept in
``audit_head``, so an edited, deleted or truncated entry breaks verification.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sotto import clock
from sotto.audit.models import AuditEvent, AuditHead, DeletionReceipt
from sotto.crypto.keystore import KeyStore
from sotto.db import lock_table_for_append

GENESIS = "0" * 64
_LOCK_KEY = 0x50770A0D  # PostgreSQL advisory lock serialising appends


def _entry_hash(
    key: bytes,
    prev_hash: str,
    seq: int,
    at: datetime,
    practice_id: str | None,
    actor: str,
    action: str,
    subject: str | None,
    details: dict,
) -> str:
    body = json.dumps(
        [prev_hash, seq, at.isoformat(timespec="microseconds"), practice_id, actor, action, subject, details],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def record(
    session: Session,
    *,
    keystore: KeyStore,
    action: str,
    actor: str,
    practice_id: str | None = None,
    subject: str | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction.

    ``details`` must not hold names, e-mail addresses or session content: identifiers
    and counts only.
    """
    lock_table_for_append(session, _LOCK_KEY)
    head = session.get(AuditHead, 1, with_for_update=True)
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    # Microseconds survive every backend, so the hash can be recomputed from the row.
    at = clock.now()
    details = dict(details or {})
    seq = head.seq + 1
    digest = _entry_hash(keystore.mac_key("audit"), head.hash, seq, at, practice_id, actor, action, subject, details)
    event = AuditEvent(
        seq=seq,
        at=at,
        practice_id=practice_id,
        actor=actor,
        action=action,
        subject=subject,
        details=details,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(event)
    head.seq, head.hash = seq, digest
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    entries: int
    ok: bool
    first_broken_seq: int | None = None
    problem: str | None = None


def verify_chain(session: Session, *, keystore: KeyStore, batch: int = 1000) -> ChainReport:
    """Walk the whole chain; report the first entry that does not fit."""
    key = keystore.mac_key("audit")
    prev_hash, expected_seq, count = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            if ev.seq != expected_seq:
                return ChainReport(count, False, expected_seq, f"entry {expected_seq} is missing")
            if ev.prev_hash != prev_hash:
                return ChainReport(count, False, ev.seq, f"entry {ev.seq} does not follow entry {ev.seq - 1}")
            digest = _entry_hash(
                key, ev.prev_hash, ev.seq, ev.at, ev.practice_id, ev.actor, ev.action, ev.subject, ev.details
            )
            if not hmac.compare_digest(digest, ev.hash):
                return ChainReport(count, False, ev.seq, f"entry {ev.seq} was altered")
            prev_hash, expected_seq, count, last_seq = ev.hash, ev.seq + 1, count + 1, ev.seq
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != count or head_hash != prev_hash:
        return ChainReport(count, False, count + 1, f"entries after {count} are missing (the log ends early)")
    return ChainReport(count, True)


def events_for(session: Session, *, subject: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.subject == subject).order_by(AuditEvent.seq)))


def receipt(
    session: Session,
    *,
    keystore: KeyStore,
    practice_id: str,
    client_id: str | None,
    subject: str,
    what: str,
    by: str,
    reason: str,
) -> DeletionReceipt:
    """Record a deletion in the audit chain and keep a receipt the client can see."""
    event = record(
        session,
        keystore=keystore,
        action="deleted",
        actor=by,
        practice_id=practice_id,
        subject=subject,
        details={"what": what, "reason": reason},
    )
    row = DeletionReceipt(
        practice_id=practice_id,
        client_id=client_id,
        subject=subject,
        what=what,
        by=by,
        reason=reason,
        at=event.at,
        audit_seq=event.seq,
    )
    session.add(row)
    return row


def receipts_for_client(session: Session, *, client_id: str) -> list[DeletionReceipt]:
    return list(
        session.scalars(
            select(DeletionReceipt).where(DeletionReceipt.client_id == client_id).order_by(DeletionReceipt.at.desc())
        )
    )
