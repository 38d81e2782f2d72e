"""The admin's People page: ending a departing colleague's access, taking it back, and sending a new
set-up link (a set-up never finished, or a lost authenticator)."""

from __future__ import annotations

import html
import re
import threading
import time
from email.message import EmailMessage

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sotto import clock
from sotto.accounts import service as accounts
from sotto.accounts.models import EnrolmentLink, Practice, Role, User, WebSession
from sotto.audit.models import AuditEvent
from sotto.db import session_scope
from sotto.runtime import Runtime
from support.app import Person, another_browser, create_person, create_practice, form_token, links_in, sign_in, work_off
from support.smtp import LoopbackSmtpServer

WRONG_PASSWORD_MESSAGE = "That e-mail address and password do not match an account."
NEW_PASSWORD = "a brand new and varied passphrase"


def act(web: TestClient, user_id: str, action: str) -> object:
    return web.post(f"/admin/users/{user_id}/{action}", data={"csrf_token": form_token(web, "/admin/users")})


def is_signed_in(client: TestClient) -> bool:
    r = client.get("/")
    if r.status_code == 303:
        assert r.headers["location"] == "/login"
        return False
    assert r.status_code == 200, r.text
    return True


def password_step(client: TestClient, email: str, password: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": form_token(client, "/login")}
    )


def audit_actions(runtime: Runtime, subject: str) -> list[str]:
    with session_scope(runtime.sessions) as session:
        return list(
            session.scalars(select(AuditEvent.action).where(AuditEvent.subject == subject).order_by(AuditEvent.seq))
        )


def sessions_of(runtime: Runtime, user_id: str) -> int:
    with session_scope(runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == user_id)) or 0


def mail_to(smtp: LoopbackSmtpServer, address: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if address in m["To"]]


def enrolment_fields(web: TestClient, path: str, password: str = NEW_PASSWORD) -> tuple[dict[str, str], str]:
    r = web.get(path)
    assert r.status_code == 200, r.text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', r.text)
    sealed = re.search(r'name="sealed_secret" value="([0-9a-f]+)"', r.text)
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', r.text)
    assert secret and sealed and csrf
    return (
        {
            "password": password,
            "password_again": password,
            "totp_code": pyotp.TOTP(secret.group(1)).at(clock.now()),
            "sealed_secret": sealed.group(1),
            "csrf_token": csrf.group(1),
        },
        secret.group(1),
    )


# -- deactivation -----------------------------------------------------------------------------


def test_deactivated_therapist_signed_in_elsewhere_is_refused_at_once_and_cannot_sign_in(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person
) -> None:
    elsewhere = another_browser(web)
    sign_in(elsewhere, therapist)
    assert is_signed_in(elsewhere)

    r = act(web, therapist.id, "deactivate")
    assert r.status_code == 200, r.text
    assert "no longer sign in" in r.text
    # What becomes of their clients and sessions is said on the page.
    assert "Nothing is deleted" in web.get("/admin/users").text

    # The session is gone on the server, not only refused.
    assert sessions_of(runtime, therapist.id) == 0
    assert not is_signed_in(elsewhere)
    r = password_step(another_browser(web), therapist.user.email, therapist.password)
    assert r.status_code == 400 and WRONG_PASSWORD_MESSAGE in r.text
    assert "account.deactivated" in audit_actions(runtime, f"user:{therapist.id}")
    with session_scope(runtime.sessions) as session:
        row = session.get(User, therapist.id)
        assert row is not None and row.active is False and row.password_hash is not None


def test_deactivation_cancels_the_therapists_invitations_still_waiting_for_a_signature(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, smtp_server: LoopbackSmtpServer
) -> None:
    own = another_browser(web)
    sign_in(own, therapist)
    r = own.post(
        "/consents",
        data={"pseudonym": "Grey Plover", "email": "plover@example.org", "csrf_token": form_token(own, "/")},
    )
    assert r.status_code == 303, r.text
    work_off(runtime)
    [invitation] = [m for m in smtp_server.messages if "plover@example.org" in m["To"]]
    [link] = links_in(invitation.get_body(("plain",)).get_content())

    r = act(web, therapist.id, "deactivate")
    said = html.unescape(r.text)
    assert r.status_code == 200 and "1 consent request still waiting for a client's signature was cancelled" in said
    # The client's link no longer leads to a form that would be sealed in the departed therapist's name.
    assert another_browser(web).get(link).status_code == 410
    with session_scope(runtime.sessions) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "consent.cancelled")).all()
        assert [e.actor for e in events] == [f"user:{admin.id}"]
        assert events[0].details == {"reason": "therapist deactivated"}


