"""Enrolment: the first-start link that sets up the practice and its admin, and the one-time links
for new accounts (from `sotto admin create-user`)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from sotto import clock
from sotto.accounts import service as accounts
from sotto.accounts.models import Practice, Role, User
from sotto.audit.models import AuditEvent
from sotto.cli import app as cli
from sotto.config import get_settings
from sotto.consent.models import ConsentTemplate, SealCertificate
from sotto.db import session_scope
from sotto.runtime import Runtime
from support.app import Person, create_person, create_practice, form_token, sign_in

PASSWORD = "a long and varied passphrase"


@dataclass
class EnrolmentForm:
    path: str
    secret: str
    sealed_secret: str
    csrf_token: str
    page: str

    def code(self) -> str:
        return pyotp.TOTP(self.secret).at(clock.now())


def open_form(web: TestClient, token: str) -> EnrolmentForm:
    path = f"/enrol/{token}"
    r = web.get(path)
    assert r.status_code == 200, r.text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', r.text)
    sealed = re.search(r'name="sealed_secret" value="([0-9a-f]+)"', r.text)
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', r.text)
    assert secret and sealed and csrf, "the enrolment form lacks its secret, sealed secret or CSRF field"
    return EnrolmentForm(path, secret.group(1), sealed.group(1), csrf.group(1), r.text)


def first_admin_fields(form: EnrolmentForm, **overrides: str) -> dict[str, str]:
    fields = {
        "practice_name": "Quiet Harbor Counseling",
        "us_state": "CA",
        "display_name": "Dr. Jo Admin",
        "email": "Jo.Admin@QuietHarbor.test",
        "password": PASSWORD,
        "password_again": PASSWORD,
        "totp_code": form.code(),
        "sealed_secret": form.sealed_secret,
        "csrf_token": form.csrf_token,
    }
    fields.update(overrides)
    return fields


def first_admin_link(runtime: Runtime) -> str:
    with session_scope(runtime.sessions) as session:
        token = accounts.issue_first_admin_link(session)
    assert token is not None
    return token


def counts(runtime: Runtime) -> dict[str, int]:
    with session_scope(runtime.sessions) as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Practice, User, SealCertificate, ConsentTemplate)
        }


NOTHING = {"Practice": 0, "User": 0, "SealCertificate": 0, "ConsentTemplate": 0}
WRONG_CODE = "(a code the authenticator does not show)"


def wrong_code(form: EnrolmentForm) -> str:
    return f"{(int(form.code()) + 1) % 1_000_000:06d}"


def test_enrolment_page_shows_the_secret_and_a_qr_code(runtime: Runtime, web: TestClient) -> None:
    r = web.get(f"/enrol/{first_admin_link(runtime)}")
    assert r.status_code == 200
    assert re.search(r'id="totp-secret">[A-Z2-7]{32}<', r.text)
    assert "<svg" in r.text and "<?xml" not in r.text


# -- the first admin -----------------------------------------------------------------------


def test_first_admin_link_is_given_only_on_an_empty_database(runtime: Runtime) -> None:
    first = first_admin_link(runtime)
    second = first_admin_link(runtime)
    assert first != second
    with session_scope(runtime.sessions) as session:
        assert accounts.usable_enrolment(session, first) is None, "an older first-start link still works"
        assert accounts.usable_enrolment(session, second) is not None
    practice = create_practice(runtime)
    create_person(runtime, practice, Role.ADMIN, "someone@quietharbor.test", "Someone")
    with session_scope(runtime.sessions) as session:
        assert accounts.issue_first_admin_link(session) is None
        assert accounts.usable_enrolment(session, second) is None


def test_first_admin_enrolment_sets_up_the_practice(runtime: Runtime, web: TestClient) -> None:
    token = first_admin_link(runtime)
    form = open_form(web, token)
    assert "Set up your practice" in form.page
    r = web.post(form.path, data=first_admin_fields(form))
    assert r.status_code == 200, r.text
    assert "You are set up" in r.text

    with session_scope(runtime.sessions) as session:
        [user] = session.scalars(select(User)).all()
        [practice] = session.scalars(select(Practice)).all()
        assert (user.email, user.display_name, user.role) == ("jo.admin@quietharbor.test", "Dr. Jo Admin", "admin")
        assert user.practice_id == practice.id and user.enrolled_at is not None and user.active
        assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
        assert user.totp_secret_sealed is not None and form.secret.encode() not in user.totp_secret_sealed
        assert (practice.name, practice.us_state) == ("Quiet Harbor Counseling", "CA")
        [cert] = session.scalars(select(SealCertificate).where(SealCertificate.practice_id == practice.id)).all()
        assert cert.active and "BEGIN CERTIFICATE" in cert.certificate_pem
        [template] = session.scalars(select(ConsentTemplate).where(ConsentTemplate.practice_id == practice.id))
        assert template.version == 1 and template.body
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"practice.created", "account.enrolled", "seal.created"} <= actions


def test_first_admin_link_works_once(runtime: Runtime, web: TestClient) -> None:
    token = first_admin_link(runtime)
    form = open_form(web, token)
    fields = first_admin_fields(form)
    assert web.post(form.path, data=fields).status_code == 200
    assert web.get(form.path).status_code == 410
    again = web.post(form.path, data={**fields, "email": "second@quietharbor.test", "practice_name": "Another"})
    assert again.status_code == 410
    assert counts(runtime)["User"] == 1 and counts(runtime)["Practice"] == 1
    with session_scope(runtime.sessions) as session:
        assert accounts.issue_first_admin_link(session) is None


def test_new_admin_signs_in_with_password_and_authenticator(runtime: Runtime, web: TestClient) -> None:
    form = open_form(web, first_admin_link(runtime))
    enrolment_code = form.code()
    web.post(form.path, data=first_admin_fields(form, totp_code=enrolment_code))

    token = form_token(web, "/login")
    r = web.post("/login", data={"email": "jo.admin@quietharbor.test", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303
    # The code typed during enrolment is spent: it cannot be replayed to sign in.
    assert web.post("/login/code", data={"code": enrolment_code, "csrf_token": token}).status_code == 400
    clock.advance(timedelta(seconds=30))
    r = web.post("/login/code", data={"code": form.code(), "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert web.get("/admin/users").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password": "short1!", "password_again": "short1!"}, "Use at least 12 characters."),
        ({"password_again": "a different long passphrase"}, "The two passwords are not the same."),
        (
            {"password": "jo.admin-password", "password_again": "jo.admin-password"},
            "Do not use your e-mail address in the password.",
        ),
        ({"password": "aaaaaaaaaaaaaaaa", "password_again": "aaaaaaaaaaaaaaaa"}, "Use more varied characters."),
        ({"totp_code": WRONG_CODE}, "That code did not match."),
        ({"practice_name": ""}, "Enter the practice"),
        ({"us_state": "XX"}, "Choose the US state"),
        ({"email": "not-an-address"}, "Enter a valid e-mail address."),
    ],
    ids=[
        "short-password",
        "passwords-differ",
        "password-holds-email",
        "monotonous-password",
        "wrong-code",
        "no-practice-name",
        "unknown-state",
        "bad-email",
    ],
)
def test_bad_first_admin_form_is_explained_and_creates_nothing(
    runtime: Runtime, web: TestClient, overrides: dict[str, str], message: str
) -> None:
    token = first_admin_link(runtime)
    form = open_form(web, token)
    if overrides.get("totp_code") == WRONG_CODE:
        overrides = {"totp_code": wrong_code(form)}
    r = web.post(form.path, data=first_admin_fields(form, **overrides))
    assert r.status_code == 400
    assert message in r.text.replace("&#39;", "'")
    assert "Traceback" not in r.text
    assert counts(runtime) == NOTHING
    # Nothing was used up either: the same link still opens the form.
    assert web.get(form.path).status_code == 200


def test_tampered_sealed_secret_is_refused(runtime: Runtime, web: TestClient) -> None:
    form = open_form(web, first_admin_link(runtime))
    tampered = form.sealed_secret[:-2] + f"{(int(form.sealed_secret[-2:], 16) ^ 0x01):02x}"
    for bad in (tampered, "00" * 40, "not hex at all", ""):
        r = web.post(form.path, data=first_admin_fields(form, sealed_secret=bad))
        assert r.status_code == 400, bad
        if bad:
            assert "altered" in r.text or "out of date" in r.text
    assert counts(runtime) == NOTHING


def test_sealed_secret_from_another_link_is_refused(runtime: Runtime, web: TestClient) -> None:
    """An attacker cannot swap in the secret (and so the authenticator) enrolled for another account."""
    practice = create_practice(runtime)
    with session_scope(runtime.sessions) as session:
        _, token_a = accounts.create_user(
            session,
            keystore=runtime.keystore,
            practice_id=practice.id,
            email="a@quietharbor.test",
            display_name="A",
            role=Role.THERAPIST,
            actor="test",
        )
        _, token_b = accounts.create_user(
            session,
            keystore=runtime.keystore,
            practice_id=practice.id,
            email="b@quietharbor.test",
            display_name="B",
            role=Role.THERAPIST,
            actor="test",
        )
    form_a, form_b = open_form(web, token_a), open_form(web, token_b)
    r = web.post(
        form_b.path,
        data={
            "password": PASSWORD,
            "password_again": PASSWORD,
            "totp_code": form_a.code(),
            "sealed_secret": form_a.sealed_secret,
            "csrf_token": form_b.csrf_token,
        },
    )
    assert r.status_code == 400
    with session_scope(runtime.sessions) as session:
        assert session.scalar(select(User.enrolled_at).where(User.email == "b@quietharbor.test")) is None


def test_form_shown_again_after_a_wrong_code_keeps_the_scanned_secret(runtime: Runtime, web: TestClient) -> None:
    form = open_form(web, first_admin_link(runtime))
    r = web.post(form.path, data=first_admin_fields(form, totp_code=wrong_code(form)))
    assert r.status_code == 400
    shown = re.search(r'id="totp-secret">([A-Z2-7]+)<', r.text)
    assert shown and shown.group(1) == form.secret


def test_enrolment_link_expires(runtime: Runtime, web: TestClient) -> None:
    token = first_admin_link(runtime)
    clock.advance(accounts.FIRST_ADMIN_TTL + timedelta(minutes=1))
    assert web.get(f"/enrol/{token}").status_code == 410


def test_unknown_enrolment_link_is_gone(web: TestClient) -> None:
    r = web.get("/enrol/" + "Z" * 43)
    assert r.status_code == 410 and "no longer works" in r.text


# -- a new account from `sotto admin create-user` --------------------------------------------


@pytest.fixture
def cli_env(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The command line pointed (through SOTTO_* variables) at the same database and key file."""
    for name in list(os.environ):
        if name.upper().startswith("SOTTO_"):
            monkeypatch.delenv(name)
    s = runtime.settings
    for name, value in {
        "DATA_DIR": s.data_dir,
        "KEY_FILE": s.key_file,
        "OUTBOX_DIR": s.outbox_dir,
        "DATABASE_URL": s.database_url,
        "PUBLIC_URL": s.public_url,
    }.items():
        monkeypatch.setenv(f"SOTTO_{name}", str(value))
    monkeypatch.chdir(s.data_dir.parent)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def create_user_by_cli(runner: CliRunner, email: str, role: str = "therapist") -> str:
    result = runner.invoke(cli, ["admin", "create-user", "--email", email, "--name", "Dr. Lee Park", "--role", role])
    assert result.exit_code == 0, result.output
    found = re.search(r"http://testserver(/enrol/[A-Za-z0-9_\-]+)", result.output)
    assert found, result.output
    return found.group(1)


