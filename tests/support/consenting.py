"""Consents for tests: a client with a signed consent made through the real services (no pages),
for tests about later stages, and the steps of the consent workflow through the real pages."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from email.message import EmailMessage

from fastapi.testclient import TestClient
from sqlalchemy import select

from sotto.accounts.models import Practice, User
from sotto.clients import service as clients
from sotto.clients.models import Client
from sotto.consent import service as consents
from sotto.consent import signing
from sotto.consent.models import Consent
from sotto.db import session_scope
from sotto.runtime import Runtime
from support.app import form_token, links_in, signature_data_url, work_off
from support.smtp import LoopbackSmtpServer

CLIENT_EMAIL = "blue.heron.client@example.test"
ALL_USES = {"therapist_review": True, "supervision": True, "ai_notes": True, "client_recap": True}


@dataclass
class ConsentingClient:
    client: Client
    consent: Consent
    my_token: str  # the client's private page token (from their copy of the consent)


def consenting_client(
    runtime: Runtime,
    therapist: User,
    *,
    pseudonym: str = "Client K",
    email: str = "client.k@example.test",
    uses: dict[str, bool] | None = None,
    smtp_server: object | None = None,
) -> ConsentingClient:
    with session_scope(runtime.sessions) as session:
        therapist_row = session.get(User, therapist.id)
        assert therapist_row is not None
        client = clients.find_or_create_client(session, therapist=therapist_row, pseudonym=pseudonym)
        invitation = consents.send_invitation(
            session,
            keystore=runtime.keystore,
            settings=runtime.settings,
            therapist=therapist_row,
            client=client,
            email=email,
        )
        token = invitation.link.rsplit("/", 1)[1]
    with session_scope(runtime.sessions) as session:
        consent = signing.invitation_for_token(session, keystore=runtime.keystore, token=token)
        practice = session.get(Practice, consent.practice_id)
        assert practice is not None
        png = base64.b64decode(signature_data_url().split(",", 1)[1])
        signing.sign(
            session,
            keystore=runtime.keystore,
            consent=consent,
            practice=practice,
            agree_electronic=True,
            uses=uses if uses is not None else ALL_USES,
            details=signing.SigningDetails("Invented Person", png, "127.0.0.1", "test"),
        )
        _, my_token = signing.signing_details(runtime.keystore, consent)
    work_off(runtime)
    with session_scope(runtime.sessions) as session:
        consent = session.get(Consent, consent.id)
        client = session.get(Client, client.id)
        assert consent is not None and client is not None
    assert re.fullmatch(r"[\w-]{43}", my_token)
    return ConsentingClient(client, consent, my_token)


def send_form(web: TestClient, *, pseudonym: str = "Blue Heron", email: str = CLIENT_EMAIL, note: str = "") -> None:
    r = web.post(
        "/consents", data={"pseudonym": pseudonym, "email": email, "note": note, "csrf_token": form_token(web, "/")}
    )
    assert r.status_code == 303, r.text


def mail_to(smtp: LoopbackSmtpServer, address: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if address in m["To"]]


def invitation_link(runtime: Runtime, smtp: LoopbackSmtpServer, address: str = CLIENT_EMAIL) -> str:
    work_off(runtime)
    [message] = mail_to(smtp, address)
    [link] = links_in(message.get_body(("plain",)).get_content())
    assert link.startswith("/c/")
    return link


def the_consent(runtime: Runtime) -> Consent:
    with session_scope(runtime.sessions) as session:
        return session.scalars(select(Consent)).one()


def sign(client: TestClient, link: str, **overrides: str) -> object:
    page = client.get(link)
    assert page.status_code == 200, page.text
    data = {
        "csrf_token": form_token(client, link),
        "agree_electronic": "yes",
        "typed_name": "Avery Invented",
        "signature": signature_data_url(),
        "use_therapist_review": "yes",
        "use_ai_notes": "yes",
    }
    data.update(overrides)
    return client.post(f"{link}/sign", data=data)
