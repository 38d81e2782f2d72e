"""Web hardening: security headers on every response, CSRF on every state-changing route, body
limits, plain error pages, and link tokens kept out of the logs."""

from __future__ import annotations

import logging
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select

from sotto import clock
from sotto.accounts import service as accounts
from sotto.accounts import signin
from sotto.accounts.models import EnrolmentLink, Role
from sotto.app import create_app
from sotto.cli import server_options
from sotto.config import Settings
from sotto.consent import seal
from sotto.consent import template as forms
from sotto.consent.models import Consent
from sotto.crypto.envelope import token_hash
from sotto.db import session_scope
from sotto.logs import RedactLinkTokens, configure_logging
from sotto.runtime import Runtime, build_runtime
from support.app import (
    Person,
    create_person,
    create_practice,
    csrf_of,
    form_token,
    links_in,
    make_settings,
    sign_in,
    signature_data_url,
    work_off,
)
from support.database import fresh_postgres_database
from support.smtp import LoopbackSmtpServer

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
EVIL_ORIGIN = "https://evil.example"


def new_browser(app: FastAPI, **kwargs: Any) -> TestClient:
    return TestClient(app, base_url="http://testserver", follow_redirects=False, **kwargs)


# -- headers on every response ---------------------------------------------------------------


def assert_security_headers(response: httpx.Response) -> None:
    [csp] = response.headers.get_list("content-security-policy")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    hsts = response.headers["strict-transport-security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 365 * 24 * 3600  # type: ignore[union-attr]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
    assert "no-store" in response.headers["cache-control"]


def _raise_inside_a_request(web: TestClient, monkeypatch: pytest.MonkeyPatch) -> httpx.Response:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret-content-XYZ")

    monkeypatch.setattr(signin, "check_password", explode)
    token = form_token(web, "/login")
    client = new_browser(web.app, raise_server_exceptions=False)  # type: ignore[arg-type]
    client.cookies = web.cookies
    return client.post("/login", data={"email": "someone@example.test", "password": "x", "csrf_token": token})


RESPONSES: dict[str, Callable[[TestClient, pytest.MonkeyPatch], httpx.Response]] = {
    "page": lambda web, mp: web.get("/login"),
    "not found": lambda web, mp: web.get("/no/such/page"),
    "stylesheet": lambda web, mp: web.get("/static/sotto.css"),
    "script": lambda web, mp: web.get("/static/signature.js"),
    "redirect": lambda web, mp: web.get("/"),
    "api schema": lambda web, mp: web.get("/api/openapi.json"),
    "client link gone": lambda web, mp: web.get("/c/" + "A" * 43),
    "csrf refusal": lambda web, mp: web.post("/login", data={"email": "a@b.example", "password": "x"}),
    "wrong method": lambda web, mp: web.delete("/login"),
    "incomplete form": lambda web, mp: web.post("/login", data={"csrf_token": form_token(web, "/login")}),
    "too large": lambda web, mp: web.post(
        "/login", content=b"x" * (3 * 1024 * 1024), headers={"content-type": "application/x-www-form-urlencoded"}
    ),
    "internal error": _raise_inside_a_request,
}


@pytest.mark.parametrize("case", list(RESPONSES))
def test_every_response_carries_the_security_headers(
    web: TestClient, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    response = RESPONSES[case](web, monkeypatch)
    assert_security_headers(response)


def test_responses_are_what_each_case_says(web: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control for the header test: each case really is the response it is named after."""
    expected = {
        "page": 200,
        "not found": 404,
        "stylesheet": 200,
        "script": 200,
        "redirect": 303,
        "api schema": 200,
        "client link gone": 410,
        "csrf refusal": 403,
        "wrong method": 405,
        "incomplete form": 400,
        "too large": 413,
        "internal error": 500,
    }
    assert expected.keys() == RESPONSES.keys()
    for case, status in expected.items():
        assert RESPONSES[case](web, monkeypatch).status_code == status, case


TEMPLATES = Path(__file__).resolve().parents[2] / "sotto" / "web" / "templates"


def test_templates_have_no_inline_scripts_or_event_handlers() -> None:
    """script-src 'self' would block them, so the page would silently not work."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        html = path.read_text()
        offenders += [f"{path.name}: {m.group(0)}" for m in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>", html)]
        offenders += [f"{path.name}: {m.group(0)}" for m in re.finditer(r"\son[a-z]+\s*=", html)]
        offenders += [f"{path.name}: {m.group(0)}" for m in re.finditer(r"javascript:", html)]
    assert offenders == []


def test_templates_have_no_inline_styles_the_policy_would_block() -> None:
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {m.group(0)}"
        for path in TEMPLATES.rglob("*.html")
        for m in re.finditer(r"<style\b|\sstyle\s*=\s*\"[^\"]*\"", path.read_text())
    ]
    assert offenders == []


# -- body limits ------------------------------------------------------------------------------


def login_attempts(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return len(conn.exec_driver_sql("SELECT id FROM login_attempts").all())


def test_oversized_form_is_refused_with_413(runtime: Runtime, web: TestClient) -> None:
    token = form_token(web, "/login")
    r = web.post(
        "/login", data={"email": "someone@example.test", "password": "x" * (3 * 1024 * 1024), "csrf_token": token}
    )
    assert r.status_code == 413
    assert "Traceback" not in r.text
    assert login_attempts(runtime) == 0


def test_oversized_chunked_form_is_refused_with_413(runtime: Runtime, web: TestClient) -> None:
    token = form_token(web, "/login")

    def body() -> Iterator[bytes]:
        yield f"email=someone%40example.test&csrf_token={token}&password=".encode()
        for _ in range(300):
            yield b"x" * 10_000

    r = web.post("/login", content=body(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert login_attempts(runtime) == 0


def test_oversized_pdf_on_the_verify_page_is_refused_with_413(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    token = form_token(web, "/consents/verify")
    too_big = b"%PDF-1.7\n" + b"0" * (runtime.settings.max_upload_mb * 1024 * 1024)
    r = web.post("/consents/verify", data={"csrf_token": token}, files={"pdf": ("big.pdf", too_big, "application/pdf")})
    assert r.status_code == 413


# -- error pages -----------------------------------------------------------------------------


def test_unknown_path_gets_a_plain_404_page(web: TestClient) -> None:
    r = web.get("/no/such/page", headers={"accept": "application/json"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "Not found" in r.text
    assert "Traceback" not in r.text and '"detail"' not in r.text


def test_internal_error_is_a_plain_500_page_and_the_log_keeps_no_message(
    web: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    r = _raise_inside_a_request(web, monkeypatch)
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("text/html")
    for leak in ("Traceback", "secret-content-XYZ", "RuntimeError", "sotto/"):
        assert leak not in r.text
    assert caplog.records, "the error should be logged (without its message)"
    for record in caplog.records:
        assert "secret-content-XYZ" not in logging.Formatter().format(record)


def test_text_the_database_cannot_store_is_refused_plainly(web: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL stores no NUL character in text: typed at sign-in (anyone can), it was a server error."""
    caplog.set_level(logging.DEBUG)
    typed = {"email": "kestrel\x00@example.test", "password": "wrong", "csrf_token": form_token(web, "/login")}
    r = web.post("/login", data=typed)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert "Traceback" not in r.text and "NUL" not in r.text
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@contextmanager
def serving(runtime: Runtime, settings: Settings | None = None) -> Iterator[str]:
    """The app behind a real uvicorn on loopback, with the options `sotto serve` gives it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = server_options(settings or runtime.settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime, run_workers=False), host="127.0.0.1", port=port, lifespan="off", **options)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def live_server(runtime: Runtime) -> Iterator[str]:
    with serving(runtime) as url:
        yield url


def failed_sign_ins_from(url: str, forwarded_for: str, count: int) -> list[int]:
    """Status codes of ``count`` sign-ins with unknown addresses, each a new one (no account limit)."""
    codes = []
    with httpx.Client(base_url=url, headers={"X-Forwarded-For": forwarded_for}) as browser:
        for _ in range(count):
            page = browser.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token is not None
            form = {"email": f"{secrets.token_hex(4)}@example.test", "password": "wrong", "csrf_token": token[1]}
            codes.append(browser.post("/login", data=form).status_code)
    return codes


def test_behind_a_named_proxy_each_visitor_keeps_their_own_address(runtime: Runtime) -> None:
    """Behind the proxy that serves HTTPS every request comes from the proxy. Believing its
    X-Forwarded-For only when the practice named it keeps the sign-in limit per visitor: one
    visitor guessing passwords does not lock everyone else out."""
    limit = runtime.settings.login_max_failures * 4
    behind_proxy = runtime.settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    with serving(runtime, behind_proxy) as url:
        assert set(failed_sign_ins_from(url, "203.0.113.7", limit)) == {400}
        assert failed_sign_ins_from(url, "203.0.113.7", 1) == [429]
        assert failed_sign_ins_from(url, "198.51.100.4", 1) == [400]
    with serving(runtime) as url:  # no proxy named: the header is anyone's to write, and is ignored
        assert set(failed_sign_ins_from(url, "192.0.2.1", limit)) == {400}
        assert failed_sign_ins_from(url, "192.0.2.2", 1) == [429]


def test_internal_error_message_stays_out_of_the_server_log(
    live_server: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(
        signin, "check_password", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("secret-content-XYZ"))
    )
    with httpx.Client(base_url=live_server) as client:
        token = csrf_of(client.get("/login").text)
        r = client.post("/login", data={"email": "someone@example.test", "password": "x", "csrf_token": token})
    assert r.status_code == 500
    assert "secret-content-XYZ" not in r.text
    logged = "\n".join(logging.Formatter().format(record) for record in caplog.records)
    assert "secret-content-XYZ" not in logged
    assert "Traceback" not in logged


# -- link tokens in logs ---------------------------------------------------------------------


def access_record(path: str) -> logging.LogRecord:
    """A record as uvicorn's access logger makes it."""
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:51234", "GET", path, "1.1", 200),
        None,
    )


@pytest.mark.parametrize(
    "template",
    [
        "/c/{t}",
        "/c/{t}/sign",
        "/my/{t}",
        "/my/{t}/withdraw",
        "/enrol/{t}",
        "/my/{t}/sessions/abc/delete",
        "/c/{t}?utm=1",
    ],
)
def test_link_tokens_are_redacted_from_access_log_lines(template: str) -> None:
    token = secrets.token_urlsafe(32)
    record = access_record(template.format(t=token))
    assert RedactLinkTokens().filter(record) is True
    message = record.getMessage()
    assert token not in message and token[:16] not in message
    assert message.startswith('127.0.0.1:51234 - "GET /') and message.endswith('HTTP/1.1" 200')


def test_link_token_in_a_plain_message_is_redacted() -> None:
    token = secrets.token_urlsafe(32)
    record = logging.LogRecord("sotto", logging.INFO, __file__, 0, f"opened http://testserver/c/{token}", None, None)
    RedactLinkTokens().filter(record)
    assert token not in record.getMessage()


def test_paths_without_tokens_are_left_alone() -> None:
    record = access_record("/consents/verify")
    RedactLinkTokens().filter(record)
    assert "/consents/verify" in record.getMessage()


@pytest.fixture
def configured_logging() -> Iterator[None]:
    """configure_logging changes process-wide loggers; put them back afterwards."""
    names = ("uvicorn.access", "uvicorn.error", "", "pyhanko", "pyhanko_certvalidator")
    saved = {name: (list(logging.getLogger(name).filters), logging.getLogger(name).level) for name in names}
    configure_logging("INFO")
    yield
    for name, (filters, level) in saved.items():
        logging.getLogger(name).filters = filters
        logging.getLogger(name).setLevel(level)


def test_served_link_tokens_stay_out_of_the_access_log(
    live_server: str, configured_logging: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As under `sotto serve` (log_config=None): an earlier test's uvicorn may have raised this
    # logger's level or stopped its propagation, which are process-wide.
    access = logging.getLogger("uvicorn.access")
    monkeypatch.setattr(access, "propagate", True)
    monkeypatch.setattr(access, "disabled", False)
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    caplog.set_level(logging.INFO)
    token = secrets.token_urlsafe(32)
    with httpx.Client(base_url=live_server) as client:
        assert client.get(f"/c/{token}").status_code == 410
        client.get(f"/my/{token}")
    access = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert len(access) == 2, "uvicorn wrote no access log lines"
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # not the test's client
    assert all(token not in r.getMessage() for r in server_side)


def test_link_tokens_logged_by_any_module_are_redacted(
    configured_logging: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    token = secrets.token_urlsafe(32)
    logging.getLogger("sotto.consent.tasks").info("link sent: /c/%s", token)
    assert all(token not in r.getMessage() for r in caplog.records)


# -- CSRF on every state-changing route ------------------------------------------------------


@dataclass
class World:
    runtime: Runtime
    app: FastAPI
    browsers: dict[str, TestClient]
    values: dict[str, str]
    people: dict[str, Person]
    enrol_secret: str
    intruder: TestClient
    extra: dict[str, Any] = field(default_factory=dict)


def _mail_to(smtp: LoopbackSmtpServer, address: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if address in m["To"]]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Something for every state-changing route to change, built once per database. Every request
    made in the tests is refused, so they can share it."""
    tmp = tmp_path_factory.mktemp("csrf")
    smtp = LoopbackSmtpServer()
    smtp.start()
    postgres = fresh_postgres_database() if request.param == "postgres" else None
    url = next(postgres) if postgres else f"sqlite:///{tmp / 'data' / 'sotto.db'}"
    runtime = build_runtime(make_settings(tmp, url, smtp.port))
    app = create_app(runtime, run_workers=False)
    try:
        practice = create_practice(runtime)
        people = {
            "therapist": create_person(
                runtime, practice, Role.THERAPIST, "dr.rivera@quietharbor.test", "Dr. Sam Rivera"
            ),
            "admin": create_person(runtime, practice, Role.ADMIN, "admin@quietharbor.test", "Pat Admin"),
            "pending": create_person(runtime, practice, Role.SUPERVISOR, "dr.mills@quietharbor.test", "Dr. Kim Mills"),
        }
        browsers = {name: new_browser(app) for name in ("therapist", "admin", "pending", "anonymous")}
        sign_in(browsers["therapist"], people["therapist"])
        sign_in(browsers["admin"], people["admin"])
        pending = browsers["pending"]
        r = pending.post(
            "/login",
            data={
                "email": people["pending"].user.email,
                "password": people["pending"].password,
                "csrf_token": form_token(pending, "/login"),
            },
        )
        assert r.status_code == 303
        form_token(browsers["anonymous"], "/login")
        intruder = new_browser(app)
        form_token(intruder, "/login")

        therapist, admin = browsers["therapist"], browsers["admin"]
        r = admin.post(
            "/admin/template",
            data={"body": forms.DEFAULT_TEMPLATE + "\n\nOur own note.\n", "csrf_token": form_token(admin, "/login")},
        )
        assert r.status_code == 200, r.text
        for pseudonym, email in (("Amber Kestrel", "kestrel@example.test"), ("Grey Owl", "owl@example.test")):
            r = therapist.post(
                "/consents",
                data={"pseudonym": pseudonym, "email": email, "csrf_token": form_token(therapist, "/login")},
            )
            assert r.status_code == 303, r.text
        work_off(runtime)
        [kestrel_link] = links_in(_mail_to(smtp, "kestrel@example.test")[0].get_body(("plain",)).get_content())
        [owl_link] = links_in(_mail_to(smtp, "owl@example.test")[0].get_body(("plain",)).get_content())
        client = new_browser(app)
        client.get(kestrel_link)
        r = client.post(
            f"{kestrel_link}/sign",
            data={
                "csrf_token": form_token(client, kestrel_link),
                "agree_electronic": "yes",
                "typed_name": "Avery Invented",
                "signature": signature_data_url(),
                **{f"use_{u}": "yes" for u in ("therapist_review", "supervision", "ai_notes", "client_recap")},
            },
        )
        assert r.status_code == 200, r.text
        work_off(runtime)
        my_link = next(
            x
            for m in _mail_to(smtp, "kestrel@example.test")
            for x in links_in(m.get_body(("plain",)).get_content())
            if x.startswith("/my/")
        )

        with session_scope(runtime.sessions) as session:
            signed = session.scalars(select(Consent).where(Consent.status == "signed")).one()
            waiting = session.scalars(select(Consent).where(Consent.status != "signed")).one()
            _, enrol_token = accounts.create_user(
                session,
                keystore=runtime.keystore,
                practice_id=practice.id,
                email="new.hire@quietharbor.test",
                display_name="New Hire",
                role=Role.THERAPIST,
                actor="test",
            )
            session.flush()
            link = session.scalar(select(EnrolmentLink).where(EnrolmentLink.token_hash == token_hash(enrol_token)))
            assert link is not None
            enrol_secret = pyotp.random_base32(32)
            sealed_secret = accounts.seal_totp_secret(runtime.keystore, enrol_secret, link_id=link.id)
        values = {
            "signed_consent": signed.id,
            "waiting_consent": waiting.id,
            "client": signed.client_id,
            "invite_token": owl_link.removeprefix("/c/"),
            "client_token": my_link.removeprefix("/my/"),
            "enrol_token": enrol_token,
            "sealed_secret": sealed_secret,
            "therapist_user": people["therapist"].user.id,
        }

        headers = {"x-csrf-token": form_token(therapist, "/login")}
        r = therapist.post(f"/clients/{signed.client_id}/sessions", headers=headers)
        assert r.status_code == 201, r.text
        values["session"] = r.json()["session"]
        r = therapist.post(
            f"/sessions/{values['session']}/recordings",
            headers={**headers, "tus-resumable": "1.0.0", "upload-length": "4096"},
        )
        assert r.status_code == 201, r.text
        values["recording"] = r.headers["location"].rsplit("/", 1)[1]
        anonymous = browsers["anonymous"]
        r = anonymous.post(
            f"/my/{values['client_token']}/sessions/{values['session']}/copy",
            data={"csrf_token": form_token(anonymous, "/login")},
        )
        assert r.status_code == 200, r.text
        with runtime.engine.connect() as conn:
            [values["client_request"]] = conn.exec_driver_sql("SELECT id FROM client_requests").scalars().all()

        yield World(runtime, app, browsers, values, people, enrol_secret, intruder)
    finally:
        runtime.close()
        smtp.stop()
        if postgres:
            postgres.close()


@dataclass(frozen=True)
class Change:
    """A state-changing request: who sends it, where, and what it would change with a valid token."""

    actor: str
    url: Callable[[dict[str, str]], str]
    form: Callable[[World], dict[str, str]] = lambda w: {}
    files: Callable[[World], dict[str, tuple[str, bytes, str]]] | None = None
    # Scripts send the token in a header and the body as something other than a form.
    raw: Callable[[World], tuple[bytes, dict[str, str]]] | None = None


def _sign_form(w: World) -> dict[str, str]:
    return {
        "agree_electronic": "yes",
        "typed_name": "Someone Else",
        "signature": signature_data_url(),
        "use_supervision": "yes",
    }


STATE_CHANGING: dict[tuple[str, str], Change] = {
    ("POST", "/enrol/{token}"): Change(
        "anonymous",
        lambda v: f"/enrol/{v['enrol_token']}",
        lambda w: {
            "password": "a long and varied passphrase",
            "password_again": "a long and varied passphrase",
            "totp_code": pyotp.TOTP(w.enrol_secret).at(clock.now()),
            "sealed_secret": w.values["sealed_secret"],
        },
    ),
    ("POST", "/login"): Change(
        "anonymous",
        lambda v: "/login",
        lambda w: {"email": w.people["therapist"].user.email, "password": w.people["therapist"].password},
    ),
    ("POST", "/login/code"): Change(
        "pending",
        lambda v: "/login/code",
        lambda w: {"code": pyotp.TOTP(w.people["pending"].totp_secret).at(clock.now())},
    ),
    ("POST", "/logout"): Change("therapist", lambda v: "/logout"),
    ("POST", "/admin/users"): Change(
        "admin",
        lambda v: "/admin/users",
        lambda w: {"email": "intruder@example.test", "display_name": "Intruder", "role": "admin"},
    ),
    ("POST", "/admin/users/{user_id}/deactivate"): Change(
        "admin", lambda v: f"/admin/users/{v['therapist_user']}/deactivate"
    ),
    ("POST", "/admin/users/{user_id}/reactivate"): Change(
        "admin", lambda v: f"/admin/users/{v['therapist_user']}/reactivate"
    ),
    ("POST", "/admin/users/{user_id}/setup-link"): Change(
        "admin", lambda v: f"/admin/users/{v['therapist_user']}/setup-link"
    ),
    ("POST", "/admin/users/{user_id}/hand-over"): Change(
        "admin",
        lambda v: f"/admin/users/{v['therapist_user']}/hand-over",
        lambda w: {"to": w.values["therapist_user"], "confirm": "yes"},
    ),
    ("POST", "/admin/practice"): Change(
        "admin",
        lambda v: "/admin/practice",
        lambda w: {
            "name": "Taken Over",
            "us_state": "TX",
            "phi_removal": "",
            "audio_retention_days": "3650",
            "consent_valid_days": "1095",
            "transcript_retention_days": "",
        },
    ),
    ("POST", "/admin/template"): Change(
        "admin", lambda v: "/admin/template", lambda w: {"body": forms.DEFAULT_TEMPLATE + "\n\nChanged.\n"}
    ),
    ("POST", "/admin/template/reset"): Change("admin", lambda v: "/admin/template/reset"),
    ("POST", "/admin/seal"): Change(
        "admin",
        lambda v: "/admin/seal",
        lambda w: {"password": ""},
        files=lambda w: {"pkcs12": ("seal.p12", w.extra["pkcs12"], "application/x-pkcs12")},
    ),
    ("POST", "/consents"): Change(
        "therapist", lambda v: "/consents", lambda w: {"pseudonym": "Red Fox", "email": "fox@example.test"}
    ),
    ("POST", "/consents/{consent_id}/withdraw"): Change(
        "therapist", lambda v: f"/consents/{v['signed_consent']}/withdraw", lambda w: {"confirm": "yes"}
    ),
    ("POST", "/consents/{consent_id}/cancel"): Change(
        "therapist", lambda v: f"/consents/{v['waiting_consent']}/cancel"
    ),
    ("POST", "/consents/verify"): Change(
        "therapist",
        lambda v: "/consents/verify",
        files=lambda w: {"pdf": ("c.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")},
    ),
    ("POST", "/c/{token}/sign"): Change("anonymous", lambda v: f"/c/{v['invite_token']}/sign", _sign_form),
    ("POST", "/c/{token}/decline"): Change(
        "anonymous", lambda v: f"/c/{v['invite_token']}/decline", lambda w: {"reason": "No thanks."}
    ),
    ("POST", "/my/{token}/withdraw"): Change("anonymous", lambda v: f"/my/{v['client_token']}/withdraw"),
    ("POST", "/my/{token}/uses"): Change(
        "anonymous", lambda v: f"/my/{v['client_token']}/uses", lambda w: {"use_therapist_review": "yes"}
    ),
    ("POST", "/my/{token}/sessions/{session_id}/{action}"): Change(
        "anonymous", lambda v: f"/my/{v['client_token']}/sessions/{v['session']}/delete"
    ),
    ("POST", "/my"): Change("anonymous", lambda v: "/my", lambda w: {"email": "kestrel@example.test"}),
    ("POST", "/protections/send"): Change(
        "therapist", lambda v: "/protections/send", lambda w: {"email": "someone@example.test"}
    ),
    ("POST", "/requests/{request_id}/done"): Change("therapist", lambda v: f"/requests/{v['client_request']}/done"),
    ("POST", "/clients/{client_id}/sessions"): Change("therapist", lambda v: f"/clients/{v['client']}/sessions"),
    ("POST", "/sessions/{session_id}/end"): Change("therapist", lambda v: f"/sessions/{v['session']}/end"),
    ("POST", "/sessions/{session_id}/client-withdrew"): Change(
        "therapist", lambda v: f"/sessions/{v['session']}/client-withdrew"
    ),
    ("POST", "/sessions/{session_id}/delete"): Change(
        "therapist", lambda v: f"/sessions/{v['session']}/delete", lambda w: {"confirm": "yes"}
    ),
    ("POST", "/sessions/{session_id}/recordings"): Change(
        "therapist",
        lambda v: f"/sessions/{v['session']}/recordings",
        raw=lambda w: (b"", {"tus-resumable": "1.0.0", "upload-length": "4096"}),
    ),
    ("POST", "/sessions/{session_id}/process"): Change("therapist", lambda v: f"/sessions/{v['session']}/process"),
    ("POST", "/sessions/{session_id}/speakers/swap"): Change(
        "therapist", lambda v: f"/sessions/{v['session']}/speakers/swap"
    ),
    ("POST", "/sessions/{session_id}/segments/{index}/speaker"): Change(
        "therapist", lambda v: f"/sessions/{v['session']}/segments/0/speaker", lambda w: {"speaker": "client"}
    ),
    ("POST", "/sessions/{session_id}/browser-key"): Change(
        "therapist", lambda v: f"/sessions/{v['session']}/browser-key", raw=lambda w: (b"", {})
    ),
    ("POST", "/account/voice"): Change(
        "therapist",
        lambda v: "/account/voice",
        files=lambda w: {"sample": ("me.wav", b"RIFF" + b"\0" * 4000, "audio/wav")},
    ),
    ("POST", "/account/voice/forget"): Change("therapist", lambda v: "/account/voice/forget"),
    ("PATCH", "/recordings/{recording_id}"): Change(
        "therapist",
        lambda v: f"/recordings/{v['recording']}",
        raw=lambda w: (
            b"\0" * 1024,
            {"tus-resumable": "1.0.0", "upload-offset": "0", "content-type": "application/offset+octet-stream"},
        ),
    ),
}

VARIANTS = ("missing", "wrong", "foreign", "cross_origin")


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every endpoint, looking inside included routers (which FastAPI now keeps whole)."""
    return {
        (method, context.path)
        for context in iter_route_contexts(app.routes)
        if context.path and context.methods
        for method in context.methods
    }


def test_every_state_changing_route_is_checked_for_csrf(world: World) -> None:
    found = {(m, p) for m, p in app_routes(world.app) if m not in SAFE_METHODS}
    unknown = sorted(found - STATE_CHANGING.keys())
    assert not unknown, f"state-changing routes this test does not know how to call (add to STATE_CHANGING): {unknown}"
    gone = sorted(STATE_CHANGING.keys() - found)
    assert not gone, f"routes in STATE_CHANGING that the app no longer has: {gone}"


def database_state(runtime: Runtime) -> dict[str, list[str]]:
    meta = MetaData()
    meta.reflect(bind=runtime.engine)
    with runtime.engine.connect() as conn:
        return {
            name: sorted(repr(tuple(row)) for row in conn.execute(table.select()))
            for name, table in meta.tables.items()
        }


def blob_files(runtime: Runtime) -> list[str]:
    return sorted(str(p) for p in runtime.settings.data_dir.rglob("*") if p.is_file() and "sotto.db" not in p.name)


def send(world: World, method: str, change: Change, variant: str) -> httpx.Response:
    browser = world.browsers[change.actor]
    token = {
        "missing": None,
        "wrong": "0" * 64,
        "foreign": form_token(world.intruder, "/login"),
        "cross_origin": form_token(browser, "/login"),
    }[variant]
    headers = {"origin": EVIL_ORIGIN} if variant == "cross_origin" else {}
    url = change.url(world.values)
    if change.raw is not None:
        body, raw_headers = change.raw(world)
        if token is not None:
            headers["x-csrf-token"] = token
        return browser.request(method, url, content=body, headers={**raw_headers, **headers})
    data = change.form(world)
    if token is not None:
        data["csrf_token"] = token
    files = change.files(world) if change.files else None
    return browser.request(method, url, data=data, files=files, headers=headers)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("method", "path"), list(STATE_CHANGING), ids=[f"{m} {p}" for m, p in STATE_CHANGING])
def test_state_changing_request_without_a_valid_token_is_refused_and_changes_nothing(
    world: World, method: str, path: str, variant: str
) -> None:
    world.extra.setdefault("pkcs12", seal.create_self_signed_certificate("Intruder Practice").pkcs12)
    before, files_before = database_state(world.runtime), blob_files(world.runtime)
    response = send(world, method, STATE_CHANGING[(method, path)], variant)
    assert response.status_code == 403, response.text
    assert "nothing was changed" in response.text or response.headers.get("content-type", "").startswith(
        "application/json"
    )
    assert "Traceback" not in response.text
    assert database_state(world.runtime) == before
    assert blob_files(world.runtime) == files_before


def test_signed_in_sessions_survived_the_refused_requests(world: World) -> None:
    """The refused sign-outs and code checks above left the sessions as they were."""
    assert world.browsers["therapist"].get("/").status_code == 200
    assert world.browsers["admin"].get("/admin/users").status_code == 200
    assert world.browsers["pending"].get("/login/code").status_code == 200


def test_same_requests_with_a_valid_token_are_accepted(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    """The control: the refusals above are about the token, not the request."""
    token = form_token(web, "/login")
    r = web.post("/consents", data={"pseudonym": "Red Fox", "email": "fox@example.test", "csrf_token": token})
    assert r.status_code == 303
    r = web.post(
        "/consents", data={"pseudonym": "Grey Owl", "email": "owl@example.test"}, headers={"x-csrf-token": token}
    )
    assert r.status_code == 303
    assert web.post("/logout", data={"csrf_token": token}).status_code == 303


def test_cross_origin_post_with_a_valid_token_is_refused(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    token = form_token(web, "/login")
    for origin in (EVIL_ORIGIN, "http://testserver.evil.example", "https://testserver"):
        r = web.post(
            "/consents",
            data={"pseudonym": "Red Fox", "email": "fox@example.test", "csrf_token": token},
            headers={"origin": origin},
        )
        assert r.status_code == 403, origin
    r = web.post(
        "/consents",
        data={"pseudonym": "Red Fox", "email": "fox@example.test", "csrf_token": token},
        headers={"origin": "http://testserver"},
    )
    assert r.status_code == 303
    with session_scope(runtime.sessions) as session:
        assert len(session.scalars(select(Consent)).all()) == 1
