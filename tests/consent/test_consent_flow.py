"""The consent workflow through the real pages, a real SMTP server and the real seal."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from sotto import clock
from sotto.audit.models import AuditEvent
from sotto.audit.service import verify_chain
from sotto.consent.seal import check_seal
from sotto.db import session_scope
from sotto.runtime import Runtime
from support.app import Person, form_token, links_in, signature_data_url, work_off
from support.consenting import CLIENT_EMAIL, invitation_link, mail_to, send_form, sign, the_consent


def test_signed_consent_is_sealed_mailed_and_forgotten(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person
) -> None:
    send_form(web, note="As we discussed today.")
    link = invitation_link(runtime, smtp_server)
    assert "As we discussed today." in mail_to(smtp_server, CLIENT_EMAIL)[0].get_body(("plain",)).get_content()
    assert the_consent(runtime).email_sealed is not None

    with TestClient(web.app, base_url="http://testserver") as client:
        r = sign(client, link)
        assert r.status_code == 200 and "consent is signed" in r.text
        consent = the_consent(runtime)
        assert consent.status == "signed" and consent.opened_at is not None
        assert consent.uses == {"therapist_review": True, "supervision": False, "ai_notes": True, "client_recap": False}
        work_off(runtime)

    [to_therapist] = mail_to(smtp_server, signed_in_therapist.user.email)
    [_, to_client] = mail_to(smtp_server, CLIENT_EMAIL)
    pdfs = [next(p for p in m.iter_attachments()).get_content() for m in (to_therapist, to_client)]
    assert pdfs[0] == pdfs[1] and pdfs[0].startswith(b"%PDF")
    consent = the_consent(runtime)
    assert consent.pdf_sha256 == hashlib.sha256(pdfs[0]).hexdigest()
    assert consent.email_sealed is None and consent.signing_sealed is None

    with session_scope(runtime.sessions) as session:
        from sotto.consent.certificates import active_certificate

        cert = active_certificate(session, practice_id=consent.practice_id)
        assert cert is not None
        seal = check_seal(pdfs[0], [cert.certificate_pem])
    assert seal.intact and seal.valid and seal.trusted and seal.covers_whole_file

    [my_link] = [x for x in links_in(to_client.get_body(("plain",)).get_content()) if x.startswith("/my/")]
    assert not any(x.startswith("/my/") for x in links_in(to_therapist.get_body(("plain",)).get_content()))
    with TestClient(web.app, base_url="http://testserver") as client:
        page = client.get(my_link)
        assert "In force" in page.text
        r = client.post(f"{my_link}/withdraw", data={"csrf_token": form_token(client, my_link)})
        assert r.status_code == 200 and "withdrawn" in r.text.lower()
    assert the_consent(runtime).status == "withdrawn"
    assert the_consent(runtime).withdrawn_by == "client"

    with session_scope(runtime.sessions) as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert verify_chain(session, keystore=runtime.keystore).ok
    for expected in ("consent.sent", "consent.opened", "consent.signed", "consent.pdf_delivered", "consent.withdrawn"):
        assert expected in actions


def test_decline_erases_address_and_tells_therapist(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person
) -> None:
    send_form(web)
    link = invitation_link(runtime, smtp_server)
    with TestClient(web.app, base_url="http://testserver") as client:
        client.get(link)
        r = client.post(
            f"{link}/decline", data={"csrf_token": form_token(client, link), "reason": "I would rather not."}
        )
        assert r.status_code == 200 and "declined" in r.text
        again = client.post(f"{link}/decline", data={"csrf_token": form_token(client, "/login")})
        assert again.status_code == 410
    consent = the_consent(runtime)
    assert consent.status == "declined" and consent.email_sealed is None
    work_off(runtime)
    [notice] = mail_to(smtp_server, signed_in_therapist.user.email)
    assert "I would rather not." in notice.get_body(("plain",)).get_content()
    home = web.get("/")
    assert "Declined" in home.text


def test_signing_twice_changes_nothing(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person
) -> None:
    send_form(web)
    link = invitation_link(runtime, smtp_server)
    with TestClient(web.app, base_url="http://testserver") as client:
        assert sign(client, link).status_code == 200  # type: ignore[attr-defined]
        first = the_consent(runtime)
        r = client.post(
            f"{link}/sign",
            data={
                "csrf_token": form_token(client, "/login"),
                "agree_electronic": "yes",
                "typed_name": "Someone Else",
                "signature": signature_data_url(),
                "use_supervision": "yes",
            },
        )
        assert r.status_code == 410 and "already been completed" in r.text
    second = the_consent(runtime)
    assert second.uses == first.uses and second.signed_at == first.signed_at


def test_forged_link_is_refused(web: TestClient, runtime: Runtime) -> None:
    r = web.get("/c/" + "A" * 43)
    assert r.status_code == 410 and "not valid" in r.text
    r = web.post("/c/" + "A" * 43 + "/sign", data={"csrf_token": form_token(web)})
    assert r.status_code == 410
    r = web.get("/my/" + "B" * 43)
    assert r.status_code == 410


def test_expired_link_is_refused_and_address_erased(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person
) -> None:
    send_form(web)
    link = invitation_link(runtime, smtp_server)
    clock.advance(timedelta(days=7, minutes=1))
    from sotto.jobs.service import run_periodic

    run_periodic(runtime)
    consent = the_consent(runtime)
    assert consent.status == "expired" and consent.email_sealed is None
    with TestClient(web.app, base_url="http://testserver") as client:
        r = client.get(link)
        assert r.status_code == 410 and "expired" in r.text
        r = (
            sign(client, link)
            if False
            else client.post(
                f"{link}/sign",
                data={
                    "csrf_token": form_token(client),
                    "agree_electronic": "yes",
                    "typed_name": "Avery Invented",
                    "signature": signature_data_url(),
                },
            )
        )
        assert r.status_code == 410
    assert the_consent(runtime).status == "expired"


def test_bad_signature_inputs_are_explained(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person
) -> None:
    send_form(web)
    link = invitation_link(runtime, smtp_server)
    with TestClient(web.app, base_url="http://testserver") as client:
        cases = {
            "To sign online, please agree": {"agree_electronic": ""},
            "type your full name": {"typed_name": " "},
            "draw your signature": {"signature": ""},
            "could not be read": {"signature": "data:image/png;base64,bm90IGEgcG5n"},
        }
        for message, override in cases.items():
            r = sign(client, link, **override)
            assert r.status_code == 400 and message in r.text, message  # type: ignore[attr-defined]
    assert the_consent(runtime).status == "opened"