def test_reactivated_therapist_signs_in_again(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person
) -> None:
    page = web.get("/admin/users").text
    assert f'action="/admin/users/{therapist.id}/deactivate"' in page
    assert f'action="/admin/users/{admin.id}/deactivate"' not in page
    assert act(web, therapist.id, "deactivate").status_code == 200
    assert f'action="/admin/users/{therapist.id}/reactivate"' in web.get("/admin/users").text
    r = act(web, therapist.id, "reactivate")
    assert r.status_code == 200, r.text
    sign_in(another_browser(web), therapist)
    actions = audit_actions(runtime, f"user:{therapist.id}")
    assert actions.index("account.deactivated") < actions.index("account.reactivated")


def test_deactivation_retires_pending_set_up_links(
    runtime: Runtime, web: TestClient, admin: Person, smtp_server: LoopbackSmtpServer
) -> None:
    r = web.post(
        "/admin/users",
        data={
            "email": "dr.new@example.com",
            "display_name": "Dr. Nova Newcomer",
            "role": "therapist",
            "csrf_token": form_token(web, "/admin/users"),
        },
    )
    assert r.status_code == 200
    work_off(runtime)
    [invitation] = mail_to(smtp_server, "dr.new@example.com")
    [link] = links_in(invitation.get_body(("plain",)).get_content())
    with session_scope(runtime.sessions) as session:
        new_id = session.scalars(select(User.id).where(User.email == "dr.new@example.com")).one()
    assert act(web, new_id, "deactivate").status_code == 200
    assert another_browser(web).get(link).status_code == 410


def test_admin_cannot_deactivate_themselves(runtime: Runtime, web: TestClient, admin: Person) -> None:
    r = act(web, admin.id, "deactivate")
    assert r.status_code == 400
    assert "your own account" in r.text
    assert is_signed_in(web)


def test_last_active_admin_cannot_be_deactivated(
    runtime: Runtime, web: TestClient, practice: Practice, admin: Person
) -> None:
    other = create_person(runtime, practice, Role.ADMIN, "second.admin@quietharbor.test", "Lou Second")
    assert act(web, other.id, "deactivate").status_code == 200
    # Now the only active admin: neither they nor anyone else can switch the account off.
    r = act(web, admin.id, "deactivate")
    assert r.status_code == 400 and "your own account" in r.text
    with session_scope(runtime.sessions) as session:
        acting = session.get(User, other.id)
        assert acting is not None
        with pytest.raises(accounts.AccountError):
            accounts.deactivate_user(session, keystore=runtime.keystore, admin=acting, user_id=admin.id)
    with session_scope(runtime.sessions) as session:
        row = session.get(User, admin.id)
        assert row is not None and row.active
    assert is_signed_in(web)


def test_two_admins_deactivating_each_other_at_once_leave_one(
    runtime: Runtime, practice: Practice, admin: Person
) -> None:
    if runtime.engine.dialect.name == "sqlite":
        pytest.skip("SQLite runs one write transaction at a time")
    other = create_person(runtime, practice, Role.ADMIN, "second.admin@quietharbor.test", "Lou Second")
    errors: list[Exception] = []

    def second() -> None:
        try:
            with session_scope(runtime.sessions) as session:
                acting = session.get(User, other.id)
                assert acting is not None
                accounts.deactivate_user(session, keystore=runtime.keystore, admin=acting, user_id=admin.id)
        except accounts.AccountError as exc:
            errors.append(exc)

    first = runtime.sessions()
    try:
        acting = first.get(User, admin.id)
        assert acting is not None
        accounts.deactivate_user(first, keystore=runtime.keystore, admin=acting, user_id=other.id)
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(1.0)
        first.commit()
        thread.join(10)
    finally:
        first.close()
    with session_scope(runtime.sessions) as session:
        active = session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
        )
    assert active == 1 and len(errors) == 1


