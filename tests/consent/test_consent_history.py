"""A client's page lists every consent form sent for them, not only the one now in force."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from sotto import clock
from sotto.accounts.models import User
from sotto.clients.models import Client
from sotto.consent import service as consents
from sotto.consent.models import Consent
from sotto.db import session_scope
from sotto.runtime import Runtime
from support.app import Person, sign_in
from support.consenting import consenting_client


def _invite_again(runtime: Runtime, therapist: Person, client_id: str) -> Consent:
    with session_scope(runtime.sessions) as session:
        therapist_row, client = session.get(User, therapist.id), session.get(Client, client_id)
        assert therapist_row is not None and client is not None
        return consents.send_invitation(
            session,
            keystore=runtime.keystore,
            settings=runtime.settings,
            therapist=therapist_row,
            client=client,
            email="grey.plover@example.test",
        ).consent


def _withdraw(runtime: Runtime, consent_id: str) -> None:
    with session_scope(runtime.sessions) as session:
        consent = session.get(Consent, consent_id)
        assert consent is not None
        assert consents.withdraw(session, keystore=runtime.keystore, consent=consent, by="client", actor="client")


def _history_rows(web: TestClient, therapist: Person, client_id: str) -> list[str]:
    sign_in(web, therapist)  # the clock moved on by days: the earlier sign-in has lapsed
    page = web.get(f"/clients/{client_id}").text
    if 'id="consent-history"' not in page:
        return []
    return page.split('id="consent-history"', 1)[1].split("</table>", 1)[0].split("<tr>")[2:]


def test_the_client_page_lists_earlier_consents_newest_first_with_their_outcome(
    runtime: Runtime, web: TestClient, therapist: Person
) -> None:
    first = consenting_client(runtime, therapist.user, pseudonym="Grey Plover")
    assert _history_rows(web, therapist, first.client.id) == []  # one form: the consent card says it all
    clock.advance(timedelta(days=3))
    _withdraw(runtime, first.consent.id)
    clock.advance(timedelta(days=2))
    second = _invite_again(runtime, therapist, first.client.id).id

    rows = _history_rows(web, therapist, first.client.id)
    assert len(rows) == 2
    assert f'href="/consents/{second}"' in rows[0] and "Sent" in rows[0]
    assert f'href="/consents/{first.consent.id}"' in rows[1] and "Withdrawn" in rows[1]
    assert rows[1].count("UTC") == 3, "the earlier form's times: sent, signed and withdrawn"


def test_an_invitation_whose_link_lapsed_shows_as_expired_in_the_list(
    runtime: Runtime, web: TestClient, therapist: Person
) -> None:
    first = consenting_client(runtime, therapist.user, pseudonym="Grey Plover")
    _withdraw(runtime, first.consent.id)
    waiting = _invite_again(runtime, therapist, first.client.id)
    clock.advance(waiting.link_expires_at - clock.now() + timedelta(minutes=1))
    rows = _history_rows(web, therapist, first.client.id)
    assert f'href="/consents/{waiting.id}"' in rows[0] and "Expired" in rows[0]
