"""What is kept of a consent, what is not, and what a therapist can do with the record."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sotto import clock
from sotto.consent import certificates, seal
from sotto.consent.fhir import validate_bundle
from sotto.consent.models import Consent
from sotto.db import session_scope
from sotto.runtime import Runtime
from support.app import Person, create_person, create_practice, form_token, links_in, sign_in, work_off
from support.certificates import issue
from support.consenting import CLIENT_EMAIL, consenting_client, invitation_link, mail_to, send_form, sign, the_consent
from support.scan import stored_anywhere, unique_pdf_parts
from support.smtp import LoopbackSmtpServer


def signed_pdf(runtime: Runtime, web: TestClient, smtp: LoopbackSmtpServer, therapist: Person) -> bytes:
    send_form(web)
    link = invitation_link(runtime, smtp)
    with TestClient(web.app, base_url="http://testserver") as client:
        sign(client, link)
    work_off(runtime)
    [message] = mail_to(smtp, therapist.user.email)
    return next(message.iter_attachments()).get_content()


def client_copy(smtp: LoopbackSmtpServer) -> EmailMessage:
    return mail_to(smtp, CLIENT_EMAIL)[-1]


def test_no_pdf_bytes_or_address_are_stored(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person
) -> None:
    pdf = signed_pdf(runtime, web, smtp_server, signed_in_therapist)
    assert len(pdf) > 5000
    # Neither the file nor the part unique to it (the seal's signature) is anywhere.
    for needle in (pdf, *unique_pdf_parts(pdf)):
        assert stored_anywhere(runtime, needle) == []
    assert stored_anywhere(runtime, CLIENT_EMAIL.encode()) == []
    assert stored_anywhere(runtime, b"Avery Invented") == []


def test_fhir_export_carries_the_pdf_hash_not_the_pdf(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person
) -> None:
    pdf = signed_pdf(runtime, web, smtp_server, signed_in_therapist)
    consent = the_consent(runtime)
    r = web.get(f"/consents/{consent.id}/fhir.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    validate_bundle(bundle)
    text = json.dumps(bundle)
    assert hashlib.sha256(pdf).hexdigest() in text
    assert "Blue Heron" in text and CLIENT_EMAIL not in text and "Avery Invented" not in text
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["Consent", "DocumentReference"]
    assert "data" not in bundle["entry"][1]["resource"]["content"][0]["attachment"]


def upload(web: TestClient, data: bytes, name: str = "consent.pdf"):  # type: ignore[no-untyped-def]
    token = form_token(web, "/consents/verify")
    return web.post("/consents/verify", data={"csrf_token": token}, files={"pdf": (name, data, "application/pdf")})


def test_verify_recognises_the_genuine_pdf_and_rejects_a_changed_one(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person
) -> None:
    pdf = signed_pdf(runtime, web, smtp_server, signed_in_therapist)
    r = upload(web, pdf)
    assert r.status_code == 200 and "Genuine and unchanged" in r.text and "Blue Heron" in r.text

    changed = bytearray(pdf)
    at = pdf.index(b"Consent to record") if b"Consent to record" in pdf else len(pdf) // 3
    changed[at] ^= 0x01
    r = upload(web, bytes(changed))
    assert "does not check out" in r.text and "Genuine" not in r.text

    r = upload(web, b"this is not a pdf at all")
    assert "does not check out" in r.text and "not a readable PDF" in r.text
    r = web.post("/consents/verify", data={"csrf_token": form_token(web, "/consents/verify")})
    assert r.status_code == 400 and "Choose a file" in r.text
    for needle in unique_pdf_parts(pdf):
        assert stored_anywhere(runtime, needle) == []


def test_consent_signed_after_the_seal_certificate_expired_is_sealed_with_a_valid_one(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person
) -> None:
    # The certificate in use has run out since it was installed (a CA-issued one lasts a year or three).
    now = clock.now()
    key, expired = issue(
        "Quiet Harbor Counseling seal", not_before=now - timedelta(days=400), not_after=now - timedelta(days=1)
    )
    with session_scope(runtime.sessions) as session:
        old = certificates._store(
            session,
            keystore=runtime.keystore,
            practice_id=signed_in_therapist.user.practice_id,
            material=seal._material(key, expired, []),
        )

    pdf = signed_pdf(runtime, web, smtp_server, signed_in_therapist)

    r = upload(web, pdf)
    assert "Genuine and unchanged" in r.text and "expired" not in r.text
    with session_scope(runtime.sessions) as session:
        current = certificates.active_certificate(session, practice_id=signed_in_therapist.user.practice_id)
        kept = {c.id for c in certificates.practice_certificates(session, practice_id=old.practice_id)}
    assert current is not None and current.id != old.id and current.not_after > clock.now()
    assert old.id in kept  # still checks the PDFs it sealed while it was valid


def test_verify_refuses_an_oversized_upload(runtime: Runtime, web: TestClient, signed_in_therapist: Person) -> None:
    big = b"%PDF-1.7\n" + b"0" * (runtime.settings.max_upload_mb * 1024 * 1024 + 10)
    r = upload(web, big)
    assert r.status_code == 413 and "too large" in r.text


def test_therapist_records_a_verbal_withdrawal(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person
) -> None:
    signed_pdf(runtime, web, smtp_server, signed_in_therapist)
    consent = the_consent(runtime)
    path = f"/consents/{consent.id}"
    r = web.post(f"{path}/withdraw", data={"csrf_token": form_token(web, path)})
    assert r.status_code == 400 and the_consent(runtime).status == "signed"
    r = web.post(f"{path}/withdraw", data={"csrf_token": form_token(web, path), "confirm": "yes"})
    assert r.status_code == 303
    consent = the_consent(runtime)
    assert consent.status == "withdrawn" and consent.withdrawn_by == "therapist"
    assert "Withdrawn" in web.get("/").text
    # The client's link now shows the withdrawal and offers nothing to sign.
    [my_link] = [
        x for x in links_in(client_copy(smtp_server).get_body(("plain",)).get_content()) if x.startswith("/my/")
    ]
    with TestClient(web.app, base_url="http://testserver") as client:
        page = client.get(my_link)
        assert "Withdrawn on" in page.text and "withdraw-button" not in page.text


def test_cancelled_invitation_link_stops_working(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person
) -> None:
    send_form(web)
    link = invitation_link(runtime, smtp_server)
    consent = the_consent(runtime)
    r = web.post(f"/consents/{consent.id}/cancel", data={"csrf_token": form_token(web, "/")})
    assert r.status_code == 303
    assert the_consent(runtime).email_sealed is None
    assert web.get(link).status_code == 410
    # A new form can be sent once the old one is cancelled, but not while one is waiting.
    send_form(web)
    r = web.post(
        "/consents", data={"pseudonym": "Blue Heron", "email": CLIENT_EMAIL, "csrf_token": form_token(web, "/")}
    )
    assert r.status_code == 400 and "already waiting" in r.text


def test_pseudonym_that_looks_identifying_is_refused(
    web: TestClient, signed_in_therapist: Person, runtime: Runtime
) -> None:
    for bad in ("jane@example.test", "MRN 123456789", ""):
        r = web.post("/consents", data={"pseudonym": bad, "email": CLIENT_EMAIL, "csrf_token": form_token(web, "/")})
        assert r.status_code == 400
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(Consent)).all() == []


@pytest.mark.parametrize(("state", "expected"), [("CA", True), ("NY", False)])
def test_all_party_consent_states_get_the_reminder(
    runtime: Runtime, web: TestClient, state: str, expected: bool
) -> None:
    practice = create_practice(runtime, name=f"Practice in {state}", us_state=state)
    person = create_person(
        runtime,
        practice,
        __import__("sotto.accounts.models").accounts.models.Role.THERAPIST,
        f"t-{state.lower()}@example.test",
        "Dr. Example",
    )
    sign_in(web, person)
    assert ("requires everyone" in web.get("/").text) is expected


def test_resent_link_retires_the_link_of_an_earlier_consent_too(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    """The e-mail promises "Your previous link no longer works". A client who asks because an old copy
    was seen by someone else must not leave that copy's link able to open their sessions, ask for
    copies of them or delete them."""
    earlier = consenting_client(runtime, signed_in_therapist.user)
    with TestClient(web.app, base_url="http://testserver") as device:
        page = f"/my/{earlier.my_token}"
        device.post(f"{page}/withdraw", data={"csrf_token": form_token(device, page)})
    later = consenting_client(runtime, signed_in_therapist.user)
    assert later.client.id == earlier.client.id
    with TestClient(web.app, base_url="http://testserver") as device:
        device.post("/my", data={"csrf_token": form_token(device, "/my"), "email": "client.k@example.test"})
        work_off(runtime)
        assert device.get(f"/my/{later.my_token}").status_code == 410
        assert device.get(f"/my/{earlier.my_token}").status_code == 410
