"""Client pseudonyms, always scoped to the therapist who owns them, and handing them to a colleague."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sotto.accounts import service as accounts
from sotto.accounts.models import User
from sotto.audit import service as audit
from sotto.clients.models import Client
from sotto.consent import service as consents
from sotto.crypto.keystore import KeyStore
from sotto.db import lock_row
from sotto.recording import service as recordings

MAX_PSEUDONYM = 60
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


def client_counts(session: Session, *, practice_id: str) -> dict[str, int]:
    """How many clients each therapist of the practice holds (therapists without clients are left out)."""
    rows = session.execute(
        select(Client.therapist_id, func.count()).where(Client.practice_id == practice_id).group_by(Client.therapist_id)
    ).all()
    return {therapist_id: count for therapist_id, count in rows}


@dataclass(frozen=True)
class HandOver:
    """What a hand-over did: how many clients moved, and the pseudonyms changed on the way (old to new)."""

    moved: int
    renamed: dict[str, str]


def hand_over_clients(
    session: Session, *, keystore: KeyStore, admin: User, from_user_id: str, to_user_id: str
) -> HandOver:
    """Give every client of a deactivated therapist to an active colleague.

    Their sessions, transcripts and consent records go with them, and only the colleague sees
    them from then on. A consent in force ends (its form names the departed therapist): the
    colleague sends a new form before recording. A pseudonym the colleague already uses gets a
    number ("Client K 2"), since one therapist's clients need different pseudonyms.
    """
    departed, successor = accounts.hand_over_parties(
        session, admin=admin, from_user_id=from_user_id, to_user_id=to_user_id
    )
    moving = list(
        session.scalars(
            select(Client)
            .where(Client.therapist_id == departed.id, Client.practice_id == departed.practice_id)
            .order_by(Client.id)
        )
    )
    # Rows in the order a withdrawal takes them (the consent, then its sessions), all before the
    # first audit entry: taking the log first could deadlock on PostgreSQL with a client's request.
    for client in moving:
        lock_row(session, Client, client.id)
    client_ids = [client.id for client in moving]
    ended = consents.hand_over_consents(session, client_ids=client_ids, therapist=successor)
    recordings.hand_over_sessions(session, client_ids=client_ids, therapist=successor)
    actor = f"user:{admin.id}"
    consents.note_hand_over(session, keystore=keystore, consents=ended, to=successor, actor=actor)
    taken = set(session.scalars(select(Client.pseudonym).where(Client.therapist_id == successor.id)))
    renamed: dict[str, str] = {}
    for client in moving:
        pseudonym = _unused(client.pseudonym, taken)
        taken.add(pseudonym)
        if pseudonym != client.pseudonym:
            renamed[client.pseudonym] = pseudonym
            client.pseudonym = pseudonym
        client.therapist_id = successor.id
        audit.record(
            session,
            keystore=keystore,
            action="client.handed_over",
            actor=actor,
            practice_id=client.practice_id,
            subject=f"client:{client.id}",
            details={"from": departed.id, "to": successor.id, "renamed": pseudonym in renamed.values()},
        )
    session.flush()
    return HandOver(len(moving), renamed)


def _unused(pseudonym: str, taken: set[str]) -> str:
    """``pseudonym``, or with the lowest number from 2 that makes it one not in ``taken``."""
    number = 1
    candidate = pseudonym
    while candidate in taken:
        number += 1
        suffix = f" {number}"
        candidate = pseudonym[: MAX_PSEUDONYM - len(suffix)] + suffix
    return candidate
