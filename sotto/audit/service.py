"""Append to and verify the hash-chained audit log.

Each entry's hash is an HMAC (under a key from the key store, so someone with only
database access cannot rebuild the chain) over the previous hash and the entry's own
fields. Entries are numbered without gaps and the newest number and hash are kept in
``audit_head``, so an edited, deleted or truncated entry breaks verification.

``audit_head`` is in the same database, though: someone who can write the database can
cut the tail and set the head back to match. An anchor kept by the key store, outside the
database, closes that (``sotto.audit.anchor``, which also says what it cannot do); it is
moved forward by ``verify_and_anchor``, after commit, never by ``record``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sotto import clock
from sotto.audit.anchor import Anchor, AnchorError, advance_anchor, stored_anchor
from sotto.audit.models import AuditEvent, AuditHead, DeletionReceipt
from sotto.crypto.keystore import KeyStore
from sotto.db import is_postgres, lock_table_for_append, session_scope

log = logging.getLogger(__name__)

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
    and counts only. The anchor outside the database is not touched here: this
    transaction may still roll back (see ``verify_and_anchor``).
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
    # The entry the anchor outside the database vouches for; None when there is no anchor.
    anchored_seq: int | None = None
    # Worth an operator's attention without being a break (an intact log with no anchor).
    notice: str | None = None


_NO_ANCHOR = (
    "no anchor is kept with the keys yet, so a cut tail would not be noticed; "
    "the server's sweep or `sotto audit verify` writes one"
)


def verify_chain(session: Session, *, keystore: KeyStore, batch: int = 1000) -> ChainReport:
    """Walk the whole chain; report the first entry that does not fit.

    Besides each entry's link and HMAC, the end of the chain must match ``audit_head`` and
    hold the entry anchored outside the database with its anchored hash. Call it first in
    a transaction, as the anchor is read before anything of the database: one read later
    could vouch for entries this transaction cannot see, a false alarm.
    """
    return _walk(session, keystore=keystore, anchor=_read_anchor(keystore), batch=batch)[0]


def verify_and_anchor(sessions: sessionmaker[Session], *, keystore: KeyStore, batch: int = 1000) -> ChainReport:
    """Verify the chain in a read transaction of its own, then move the anchor up to its newest entry.

    The anchor moves only if the chain is intact, only forward, and only after the
    transaction has ended: a transaction that wrote nothing sees only committed entries,
    so the anchor can never get ahead of the database, as it could if an append's own
    transaction moved it and then rolled back.
    """
    anchor = _read_anchor(keystore)
    with session_scope(sessions) as session:
        if is_postgres(session):
            # One snapshot for the whole walk, so the head read at its end matches the entries
            # walked even while the server appends (the default isolation takes a new one per query).
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        report, newest = _walk(session, keystore=keystore, anchor=anchor, batch=batch)
    if not report.ok or newest is None:
        return report
    try:
        now_anchored = advance_anchor(keystore, to=newest)
    except AnchorError as exc:  # replaced since it was read above
        return ChainReport(report.entries, False, None, str(exc))
    if anchor is None:
        # Not an alarm (nothing tells a deleted anchor from one never written), but seen.
        notice = (
            f"no anchor was kept with the keys until now; one now vouches for entries up to {now_anchored.seq} "
            "(expected once after installing or upgrading, or after moving the key store without it)"
        )
        log.warning("audit log: %s", notice)
        return replace(report, anchored_seq=now_anchored.seq, notice=notice)
    return replace(report, anchored_seq=now_anchored.seq)


def _read_anchor(keystore: KeyStore) -> Anchor | AnchorError | None:
    try:
        return stored_anchor(keystore)
    except AnchorError as exc:
        return exc


def _walk(
    session: Session, *, keystore: KeyStore, anchor: Anchor | AnchorError | None, batch: int
) -> tuple[ChainReport, Anchor | None]:
    """The report, and the newest entry if the chain is intact and not empty."""
    key = keystore.mac_key("audit")
    prev_hash, expected_seq, count = GENESIS, 1, 0
    last_seq, last_at = 0, None
    anchored = anchor if isinstance(anchor, Anchor) else None
    when = f"{anchored.at:%Y-%m-%d %H:%M:%S} UTC" if anchored else ""
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for ev in rows:
            if ev.seq != expected_seq:
                return ChainReport(count, False, expected_seq, f"entry {expected_seq} is missing"), None
            if ev.prev_hash != prev_hash:
                return ChainReport(count, False, ev.seq, f"entry {ev.seq} does not follow entry {ev.seq - 1}"), None
            digest = _entry_hash(
                key, ev.prev_hash, ev.seq, ev.at, ev.practice_id, ev.actor, ev.action, ev.subject, ev.details
            )
            if not hmac.compare_digest(digest, ev.hash):
                return ChainReport(count, False, ev.seq, f"entry {ev.seq} was altered"), None
            if anchored and ev.seq == anchored.seq and not hmac.compare_digest(ev.hash, anchored.hash):
                # A valid entry with another hash: the tail was cut and the log has grown since.
                problem = (
                    f"entry {ev.seq} does not match the anchor kept with the keys, which recorded it "
                    f"as written on {when}: the log was cut back before it, then grew again"
                )
                return ChainReport(count, False, ev.seq, problem), None
            prev_hash, expected_seq, count, last_seq, last_at = ev.hash, ev.seq + 1, count + 1, ev.seq, ev.at
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != count or head_hash != prev_hash:
        return ChainReport(count, False, count + 1, f"entries after {count} are missing (the log ends early)"), None
    if isinstance(anchor, AnchorError):
        return ChainReport(count, False, None, str(anchor)), None
    if anchored and anchored.seq > count:
        # The head was set back to match the cut: only the anchor outside the database tells.
        problem = (
            f"entries after {count} are missing (the log ends early): the anchor kept with the keys "
            f"records entry {anchored.seq} as written on {when}"
        )
        return ChainReport(count, False, count + 1, problem, anchored_seq=anchored.seq), None
    if last_at is None:  # an empty log, as on a fresh install
        return ChainReport(0, True), None
    newest = Anchor(seq=count, hash=prev_hash, at=last_at)
    if anchored is None:
        return ChainReport(count, True, notice=_NO_ANCHOR), newest
    return ChainReport(count, True, anchored_seq=anchored.seq), newest


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
