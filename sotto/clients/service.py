"""Client pseudonyms, always scoped to the therapist who owns them."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from sotto.accounts.models import User
from sotto.clients.models import Client

_PSEUDONYM = re.compile(r"^[\w][\w .'\-]{0,59}$")


class ClientError(ValueError):
    """The message is shown to the therapist."""


def check_pseudonym(pseudonym: str) -> str:
    pseudonym = " ".join(pseudonym.split())
    if not pseudonym:
        raise ClientError("Choose a pseudonym for the client, such as “Client K” or “Blue Heron”.")
    if not _PSEUDONYM.match(pseudonym) or "@" in pseudonym or sum(c.isdigit() for c in pseudonym) > 4:
        raise ClientError(
            "Use up to 60 letters, digits, spaces or simple punctuation, and nothing that "
            "identifies the client (no e-mail, phone or record number)."
        )
    return pseudonym


def find_or_create_client(session: Session, *, therapist: User, pseudonym: str) -> Client:
    pseudonym = check_pseudonym(pseudonym)
    client = session.scalar(select(Client).where(Client.therapist_id == therapist.id, Client.pseudonym == pseudonym))
    if client is None:
        client = Client(practice_id=therapist.practice_id, therapist_id=therapist.id, pseudonym=pseudonym)
        session.add(client)
        session.flush()
    return client


def client_of(session: Session, *, therapist: User, client_id: str) -> Client | None:
    """The client if this therapist owns it; None otherwise (callers answer 404, revealing nothing)."""
    client = session.get(Client, client_id)
    if client is None or client.therapist_id != therapist.id or client.practice_id != therapist.practice_id:
        return None
    return client


def clients_of(session: Session, *, therapist: User) -> list[Client]:
    return list(
        session.scalars(
            select(Client)
            .where(Client.therapist_id == therapist.id, Client.practice_id == therapist.practice_id)
            .order_by(Client.pseudonym)
        )
    )


def get_client(session: Session, *, client_id: str) -> Client | None:
    return session.get(Client, client_id)
