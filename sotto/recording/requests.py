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
    """The client's delete button: at once, or a request, as the practice decided."""
    practice = session.get(Practice, therapy_session.practice_id)
    assert practice is not None
    if practice.client_deletion == "request":
        return request_from_client(
            session, keystore=keystore, settings=settings, therapy_session=therapy_session, kind="delete"
        )
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
    if row is None or row.therapist_id != therapist.id or row.status != "open":
        return None
    therapy_session = session.get(TherapySession, row.session_id)
    assert therapy_session is not None
    if row.kind == "delete" and therapy_session.status != SessionStatus.SHREDDED:
        shred_session(
            session,
            keystore=keystore,
            therapy_session=therapy_session,
            by=f"user:{therapist.id}",
            reason="the client asked for deletion",
        )
    row.status, row.resolved_at = "done", clock.now()
    audit.record(
        session,
        keystore=keystore,
        action=f"session.{row.kind}_request_done",
        actor=f"user:{therapist.id}",
        practice_id=row.practice_id,
        subject=f"session:{row.session_id}",
    )
    return row


def requests_for_therapist(session: Session, *, therapist: User) -> list[tuple[ClientRequest, Client]]:
    """Open client requests this therapist must act on, soonest due first, with their clients."""
    rows = session.execute(
        select(ClientRequest, Client)
        .join(Client, Client.id == ClientRequest.client_id)
        .where(ClientRequest.therapist_id == therapist.id, ClientRequest.status == "open")
        .order_by(ClientRequest.due_at)
    ).all()
    return [(request, client) for request, client in rows]
