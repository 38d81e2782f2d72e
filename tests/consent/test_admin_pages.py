"""The admin's consent template, practice settings and seal certificate."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sotto import clock
from sotto.accounts.models import Practice
from sotto.consent import certificates, seal
from sotto.consent import tasks as consent_tasks
from sotto.consent.models import ConsentTemplate, SealCertificate
from sotto.db import session_scope
from sotto.runtime import Runtime
from support.app import Person, form_token, sign_in, work_off
from support.certificates import issue, p12
from support.consenting import invitation_link, send_form, the_consent


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, attrs))


def practice_form(**changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "name": "Quiet Harbor Counseling",
        "us_state": "CA",
        "phi_removal": "yes",
        "topics_removed": ["criminal", "immigration", "sogi", "trauma", "substance", "health"],
        "audio_retention_days": "0",
        "transcript_retention_days": "365",
        "consent_valid_days": "365",
        "client_deletion": "immediate",
        "request_response_days": "30",
    }
    form.update(changes)
    return form


def test_customised_template_is_versioned_and_named_by_each_consent(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, smtp_server
) -> None:
    page = web.get("/admin/template")
    assert page.status_code == 200 and "Version 1" in page.text
    with session_scope(runtime.sessions) as session:
        body = session.scalars(select(ConsentTemplate)).one().body
    custom = body + "\n\n## A note from our practice\n\nWe review this form every year.\n"
    r = web.post("/admin/template", data={"body": custom, "csrf_token": form_token(web, "/admin/template")})
    assert r.status_code == 200 and "Saved as version 2" in r.text

    with TestClient(web.app, base_url="http://testserver", follow_redirects=False) as therapist_web:
        sign_in(therapist_web, therapist)
        send_form(therapist_web)
        link = invitation_link(runtime, smtp_server)
    consent = the_consent(runtime)
    with session_scope(runtime.sessions) as session:
        v2 = session.scalars(select(ConsentTemplate).where(ConsentTemplate.version == 2)).one()
    assert consent.template_version == 2 and consent.template_sha256 == v2.sha256
    with TestClient(web.app, base_url="http://testserver") as client:
        assert "We review this form every year." in client.get(link).text


@pytest.mark.parametrize(
    "injection",
    [
        "<script>alert('x')</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "<iframe src='https://evil.test'></iframe>",
    ],
)
def test_template_cannot_inject_script_into_the_signing_page(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, smtp_server, injection: str
) -> None:
    with session_scope(runtime.sessions) as session:
        body = session.scalars(select(ConsentTemplate)).one().body
    r = web.post(
        "/admin/template",
        data={"body": body + "\n\n" + injection + "\n", "csrf_token": form_token(web, "/admin/template")},
    )
    assert r.status_code == 200
    with TestClient(web.app, base_url="http://testserver", follow_redirects=False) as therapist_web:
        sign_in(therapist_web, therapist)
        send_form(therapist_web)
        link = invitation_link(runtime, smtp_server)
    with TestClient(web.app, base_url="http://testserver") as client:
        html = client.get(link).text
    form_part = html[html.index('id="form-text"') : html.index('id="sign-form"')]
    tags = TagCollector()
    tags.feed(form_part)
    assert not {"script", "img", "iframe", "object", "embed", "style"} & {t for t, _ in tags.seen}
    for _, attrs in tags.seen:
        assert not any(name.startswith("on") for name, _ in attrs)
        assert not any((value or "").strip().lower().startswith("javascript:") for _, value in attrs)


def test_template_with_unknown_placeholder_is_refused(runtime: Runtime, web: TestClient, admin: Person) -> None:
    with session_scope(runtime.sessions) as session:
        body = session.scalars(select(ConsentTemplate)).one().body
    r = web.post(
        "/admin/template",
        data={"body": body + "\n{{clinic_phone}}\n", "csrf_token": form_token(web, "/admin/template")},
    )
    assert r.status_code == 400 and "clinic_phone" in r.text
    with session_scope(runtime.sessions) as session:
        assert len(session.scalars(select(ConsentTemplate)).all()) == 1


def test_practice_settings_reach_the_consent_form(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, smtp_server
) -> None:
    r = web.post(
        "/admin/practice",
        data={
            **practice_form(audio_retention_days="30", us_state="NY", topics_removed=["trauma", "substance"]),
            "csrf_token": form_token(web, "/admin/practice"),
        },
    )
    assert r.status_code == 200 and "Saved" in r.text
    with TestClient(web.app, base_url="http://testserver", follow_redirects=False) as therapist_web:
        sign_in(therapist_web, therapist)
        assert "requires everyone" not in therapist_web.get("/").text
        send_form(therapist_web)
        invitation_link(runtime, smtp_server)
    form_text = the_consent(runtime).form_text
    assert "30 days" in form_text and "New York" in form_text
    assert "trauma and abuse" in form_text and "immigration status" in form_text  # removed, and not removed


def test_bad_practice_settings_are_refused(web: TestClient, admin: Person, runtime: Runtime) -> None:
    for bad in (
        practice_form(us_state="ZZ"),
        practice_form(audio_retention_days="-3"),
        practice_form(consent_valid_days="5"),
        practice_form(topics_removed=["astrology"]),
    ):
        r = web.post("/admin/practice", data={**bad, "csrf_token": form_token(web, "/admin/practice")})
        assert r.status_code == 400
    with session_scope(runtime.sessions) as session:
        practice = session.scalars(select(Practice)).one()
        assert practice.us_state == "CA" and practice.audio_retention_days == 0


@pytest.mark.parametrize("days", ["\u00b2", "9" * 5000], ids=["superscript digit", "5000 digits"])
def test_unreadable_day_counts_are_refused_not_a_server_error(
    web: TestClient, admin: Person, runtime: Runtime, days: str
) -> None:
    """A superscript digit passes str.isdigit() and 5,000 digits pass it too, but int() refuses both."""
    r = web.post(
        "/admin/practice",
        data={**practice_form(audio_retention_days=days), "csrf_token": form_token(web, "/admin/practice")},
    )
    assert r.status_code == 400 and "whole numbers of days" in r.text
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(Practice)).one().audio_retention_days == 0


def test_admin_installs_own_certificate_and_new_pdfs_use_it(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, smtp_server
) -> None:
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    own = seal.create_self_signed_certificate("Quiet Harbor Counseling LLC")
    key, cert, extra = pkcs12.load_key_and_certificates(own.pkcs12, None)
    protected = pkcs12.serialize_key_and_certificates(b"qh", key, cert, extra, BestAvailableEncryption(b"pw-123"))
    token = form_token(web, "/admin/seal")
    r = web.post(
        "/admin/seal",
        data={"csrf_token": token, "password": "wrong"},
        files={"pkcs12": ("seal.p12", protected, "application/x-pkcs12")},
    )
    assert r.status_code == 400
    r = web.post(
        "/admin/seal",
        data={"csrf_token": token, "password": "pw-123"},
        files={"pkcs12": ("seal.p12", protected, "application/x-pkcs12")},
    )
    assert r.status_code == 303
    with session_scope(runtime.sessions) as session:
        certs = session.scalars(select(SealCertificate)).all()
        assert [c.active for c in certs].count(True) == 1 and len(certs) == 2
        active = next(c for c in certs if c.active)
        assert active.fingerprint_sha256 == own.fingerprint_sha256
        assert b"PRIVATE KEY" not in active.pkcs12_sealed

    with TestClient(web.app, base_url="http://testserver", follow_redirects=False) as therapist_web:
        sign_in(therapist_web, therapist)
        send_form(therapist_web)
        link = invitation_link(runtime, smtp_server)
    from test_consent_flow import mail_to, sign

    with TestClient(web.app, base_url="http://testserver") as client:
        sign(client, link)
    work_off(runtime)
    [message] = mail_to(smtp_server, therapist.user.email)
    pdf = next(message.iter_attachments()).get_content()
    assert seal.check_seal(pdf, [own.certificate_pem]).ok


def install(web: TestClient, pkcs12_file: bytes) -> None:
    r = web.post(
        "/admin/seal",
        data={"csrf_token": form_token(web, "/admin/seal")},
        files={"pkcs12": ("seal.p12", pkcs12_file, "application/x-pkcs12")},
    )
    assert r.status_code == 303


def seal_notices(web: TestClient, admin: Person) -> list[str]:
    """The certificate warnings on the admin's home page and on the seal page, signed in afresh
    (days pass in these tests, and a sign-in does not last that long)."""
    found = []
    with TestClient(web.app, base_url="http://testserver", follow_redirects=False) as admin_web:
        sign_in(admin_web, admin)
        for path in ("/", "/admin/seal"):
            page = admin_web.get(path)
            assert page.status_code == 200
            found += re.findall(r'<div class="notice warn" role="alert">([^<]*)', page.text)
    return found


def test_admins_are_told_before_an_installed_seal_certificate_expires(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, smtp_server
) -> None:
    # A certificate from the practice's own CA, as a provider issues them, with 40 days left.
    key, cert = issue("Quiet Harbor Counseling LLC", not_after=clock.now() + timedelta(days=40))
    install(web, p12(key, cert))

    def warn() -> list[EmailMessage]:
        before = len(smtp_server.messages)
        consent_tasks.warn_of_seal_expiry(runtime)
        work_off(runtime)
        return smtp_server.messages[before:]

    assert warn() == [] and seal_notices(web, admin) == []

    clock.advance(timedelta(days=11))  # 29 days left
    [message] = warn()
    assert message["To"] == admin.user.email and "needs renewing" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert "expires on" in body and "http://testserver/admin/seal" in body
    assert warn() == []  # once at 30 days, not on every sweep
    notices = seal_notices(web, admin)
    assert len(notices) == 2 and all("Quiet Harbor Counseling LLC" in n and "expires on" in n for n in notices)
    with TestClient(web.app, base_url="http://testserver", follow_redirects=False) as therapist_web:
        sign_in(therapist_web, therapist)
        assert "seal certificate" not in therapist_web.get("/").text

    clock.advance(timedelta(days=23))  # 6 days left
    [message] = warn()
    assert message["To"] == admin.user.email
    assert warn() == []

    clock.advance(timedelta(days=7))  # expired, and nothing has been sealed since
    assert warn() == []
    assert all("expired on" in n for n in seal_notices(web, admin)) and len(seal_notices(web, admin)) == 2

    # Installing the renewal ends the warnings.
    key, renewed = issue("Quiet Harbor Counseling LLC", not_after=clock.now() + timedelta(days=400))
    with TestClient(web.app, base_url="http://testserver", follow_redirects=False) as admin_web:
        sign_in(admin_web, admin)
        install(admin_web, p12(key, renewed))
    assert seal_notices(web, admin) == [] and warn() == []


def test_a_certificate_sotto_made_itself_is_renewed_without_warnings(
    runtime: Runtime, web: TestClient, admin: Person, smtp_server
) -> None:
    key, cert = issue("Quiet Harbor Counseling", not_after=clock.now() + timedelta(days=5))
    with session_scope(runtime.sessions) as session:
        certificates._store(
            session,
            keystore=runtime.keystore,
            practice_id=admin.user.practice_id,
            material=seal._material(key, cert, []),
        )
    consent_tasks.warn_of_seal_expiry(runtime)
    work_off(runtime)
    assert smtp_server.messages == [] and seal_notices(web, admin) == []
