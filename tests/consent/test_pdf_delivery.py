"""Delivering the sealed PDF survives a mail outage and a killed worker, and never sends twice."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from sotto import clock
from sotto.accounts import service as accounts
from sotto.accounts.models import Practice, Role, User
from sotto.db import session_scope
from sotto.jobs.models import Job
from sotto.jobs.service import run_pending
from sotto.runtime import Runtime
from support.app import Person, create_person, work_off
from support.consenting import CLIENT_EMAIL, invitation_link, mail_to, send_form, sign, the_consent
from support.scan import stored_anywhere, unique_pdf_parts


def signed_but_undelivered(runtime: Runtime, web: TestClient, smtp_server) -> None:
    send_form(web)
    link = invitation_link(runtime, smtp_server)
    with TestClient(web.app, base_url="http://testserver") as client:
        sign(client, link)


def test_mail_outage_delays_the_pdf_but_loses_nothing(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person, monkeypatch
) -> None:
    signed_but_undelivered(runtime, web, smtp_server)
    smtp_server.stop()
    monkeypatch.setattr("sotto.mail.service.time.sleep", lambda _s: None)
    run_pending(runtime)
    consent = the_consent(runtime)
    assert consent.pdf_sha256 is None and consent.signing_sealed is not None and consent.email_sealed is not None
    with session_scope(runtime.sessions) as session:
        job = session.scalars(select(Job).where(Job.name == "consent.deliver_signed_pdf")).one()
        assert job.status == "queued" and job.last_error == "MailDeliveryError"

    smtp_server.start()
    clock.advance(timedelta(minutes=5))
    work_off(runtime)
    [to_therapist] = mail_to(smtp_server, signed_in_therapist.user.email)
    pdf = next(to_therapist.iter_attachments()).get_content()
    consent = the_consent(runtime)
    assert consent.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert consent.signing_sealed is None and consent.email_sealed is None
    for needle in unique_pdf_parts(pdf):
        assert stored_anywhere(runtime, needle) == []


def test_delivery_job_run_again_sends_nothing_more(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person
) -> None:
    signed_but_undelivered(runtime, web, smtp_server)
    work_off(runtime)
    sent = len(smtp_server.messages)
    with session_scope(runtime.sessions) as session:
        job = session.scalars(select(Job).where(Job.name == "consent.deliver_signed_pdf")).one()
        job.status = "queued"  # as if a worker died after sending but before marking it done
    run_pending(runtime)
    assert len(smtp_server.messages) == sent
    assert len(mail_to(smtp_server, CLIENT_EMAIL)) == 2  # the invitation and the signed copy


def test_a_consent_signed_just_before_its_therapist_left_goes_to_the_practice_admins_not_the_old_address(
    runtime: Runtime, web: TestClient, smtp_server, signed_in_therapist: Person, practice: Practice
) -> None:
    admin = create_person(runtime, practice, Role.ADMIN, "office@quietharbor.test", "Practice Office")
    signed_but_undelivered(runtime, web, smtp_server)
    with session_scope(runtime.sessions) as session:
        acting = session.get(User, admin.id)
        assert acting is not None
        accounts.deactivate_user(session, keystore=runtime.keystore, admin=acting, user_id=signed_in_therapist.id)
    work_off(runtime)

    assert mail_to(smtp_server, signed_in_therapist.user.email) == []
    [to_office] = mail_to(smtp_server, admin.user.email)
    body = to_office.get_body(("plain",))
    assert body is not None and f"for {signed_in_therapist.user.display_name}, whose account" in body.get_content()
    pdf = next(to_office.iter_attachments()).get_content()
    assert the_consent(runtime).pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert len(mail_to(smtp_server, CLIENT_EMAIL)) == 2  # the client's own copy still reaches them
