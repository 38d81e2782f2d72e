"""Sign-in and enrolment under concurrent requests (several web processes on PostgreSQL, or threads):
a one-time link, a one-time code and the failure limit must hold when two requests overlap."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sotto import clock
from sotto.accounts import security, signin
from sotto.accounts import service as accounts
from sotto.accounts.models import EnrolmentLink, Practice, User
from sotto.crypto.envelope import token_hash
from sotto.db import session_scope
from sotto.runtime import Runtime
from support.app import PASSWORD, Person

ADDRESS = "192.0.2.10"


def enrol_first_admin(session: Session, runtime: Runtime, link: EnrolmentLink, email: str) -> User:
    secret = security.new_totp_secret()
    return accounts.complete_enrolment(
        session,
        keystore=runtime.keystore,
        link=link,
        password="a long and varied passphrase",
        totp_secret=secret,
        totp_code=pyotp.TOTP(secret).at(clock.now()),
        new_practice=("Quiet Harbor Counseling", "CA"),
        email=email,
        display_name="Dr. Jo Admin",
    )


def test_first_admin_link_used_by_two_overlapping_requests_sets_up_one_practice(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        token = accounts.issue_first_admin_link(session)
    assert token is not None
    late = runtime.sessions()
    try:
        # The second request has checked the link and is about to use it...
        stale = accounts.usable_enrolment(late, token)
        assert stale is not None
        late.commit()  # (SQLite queues writers; this lets the first request run meanwhile)
        # ...when the first request completes enrolment with the same link.
        with session_scope(runtime.sessions) as first:
            link = accounts.usable_enrolment(first, token)
            assert link is not None
            enrol_first_admin(first, runtime, link, "jo.admin@example.com")
        with pytest.raises(accounts.AccountError):
            enrol_first_admin(late, runtime, stale, "intruder@example.net")
        late.rollback()
    finally:
        late.close()
    with session_scope(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Practice)) == 1
        assert list(session.scalars(select(User.email))) == ["jo.admin@example.com"]


def first_admin_form(web: TestClient, token: str, email: str) -> dict[str, str]:
    page = web.get(f"/enrol/{token}").text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    sealed = re.search(r'name="sealed_secret" value="([0-9a-f]+)"', page)
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert secret and sealed and csrf
    return {
        "practice_name": "Quiet Harbor Counseling",
        "us_state": "CA",
        "display_name": "Dr. Jo Admin",
        "email": email,
        "password": "a long and varied passphrase",
        "password_again": "a long and varied passphrase",
        "totp_code": pyotp.TOTP(secret.group(1)).at(clock.now()),
        "sealed_secret": sealed.group(1),
        "csrf_token": csrf.group(1),
    }


def test_enrolment_form_sent_during_an_overlapping_use_gets_the_link_gone_page(
    runtime: Runtime, web: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(runtime.sessions) as session:
        token = accounts.issue_first_admin_link(session)
    assert token is not None
    first = first_admin_form(web, token, "jo.admin@example.com")
    second = first_admin_form(web, token, "intruder@example.net")
    assert web.post(f"/enrol/{token}", data=first).status_code == 200

    def checked_before_it_was_used(session: Session, token: str) -> EnrolmentLink | None:
        return session.scalar(select(EnrolmentLink).where(EnrolmentLink.token_hash == token_hash(token)))

    # The second request found the link unused just before the first one used it.
    monkeypatch.setattr(accounts, "usable_enrolment", checked_before_it_was_used)
    r = web.post(f"/enrol/{token}", data=second)
    assert r.status_code == 410 and "This link no longer works" in r.text
    with session_scope(runtime.sessions) as session:
        assert list(session.scalars(select(User.email))) == ["jo.admin@example.com"]


def test_user_enrolment_link_cannot_be_used_twice_by_overlapping_requests(runtime: Runtime, practice: Practice) -> None:
    with session_scope(runtime.sessions) as session:
        user, token = accounts.create_user(
            session,
            keystore=runtime.keystore,
            practice_id=practice.id,
            email="dr.lane@example.com",
            display_name="Dr. Robin Lane",
            role=accounts.Role.THERAPIST,
            actor="test",
        )
        user_id = user.id
    late = runtime.sessions()
    try:
        stale = accounts.usable_enrolment(late, token)
        assert stale is not None
        late.commit()
        with session_scope(runtime.sessions) as first:
            link = accounts.usable_enrolment(first, token)
            assert link is not None
            secret = security.new_totp_secret()
            accounts.complete_enrolment(
                first,
                keystore=runtime.keystore,
                link=link,
                password="the owner's own passphrase",
                totp_secret=secret,
                totp_code=pyotp.TOTP(secret).at(clock.now()),
            )
        other_secret = security.new_totp_secret()
        with pytest.raises(accounts.AccountError):
            accounts.complete_enrolment(
                late,
                keystore=runtime.keystore,
                link=stale,
                password="an intruder's passphrase",
                totp_secret=other_secret,
                totp_code=pyotp.TOTP(other_secret).at(clock.now()),
            )
        late.rollback()
    finally:
        late.close()
    with session_scope(runtime.sessions) as session:
        row = session.get(User, user_id)
        assert row is not None and security.verify_password(row.password_hash, "the owner's own passphrase")


def test_one_code_cannot_complete_two_overlapping_sign_ins(runtime: Runtime, therapist: Person) -> None:
    code = therapist.code()
    late = runtime.sessions()
    try:
        # Another request (an attacker who saw the code) loaded the account before the owner used it.
        stale_user = late.get(User, therapist.id)
        assert stale_user is not None
        late.commit()
        with session_scope(runtime.sessions) as first:
            user = first.get(User, therapist.id)
            assert user is not None
            owner = signin.check_second_factor(
                first, keystore=runtime.keystore, settings=runtime.settings, user=user, code=code, ip=ADDRESS
            )
            assert owner.user is not None
        replay = signin.check_second_factor(
            late, keystore=runtime.keystore, settings=runtime.settings, user=stale_user, code=code, ip="192.0.2.66"
        )
        late.commit()
    finally:
        late.close()
    assert replay.user is None


Attempt = Callable[..., signin.SignInResult]


def _overlapping_attempt_after_the_limit(runtime: Runtime, attempt: Attempt) -> signin.SignInResult:
    """Make ``limit - 1`` failures, hold the limit-th one uncommitted, and run ``attempt`` meanwhile."""
    limit = runtime.settings.login_max_failures
    for _ in range(limit - 1):
        with session_scope(runtime.sessions) as session:
            assert attempt(session, wrong=True).user is None
    held = runtime.sessions()
    results: list[signin.SignInResult] = []

    def other_request() -> None:
        with session_scope(runtime.sessions) as session:
            results.append(attempt(session, wrong=False))

    try:
        failed = attempt(held, wrong=True)
        assert failed.user is None and not failed.locked
        thread = threading.Thread(target=other_request)
        thread.start()
        thread.join(timeout=1.5)  # it must wait for the failure in flight, not decide without it
        held.commit()
    finally:
        held.close()
    thread.join(timeout=30)
    assert results, "the overlapping request did not finish"
    return results[0]


def test_overlapping_codes_cannot_exceed_the_failure_limit(runtime: Runtime, therapist: Person) -> None:
    right = pyotp.TOTP(therapist.totp_secret).at(clock.now())
    bad = f"{(int(right) + 500_000) % 1_000_000:06d}"

    def attempt(session: Session, *, wrong: bool) -> signin.SignInResult:
        user = session.get(User, therapist.id)
        assert user is not None
        return signin.check_second_factor(
            session,
            keystore=runtime.keystore,
            settings=runtime.settings,
            user=user,
            code=bad if wrong else right,
            ip=ADDRESS,
        )

    result = _overlapping_attempt_after_the_limit(runtime, attempt)
    assert result.user is None and result.locked


def test_overlapping_passwords_cannot_exceed_the_failure_limit(runtime: Runtime, therapist: Person) -> None:
    def attempt(session: Session, *, wrong: bool) -> signin.SignInResult:
        return signin.check_password(
            session,
            keystore=runtime.keystore,
            settings=runtime.settings,
            email=therapist.user.email,
            password="not the password at all" if wrong else PASSWORD,
            ip=ADDRESS,
        )

    result = _overlapping_attempt_after_the_limit(runtime, attempt)
    assert result.user is None and result.locked