def test_user_of_another_practice_is_not_found(runtime: Runtime, web: TestClient, admin: Person) -> None:
    elsewhere = create_practice(runtime, name="Far Shore Therapy", us_state="NY")
    stranger = create_person(runtime, elsewhere, Role.THERAPIST, "dr.lund@farshore.test", "Dr. Eli Lund")
    for action in ("deactivate", "reactivate", "setup-link"):
        assert act(web, stranger.id, action).status_code == 404
    with session_scope(runtime.sessions) as session:
        row = session.get(User, stranger.id)
        assert row is not None and row.active


# -- a new set-up link --------------------------------------------------------------------------


def test_reissued_link_works_once_and_the_old_one_is_gone(
    runtime: Runtime, web: TestClient, admin: Person, smtp_server: LoopbackSmtpServer
) -> None:
    r = web.post(
        "/admin/users",
        data={
            "email": "dr.late@example.com",
            "display_name": "Dr. Lee Late",
            "role": "therapist",
            "csrf_token": form_token(web, "/admin/users"),
        },
    )
    assert r.status_code == 200
    with session_scope(runtime.sessions) as session:
        user_id = session.scalars(select(User.id).where(User.email == "dr.late@example.com")).one()
    r = act(web, user_id, "setup-link")
    assert r.status_code == 200, r.text
    work_off(runtime)
    first, second = mail_to(smtp_server, "dr.late@example.com")
    [old] = links_in(first.get_body(("plain",)).get_content())
    [new] = links_in(second.get_body(("plain",)).get_content())
    assert old != new
    newcomer = another_browser(web)
    assert newcomer.get(old).status_code == 410
    fields, secret = enrolment_fields(newcomer, new)
    assert newcomer.post(new, data=fields).status_code == 200
    assert newcomer.get(new).status_code == 410
    with session_scope(runtime.sessions) as session:
        assert session.scalar(select(func.count()).where(EnrolmentLink.user_id == user_id)) == 1
        row = session.get(User, user_id)
        assert row is not None
    sign_in(another_browser(web), Person(row, secret, password=NEW_PASSWORD))
    assert "account.setup_link_sent" in audit_actions(runtime, f"user:{user_id}")


def test_new_link_for_an_enrolled_user_changes_nothing_until_it_is_used(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person, smtp_server: LoopbackSmtpServer
) -> None:
    elsewhere = another_browser(web)
    sign_in(elsewhere, therapist)
    r = act(web, therapist.id, "setup-link")
    assert r.status_code == 200, r.text
    # The admin does not get the link of an enrolled account: only its owner, by e-mail.
    work_off(runtime)
    [message] = mail_to(smtp_server, therapist.user.email)
    [link] = links_in(message.get_body(("plain",)).get_content())
    assert link not in r.text
    # A stray click does nothing: the old password and authenticator still work.
    assert another_browser(web).get(link).status_code == 200
    sign_in(another_browser(web), therapist)
    assert is_signed_in(elsewhere)

    owner = another_browser(web)
    fields, secret = enrolment_fields(owner, link)
    assert owner.post(link, data=fields).status_code == 200
    # The lost authenticator and old password are replaced, and sessions signed in with them end.
    assert not is_signed_in(elsewhere)
    assert password_step(another_browser(web), therapist.user.email, therapist.password).status_code == 400
    sign_in(another_browser(web), Person(therapist.user, secret, password=NEW_PASSWORD))


def test_no_set_up_link_for_a_deactivated_account(
    runtime: Runtime, web: TestClient, admin: Person, therapist: Person
) -> None:
    assert act(web, therapist.id, "deactivate").status_code == 200
    r = act(web, therapist.id, "setup-link")
    assert r.status_code == 400 and "Reactivate" in r.text
    with session_scope(runtime.sessions) as session:
        assert session.scalar(select(func.count()).where(EnrolmentLink.user_id == therapist.id)) == 0
