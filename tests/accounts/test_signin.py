"""Signing in: argon2id passwords, a second factor that cannot be skipped or replayed, rate limits,
sessions that end on idleness and on sign-out, and an audit trail without addresses."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, text

from sotto import clock
from sotto.accounts import security
from sotto.accounts import service as accounts
from sotto.accounts.models import Practice, Role, User, WebSession
from sotto.app import create_app
from sotto.audit.service import verify_chain
from sotto.db import session_scope
from sotto.runtime import Runtime, build_runtime
from sotto.web.deps import SESSION_COOKIE
from support.app import Person, another_browser, create_person, create_practice, form_token, make_settings, sign_in
from support.smtp import LoopbackSmtpServer


def send_consent_form(web: TestClient) -> Response:
    """A consent form posted from a page left open, with a valid form token, signed in or not."""
    return web.post(
        "/consents",
        data={"pseudonym": "Blue Heron", "email": "client@example.test", "csrf_token": form_token(web, "/login")},
    )


def password_step(client: TestClient, email: str, password: str) -> Response:
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": form_token(client, "/login")}
    )


def code_step(client: TestClient, code: str) -> Response:
    return client.post("/login/code", data={"code": code, "csrf_token": form_token(client, "/login")})


def current_code(person: Person) -> str:
    """The code the authenticator shows right now (the clock does not move)."""
    return pyotp.TOTP(person.totp_secret).at(clock.now())


def is_signed_in(client: TestClient) -> bool:
    r = client.get("/")
    if r.status_code == 303:
        assert r.headers["location"] == "/login"
        return False
    assert r.status_code == 200, r.text
    return True


def session_cookies(response: Response) -> list[str]:
    return [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")]


def cookie_value(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0].split("=", 1)[1]


def with_cookie(web: TestClient, token: str) -> TestClient:
    """A fresh browser that presents a copied session cookie."""
    client = another_browser(web)
    client.cookies.set(SESSION_COOKIE, token)
    return client


# -- passwords ------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id(runtime: Runtime, therapist: Person) -> None:
    with session_scope(runtime.sessions) as session:
        user = session.get(User, therapist.id)
        assert user is not None and user.password_hash is not None
        stored = user.password_hash
    assert stored.startswith("$argon2id$v=19$")
    assert therapist.password not in stored
    params = dict(p.split("=") for p in stored.split("$")[3].split(","))
    # OWASP's floor for argon2id: 19 MiB of memory and 2 passes (or more memory and fewer passes).
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2
    assert security.verify_password(stored, therapist.password)
    assert not security.verify_password(stored, therapist.password + "!")


def test_each_password_hash_is_salted() -> None:
    assert security.hash_password("the same passphrase") != security.hash_password("the same passphrase")


# -- the second factor ---------------------------------------------------------------------


def test_password_step_alone_does_not_reach_home(web: TestClient, therapist: Person) -> None:
    r = password_step(web, therapist.user.email, therapist.password)
    assert r.status_code == 303 and r.headers["location"] == "/login/code"
    assert not is_signed_in(web)
    for path in ("/guide", "/consents/verify", "/admin/users"):
        r = web.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    r = send_consent_form(web)
    assert r.status_code == 401


def test_wrong_totp_code_is_refused(web: TestClient, therapist: Person) -> None:
    password_step(web, therapist.user.email, therapist.password)
    right = current_code(therapist)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for code in (wrong, "abcdef", "12345", "1234567", ""):
        assert code_step(web, code).status_code == 400, code
        assert not is_signed_in(web)
    assert code_step(web, right).status_code == 303
    assert is_signed_in(web)


def test_code_from_long_ago_is_refused(web: TestClient, therapist: Person) -> None:
    old = pyotp.TOTP(therapist.totp_secret).at(clock.now() - timedelta(minutes=5))
    password_step(web, therapist.user.email, therapist.password)
    assert code_step(web, old).status_code == 400
    assert not is_signed_in(web)


def test_totp_code_cannot_be_used_twice(web: TestClient, therapist: Person) -> None:
    code = current_code(therapist)
    password_step(web, therapist.user.email, therapist.password)
    assert code_step(web, code).status_code == 303
    assert is_signed_in(web)

    other = another_browser(web)
    assert password_step(other, therapist.user.email, therapist.password).status_code == 303
    r = code_step(other, code)
    assert r.status_code == 400
    assert not is_signed_in(other)


def test_code_older_than_the_last_used_one_is_refused(web: TestClient, therapist: Person) -> None:
    earlier = pyotp.TOTP(therapist.totp_secret).at(clock.now() - timedelta(seconds=30))
    password_step(web, therapist.user.email, therapist.password)
    assert code_step(web, current_code(therapist)).status_code == 303
    other = another_browser(web)
    password_step(other, therapist.user.email, therapist.password)
    assert code_step(other, earlier).status_code == 400
    assert not is_signed_in(other)


def test_code_form_without_password_step_goes_back_to_sign_in(web: TestClient, therapist: Person) -> None:
    assert web.get("/login/code").headers["location"] == "/login"
    r = code_step(web, current_code(therapist))
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert not is_signed_in(web)


def test_unenrolled_account_cannot_sign_in(runtime: Runtime, web: TestClient, practice: Practice) -> None:
    with session_scope(runtime.sessions) as session:
        accounts.create_user(
            session,
            keystore=runtime.keystore,
            practice_id=practice.id,
            email="new.hire@quietharbor.test",
            display_name="New Hire",
            role=Role.THERAPIST,
            actor="test",
        )
    assert password_step(web, "new.hire@quietharbor.test", "").status_code == 400
    r = password_step(web, "new.hire@quietharbor.test", "correct horse battery staple")
    assert r.status_code == 400 and not session_cookies(r)


# -- rate limiting -------------------------------------------------------------------------


def test_repeated_wrong_passwords_lock_the_account_even_for_the_right_one(
    runtime: Runtime, web: TestClient, therapist: Person
) -> None:
    limit = runtime.settings.login_max_failures
    for _ in range(limit):
        r = password_step(web, therapist.user.email, "not the password at all")
        assert r.status_code == 400
    r = password_step(web, therapist.user.email, therapist.password)
    assert r.status_code == 429
    assert not session_cookies(r)
    # The same answer for a wrong password: a locked account does not confirm guesses.
    assert password_step(web, therapist.user.email, "another wrong guess").status_code == 429
    # Another browser, the same account: still locked.
    assert password_step(another_browser(web), therapist.user.email, therapist.password).status_code == 429


def test_locked_account_unlocks_after_the_lockout_window(runtime: Runtime, web: TestClient, therapist: Person) -> None:
    for _ in range(runtime.settings.login_max_failures):
        password_step(web, therapist.user.email, "not the password at all")
    clock.advance(timedelta(minutes=runtime.settings.login_lockout_minutes - 1))
    assert password_step(web, therapist.user.email, therapist.password).status_code == 429
    clock.advance(timedelta(minutes=2))
    sign_in(web, therapist)
    assert is_signed_in(web)


def test_fewer_failures_than_the_limit_do_not_lock(runtime: Runtime, web: TestClient, therapist: Person) -> None:
    for _ in range(runtime.settings.login_max_failures - 1):
        password_step(web, therapist.user.email, "not the password at all")
    sign_in(web, therapist)
    assert is_signed_in(web)


def test_wrong_codes_count_towards_the_lockout(runtime: Runtime, web: TestClient, therapist: Person) -> None:
    password_step(web, therapist.user.email, therapist.password)
    right = current_code(therapist)
    wrong = f"{(int(right) + 500_000) % 1_000_000:06d}"
    for _ in range(runtime.settings.login_max_failures):
        assert code_step(web, wrong).status_code == 400
    r = code_step(web, right)
    assert r.status_code == 429
    assert not is_signed_in(web)
    # The half-finished session is gone too: the code page sends the browser back to the start.
    assert web.get("/login/code").headers["location"] == "/login"


def test_unknown_address_is_locked_the_same_way(runtime: Runtime, web: TestClient) -> None:
    """Lockout does not tell an attacker which addresses have accounts."""
    for _ in range(runtime.settings.login_max_failures):
        assert password_step(web, "nobody@nowhere.test", "a guess at a password").status_code == 400
    assert password_step(web, "nobody@nowhere.test", "a guess at a password").status_code == 429


def test_lockout_is_per_account(runtime: Runtime, web: TestClient, therapist: Person, practice: Practice) -> None:
    colleague = create_person(runtime, practice, Role.THERAPIST, "dr.okafor@quietharbor.test", "Dr. Ada Okafor")
    for _ in range(runtime.settings.login_max_failures):
        password_step(web, therapist.user.email, "not the password at all")
    sign_in(another_browser(web), colleague)


# -- sessions ------------------------------------------------------------------------------


def test_idle_session_is_signed_out_after_30_minutes(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    assert runtime.settings.session_idle_minutes == 30
    clock.advance(timedelta(minutes=31))
    assert not is_signed_in(web)
    r = send_consent_form(web)
    assert r.status_code == 401 and "Nothing was changed" in r.text


def test_the_sign_in_page_and_the_signed_out_message_give_the_practice_idle_limit(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    runtime.settings = runtime.settings.model_copy(update={"session_idle_minutes": 90})
    assert "After 1 hour 30 minutes without activity you are signed out." in web.get("/login").text
    clock.advance(timedelta(minutes=91))
    assert not is_signed_in(web)
    r = send_consent_form(web)
    assert r.status_code == 401 and "after 1 hour 30 minutes without activity" in r.text


def test_idle_session_is_deleted_on_the_server_when_noticed(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    clock.advance(timedelta(minutes=31))
    assert not is_signed_in(web)
    with session_scope(runtime.sessions) as session:
        left = session.scalars(select(WebSession).where(WebSession.user_id == signed_in_therapist.id)).all()
    assert left == []
    # So a clock stepped back (or a longer idle setting after a restart) cannot revive it.
    clock.reset()
    assert not is_signed_in(web)


def test_session_survives_29_idle_minutes_and_activity_extends_it(web: TestClient, signed_in_therapist: Person) -> None:
    for _ in range(4):
        clock.advance(timedelta(minutes=29))
        assert is_signed_in(web)


def test_session_ends_after_its_maximum_age_even_when_active(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    step = timedelta(minutes=20)
    elapsed = timedelta(0)
    while elapsed < timedelta(hours=runtime.settings.session_max_hours) - step:
        clock.advance(step)
        elapsed += step
        assert is_signed_in(web), elapsed
    clock.advance(2 * step)
    assert not is_signed_in(web)


def test_deactivated_account_loses_its_session(runtime: Runtime, web: TestClient, signed_in_therapist: Person) -> None:
    with session_scope(runtime.sessions) as session:
        user = session.get(User, signed_in_therapist.id)
        assert user is not None
        user.active = False
    assert not is_signed_in(web)


def test_session_cookie_is_httponly_and_samesite_strict(web: TestClient, therapist: Person) -> None:
    first = password_step(web, therapist.user.email, therapist.password)
    second = code_step(web, current_code(therapist))
    for response in (first, second):
        [cookie] = session_cookies(response)
        attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
        assert "httponly" in attributes
        assert "samesite=strict" in attributes
        assert "path=/" in attributes
    for cookie in second.headers.get_list("set-cookie"):  # the known-browser cookie too
        assert {"httponly", "samesite=strict", "path=/"} <= {a.strip().lower() for a in cookie.split(";")[1:]}
    [csrf] = another_browser(web).get("/login").headers.get_list("set-cookie")
    assert csrf.startswith("sotto_csrf=")
    assert {"httponly", "samesite=strict"} <= {a.strip().lower() for a in csrf.split(";")[1:]}


@pytest.fixture
def https_web(tmp_path: Path, database_url: str, smtp_server: LoopbackSmtpServer) -> Iterator[TestClient]:
    runtime = build_runtime(
        make_settings(tmp_path, database_url, smtp_server.port, public_url="https://sotto.example.test")
    )
    yield TestClient(
        create_app(runtime, run_workers=False), base_url="https://sotto.example.test", follow_redirects=False
    )
    runtime.close()


def test_cookies_are_secure_when_served_over_https(https_web: TestClient) -> None:
    runtime: Runtime = https_web.app.state.runtime  # type: ignore[attr-defined]
    practice = create_practice(runtime)
    person = create_person(runtime, practice, Role.THERAPIST, "dr.rivera@quietharbor.test", "Dr. Sam Rivera")
    first = password_step(https_web, person.user.email, person.password)
    second = code_step(https_web, current_code(person))
    cookies = (
        session_cookies(first)
        + second.headers.get_list("set-cookie")
        + https_web.get("/login", headers={"cookie": ""}).headers.get_list("set-cookie")
    )
    assert len(cookies) >= 4
    for cookie in cookies:
        assert "secure" in {a.strip().lower() for a in cookie.split(";")[1:]}, cookie


def test_session_token_rotates_at_the_second_factor(web: TestClient, therapist: Person) -> None:
    [before] = session_cookies(password_step(web, therapist.user.email, therapist.password))
    [after] = session_cookies(code_step(web, current_code(therapist)))
    assert cookie_value(before) != cookie_value(after)
    assert is_signed_in(with_cookie(web, cookie_value(after)))
    # The token handed out before the second factor is worth nothing now (no session fixation).
    stale = with_cookie(web, cookie_value(before))
    assert not is_signed_in(stale)
    assert stale.get("/login/code").headers["location"] == "/login"


def test_sign_out_ends_the_session_on_the_server(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    token = web.cookies.get(SESSION_COOKIE)
    assert token
    r = web.post("/logout", data={"csrf_token": form_token(web, "/")})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert not is_signed_in(web)
    assert not is_signed_in(with_cookie(web, token))
    with session_scope(runtime.sessions) as session:
        left = session.scalars(select(WebSession).where(WebSession.user_id == signed_in_therapist.id)).all()
    assert left == []


def test_sign_out_ends_only_that_session(web: TestClient, therapist: Person) -> None:
    sign_in(web, therapist)
    phone = another_browser(web)
    sign_in(phone, therapist)
    web.post("/logout", data={"csrf_token": form_token(web, "/")})
    assert not is_signed_in(web)
    assert is_signed_in(phone)


# -- the audit trail -----------------------------------------------------------------------


def audit_table_text(runtime: Runtime) -> str:
    with runtime.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_events ORDER BY seq")).mappings().all()
    return "\n".join(repr(dict(row)) for row in rows)


def audit_actions(runtime: Runtime) -> list[tuple[str, dict]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(text("SELECT action, details FROM audit_events ORDER BY seq")).all()
    return [(action, details if isinstance(details, dict) else json.loads(details or "{}")) for action, details in rows]


def test_sign_in_events_are_audited_without_the_email_address(
    runtime: Runtime, web: TestClient, therapist: Person, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    email = therapist.user.email
    password_step(web, email, "not the password at all")
    password_step(web, email.upper(), "not the password at all")
    password_step(web, "nobody@nowhere.test", "not the password at all")
    password_step(web, email, therapist.password)
    code_step(web, f"{(int(current_code(therapist)) + 1) % 1_000_000:06d}")
    assert code_step(web, therapist.code()).status_code == 303
    web.post("/logout", data={"csrf_token": form_token(web, "/")})

    actions = audit_actions(runtime)
    names = [a for a, _ in actions]
    assert names.count("signin.failed") == 4
    assert {"factor": "password"} in [d for a, d in actions if a == "signin.failed"]
    assert {"factor": "totp"} in [d for a, d in actions if a == "signin.failed"]
    assert "signin.password_ok" in names and "signin.succeeded" in names and "signout" in names

    stored = audit_table_text(runtime).lower()
    for address in (email, "nobody@nowhere.test"):
        assert address.lower() not in stored
        assert address.split("@")[0].lower() not in stored
    logged = "\n".join(r.getMessage() for r in caplog.records).lower()
    assert email.lower() not in logged and "nobody@nowhere.test" not in logged
    with session_scope(runtime.sessions) as session:
        assert verify_chain(session, keystore=runtime.keystore).ok


def test_locked_attempts_are_audited(runtime: Runtime, web: TestClient, therapist: Person) -> None:
    for _ in range(runtime.settings.login_max_failures + 1):
        password_step(web, therapist.user.email, "not the password at all")
    assert "signin.locked" in [a for a, _ in audit_actions(runtime)]
    assert therapist.user.email not in audit_table_text(runtime)


def test_sign_in_pages_do_not_echo_the_password(web: TestClient, therapist: Person) -> None:
    r = password_step(web, therapist.user.email, "my-secret-guess-123")
    assert r.status_code == 400
    assert "my-secret-guess-123" not in r.text
    assert re.search(r'type="password"[^>]*value="[^"]', r.text) is None


# -- a known browser is not locked out by someone else's guesses ---------------------------


def lock_out_by_guessing(runtime: Runtime, attacker: TestClient, email: str) -> None:
    for _ in range(runtime.settings.login_max_failures):
        assert password_step(attacker, email, "not the password at all").status_code == 400
    assert password_step(attacker, email, "not the password at all").status_code == 429


def test_guesses_from_elsewhere_do_not_lock_out_a_browser_that_signed_in_before(
    runtime: Runtime, web: TestClient, therapist: Person
) -> None:
    """Anyone who knows the address could otherwise keep the owner out for good, a few guesses an hour."""
    sign_in(web, therapist)
    web.post("/logout", data={"csrf_token": form_token(web, "/")})
    attacker = another_browser(web)
    lock_out_by_guessing(runtime, attacker, therapist.user.email)
    sign_in(web, therapist)
    assert is_signed_in(web)
    # The attacker's own browser stays locked, with the right password too.
    assert password_step(attacker, therapist.user.email, therapist.password).status_code == 429


def test_guesses_from_elsewhere_do_not_lock_out_the_second_factor_of_a_known_browser(
    runtime: Runtime, web: TestClient, therapist: Person
) -> None:
    sign_in(web, therapist)
    web.post("/logout", data={"csrf_token": form_token(web, "/")})
    assert password_step(web, therapist.user.email, therapist.password).status_code == 303
    # Meanwhile someone else uses up the account's failures.
    lock_out_by_guessing(runtime, another_browser(web), therapist.user.email)
    r = code_step(web, therapist.code())
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_a_known_browser_is_still_limited_for_its_own_failures(
    runtime: Runtime, web: TestClient, therapist: Person
) -> None:
    sign_in(web, therapist)
    web.post("/logout", data={"csrf_token": form_token(web, "/")})
    lock_out_by_guessing(runtime, web, therapist.user.email)
    assert password_step(web, therapist.user.email, therapist.password).status_code == 429


def test_a_known_browser_for_one_account_gets_no_extra_guesses_at_another(
    runtime: Runtime, web: TestClient, therapist: Person, practice: Practice
) -> None:
    colleague = create_person(runtime, practice, Role.THERAPIST, "dr.okafor@example.com", "Dr. Ada Okafor")
    lock_out_by_guessing(runtime, another_browser(web), colleague.user.email)
    sign_in(web, therapist)
    web.post("/logout", data={"csrf_token": form_token(web, "/")})
    assert password_step(web, colleague.user.email, colleague.password).status_code == 429


def test_a_forged_known_browser_cookie_gets_no_extra_guesses(
    runtime: Runtime, web: TestClient, therapist: Person
) -> None:
    lock_out_by_guessing(runtime, another_browser(web), therapist.user.email)
    web.cookies.set("sotto_device", "a" * 43 + "." + "0" * 64)
    assert password_step(web, therapist.user.email, therapist.password).status_code == 429