def test_cli_created_therapist_enrols_through_the_link_and_signs_in(
    runtime: Runtime, web: TestClient, cli_env: CliRunner
) -> None:
    practice = create_practice(runtime)
    path = create_user_by_cli(cli_env, "Dr.Park@QuietHarbor.test")
    form = open_form(web, path.removeprefix("/enrol/"))
    assert "dr.park@quietharbor.test" in form.page and 'name="practice_name"' not in form.page
    r = web.post(
        path,
        data={
            "password": PASSWORD,
            "password_again": PASSWORD,
            "totp_code": form.code(),
            "sealed_secret": form.sealed_secret,
            "csrf_token": form.csrf_token,
            "email": "attacker@elsewhere.test",
            "display_name": "Someone Else",
        },
    )
    assert r.status_code == 200, r.text
    assert web.get(path).status_code == 410

    with session_scope(runtime.sessions) as session:
        user = session.scalar(select(User).where(User.email == "dr.park@quietharbor.test"))
        assert user is not None
        assert (user.role, user.practice_id, user.display_name) == ("therapist", practice.id, "Dr. Lee Park")
        assert user.enrolled_at is not None
        assert session.scalar(select(func.count()).select_from(User)) == 1
    sign_in(web, Person(user, form.secret, password=PASSWORD))
    assert "Ask for consent" in web.get("/").text


def test_cli_refuses_a_second_account_for_the_same_address(runtime: Runtime, cli_env: CliRunner) -> None:
    create_practice(runtime)
    create_user_by_cli(cli_env, "dr.park@quietharbor.test")
    result = cli_env.invoke(cli, ["admin", "create-user", "--email", "DR.PARK@quietharbor.test", "--name", "X"])
    assert result.exit_code == 1
    assert "already exists" in result.stderr


def test_cli_asks_which_practice_when_there_are_several(runtime: Runtime, cli_env: CliRunner) -> None:
    first = create_practice(runtime)
    second = create_practice(runtime, name="Second Practice", us_state="NY")
    result = cli_env.invoke(cli, ["admin", "create-user", "--email", "x@quietharbor.test", "--name", "X"])
    assert result.exit_code == 2
    assert first.id in result.stderr and second.id in result.stderr
    result = cli_env.invoke(
        cli, ["admin", "create-user", "--email", "x@quietharbor.test", "--name", "X", "--practice", second.id]
    )
    assert result.exit_code == 0, result.output
