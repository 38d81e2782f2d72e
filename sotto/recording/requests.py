"""A client's requests about a session: a copy, or deletion (at once or for the therapist to do).

Services never commit.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sotto import clock
from sotto.accounts.models import Practice, User
from sotto.audit import service as audit
from sotto.clients.models import Client
from sotto.config import Settings
from sotto.crypto.keystore import KeyStore
from sotto.db import lock_row
from sotto.mail import service as mail
from sotto.recording.models import ClientRequest, SessionStatus, TherapySession
from sotto.recording.service import shred_session


def request_from_client(
    session: Session, *, keystore: KeyStore, settings: Settings, therapy_session: TherapySession, kind: str
) -> ClientRequest:
    """Record a client's request (a copy, or a deletion the practice reviews) and tell the therapist."""
    practice = session.get(Practice, therapy_session.practice_id)
    therapist = session.get(User, therapy_session.therapist_id)
    client = session.get(Client, therapy_session.client_id)
    assert practice is not None and therapist is not None and client is not None
    # Under the session's lock, so a double submission finds the first request, not a second.
    lock_row(session, TherapySession, therapy_session.id)
    existing = session.scalar(
        select(ClientRequest).where(
            ClientRequest.session_id == therapy_session.id, ClientRequest.kind == kind, ClientRequest.status == "open"
        )
    )
    if existing is not None:
        return existing
    row = ClientRequest(
        practice_id=practice.id,
        therapist_id=therapist.id,
        client_id=client.id,
        session_id=therapy_session.id,
        kind=kind,
        created_at=(now := clock.now()),
        due_at=now + timedelta(days=practice.request_response_days),
    )
    session.add(row)
    session.flush()
    wanted = "a copy of" if kind == "copy" else "deletion of"
    mail.queue_message(
        session,
        keystore=keystore,
        message=mail.compose(
            sender=settings.mail_from,
            to=therapist.email,
            subject=f"Client request: {client.pseudonym}",
            text=f"{client.pseudonym} asked for {wanted} the session of "
            f"{therapy_session.created_at:%Y-%m-%d}. Please act on it by {row.due_at:%Y-%m-%d}:\n"
            f"{settings.public_url}/sessions/{therapy_session.id}\n",
        ),
    )
    audit.record(
        session,
        keystore=keystore,
        action=f"session.{kind}_requested",
        actor="client",
        practice_id=practice.id,
        subject=f"session:{therapy_session.id}",
        details={"due": row.due_at.date().isoformat()},
    )
    return row


def delete_for_client(
    session: Session, *, keystore: KeyStore, settings: Settings, therapy_session: TherapySession
) -> ClientRequest | None:
    """The client's delete button: at once, or a request, as the practice decided.

    Pressed twice (a double click, two tabs), the second waits for the first and finds the
    session gone or the request made: one deletion, one receipt.
    """
    practice = session.get(Practice, therapy_session.practice_id)
    assert practice is not None
    if practice.client_deletion == "request":
        return request_from_client(
            session, keystore=keystore, settings=settings, therapy_session=therapy_session, kind="delete"
        )
    lock_row(session, TherapySession, therapy_session.id)
    session.refresh(therapy_session)
    if therapy_session.status != SessionStatus.SHREDDED:
        shred_session(
            session,
            keystore=keystore,
            therapy_session=therapy_session,
            by="client",
            reason="the client asked for deletion",
        )
    return None


def copies_granted(session: Session, *, session_ids: list[str]) -> set[str]:
    """The sessions whose copy the client asked for and the therapist has agreed to give."""
    if not session_ids:
        return set()
    return set(
        session.scalars(
            select(ClientRequest.session_id).where(
                ClientRequest.session_id.in_(session_ids), ClientRequest.kind == "copy", ClientRequest.status == "done"
            )
        )
    )


def open_requests(session: Session, *, session_ids: list[str]) -> list[ClientRequest]:
    if not session_ids:
        return []
    return list(
        session.scalars(
            select(ClientRequest)
            .where(ClientRequest.session_id.in_(session_ids), ClientRequest.status == "open")
            .order_by(ClientRequest.due_at)
        )
    )


def resolve_request(session: Session, *, keystore: KeyStore, therapist: User, request_id: str) -> ClientRequest | None:
    """The therapist marks a request done (for deletion, the session is destroyed first)."""
    row = session.get(ClientRequest, request_id)
    if row is None or row.therapist_id != therapist.id:
        return None
    # The session's lock first (the order every deletion takes), then the request read again:
    # a second click waits for the first and finds the request closed.
    lock_row(session, TherapySession, row.session_id)
    session.refresh(row)
    if row.status != "open":
        return None
    _close(session, keystore=keystore, row=row, by=f"user:{therapist.id}", reason="the client asked for deletion")
    return row


OVERDUE_REASON = "the client asked for deletion and the date given to them was reached"


def carry_out_overdue_deletions(session: Session, *, keystore: KeyStore) -> int:
    """Delete the sessions whose deletion request is past its due date; returns how many requests closed.

    The client's page promised deletion by that date, and the therapist has no way to refuse,
    so a request left unanswered is carried out as if the therapist had done it.
    """
    overdue = (
        (ClientRequest.kind == "delete") & (ClientRequest.status == "open") & (ClientRequest.due_at <= clock.now())
    )
    # Every session's row is locked before the first receipt takes the audit log (as on a withdrawal).
    session_ids = sorted(set(session.scalars(select(ClientRequest.session_id).where(overdue))))
    for session_id in session_ids:
        lock_row(session, TherapySession, session_id)
    rows = session.scalars(
        select(ClientRequest)
        .where(overdue, ClientRequest.session_id.in_(session_ids))
        .order_by(ClientRequest.session_id)
        .execution_options(populate_existing=True)
    ).all()
    for row in rows:
        _close(session, keystore=keystore, row=row, by="system", reason=OVERDUE_REASON)
    return len(rows)


def _close(session: Session, *, keystore: KeyStore, row: ClientRequest, by: str, reason: str) -> None:
    """Close an open request under its session's lock, destroying the session first for a deletion."""
    therapy_session = session.get(TherapySession, row.session_id)
    assert therapy_session is not None
    session.refresh(therapy_session)
    if row.kind == "delete" and therapy_session.status != SessionStatus.SHREDDED:
        shred_session(session, keystore=keystore, therapy_session=therapy_session, by=by, reason=reason)
    row.status, row.resolved_at = "done", clock.now()
    audit.record(
        session,
        keystore=keystore,
        action=f"session.{row.kind}_request_done",
        actor=by,
        practice_id=row.practice_id,
        subject=f"session:{row.session_id}",
    )


def requests_for_therapist(session: Session, *, therapist: User) -> list[tuple[ClientRequest, Client]]:
    """Open client requests this therapist must act on, soonest due first, with their clients.

    A request about a session deleted meanwhile (by the client, a withdrawal or retention) has
    nothing left to act on and is not listed.
    """
    rows = session.execute(
        select(ClientRequest, Client)
        .join(Client, Client.id == ClientRequest.client_id)
        .join(TherapySession, TherapySession.id == ClientRequest.session_id)
        .where(
            ClientRequest.therapist_id == therapist.id,
            ClientRequest.status == "open",
            TherapySession.status != SessionStatus.SHREDDED,
        )
        .order_by(ClientRequest.due_at)
    ).all()
    return [(request, client) for request, client in rows]
