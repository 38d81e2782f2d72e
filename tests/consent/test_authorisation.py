"""Who may use the consent pages: another therapist, another practice, a supervisor, an admin and an
anonymous visitor are each refused on every consent route, and learn nothing about the record.

One signed consent (with its sealed PDF delivered, so the record holds the PDF's hashes) is
built once per database, then every guarded route is tried by every actor it must refuse. The
list of routes is checked against the application, so a route added later without a line here
fails ``test_every_guarded_route_is_in_the_matrix`` instead of going untested.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import MetaData, select

from sotto.accounts.models import Role
from sotto.app import create_app
from sotto.audit.models import AuditEvent
from sotto.consent import template as forms
from sotto.consent.models import Consent
from sotto.db import session_scope
from sotto.runtime import Runtime, build_runtime
from support.app import (
    Person,
    create_person,
    create_practice,
    form_token,
    links_in,
    make_settings,
    sign_in,
    signature_data_url,
    work_off,
)
from support.database import fresh_postgres_database
from support.smtp import LoopbackSmtpServer

PSEUDONYM = "Amber Kestrel"
CLIENT_EMAIL = "amber.kestrel.client@example.test"
# Rows that a refused request may legitimately touch: its own session, the audit trail, rate limits.
VOLATILE_TABLES = {"web_sessions", "audit_events", "audit_head", "login_attempts"}


@dataclass
class World:
    runtime: Runtime
    app: FastAPI
    consent_id: str
    client_id: str
    form_sha256: str
    pdf_sha256: str
    pdf: bytes
    # The account the admin-only user routes are aimed at (the owner's).
    user_id: str
    browsers: dict[str, TestClient] = field(default_factory=dict)


def new_browser(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


def signed_in_browser(app: FastAPI, person: Person) -> TestClient:
    browser = new_browser(app)
    sign_in(browser, person)
    return browser


def _mail_to(smtp: LoopbackSmtpServer, address: str) -> list[EmailMessage]:
    return [m for m in smtp.messages if address in m["To"]]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Built once per database: the routes refused here must change nothing, so tests can share it."""
    tmp = tmp_path_factory.mktemp("authorisation")
    smtp = LoopbackSmtpServer()
    smtp.start()
    postgres = fresh_postgres_database() if request.param == "postgres" else None
    url = next(postgres) if postgres else f"sqlite:///{tmp / 'data' / 'sotto.db'}"
    runtime = build_runtime(make_settings(tmp, url, smtp.port))
    app = create_app(runtime, run_workers=False)
    try:
        here = create_practice(runtime)
        elsewhere = create_practice(runtime, name="Far Shore Therapy", us_state="NY")
        people = {
            "owner": create_person(runtime, here, Role.THERAPIST, "dr.rivera@quietharbor.test", "Dr. Sam Rivera"),
            "other_therapist": create_person(
                runtime, here, Role.THERAPIST, "dr.okafor@quietharbor.test", "Dr. Ada Okafor"
            ),
            "supervisor": create_person(runtime, here, Role.SUPERVISOR, "dr.mills@quietharbor.test", "Dr. Kim Mills"),
            "admin": create_person(runtime, here, Role.ADMIN, "admin@quietharbor.test", "Pat Admin"),
            "other_practice_therapist": create_person(
                runtime, elsewhere, Role.THERAPIST, "dr.lund@farshore.test", "Dr. Eli Lund"
            ),
        }
        browsers = {name: signed_in_browser(app, person) for name, person in people.items()}
        anonymous = new_browser(app)
        form_token(anonymous, "/login")
        browsers["anonymous"] = anonymous

        owner = browsers["owner"]
        r = owner.post(
            "/consents", data={"pseudonym": PSEUDONYM, "email": CLIENT_EMAIL, "csrf_token": form_token(owner, "/")}
        )
        assert r.status_code == 303, r.text
        work_off(runtime)
        [invitation] = _mail_to(smtp, CLIENT_EMAIL)
        [link] = links_in(invitation.get_body(("plain",)).get_content())
        client = new_browser(app)
        assert client.get(link).status_code == 200
        r = client.post(
            f"{link}/sign",
            data={
                "csrf_token": form_token(client, link),
                "agree_electronic": "yes",
                "typed_name": "Avery Invented",
                "signature": signature_data_url(),
                "use_therapist_review": "yes",
                "use_supervision": "yes",
            },
        )
        assert r.status_code == 200, r.text
        work_off(runtime)
        [delivered] = _mail_to(smtp, people["owner"].user.email)
        pdf = next(delivered.iter_attachments()).get_content()

        with session_scope(runtime.sessions) as session:
            consent = session.scalars(select(Consent)).one()
        assert consent.status == "signed" and consent.pdf_sha256 and consent.form_sha256
        yield World(
            runtime,
            app,
            consent.id,
            consent.client_id,
            consent.form_sha256,
            consent.pdf_sha256,
            pdf,
            people["owner"].id,
            browsers,
        )
    finally:
        runtime.close()
        smtp.stop()
        if postgres:
            postgres.close()


def database_state(runtime: Runtime) -> dict[str, list[str]]:
    """Every row of every table a refused request must leave alone."""
    meta = MetaData()
    meta.reflect(bind=runtime.engine)
    with runtime.engine.connect() as conn:
        return {
            name: sorted(repr(tuple(row)) for row in conn.execute(table.select()))
            for name, table in meta.tables.items()
            if name not in VOLATILE_TABLES
        }


# -- how to call each route ----------------------------------------------------------------


def _token(browser: TestClient) -> str:
    return form_token(browser, "/login")


def _post(path: str, **data: str) -> Callable[[TestClient, World], Response]:
    def call(browser: TestClient, w: World) -> Response:
        return browser.post(
            path.format(consent_id=w.consent_id, client_id=w.client_id, user_id=w.user_id),
            data={**data, "csrf_token": _token(browser)},
        )

    return call


def _get(path: str) -> Callable[[TestClient, World], Response]:
    return lambda browser, w: browser.get(path.format(consent_id=w.consent_id))


def _upload(
    path: str, field_name: str, data: Callable[[World], bytes], **fields: str
) -> Callable[[TestClient, World], Response]:
    def call(browser: TestClient, w: World) -> Response:
        return browser.post(
            path,
            data={**fields, "csrf_token": _token(browser)},
            files={field_name: ("file.bin", data(w), "application/octet-stream")},
        )

    return call


@dataclass(frozen=True)
class Guarded:
    """``owned``: about the owner's consent; ``own_page``: a therapist's own page (served to other
    therapists, but showing nothing of the owner's); ``home``: everyone's own home page, likewise;
    ``admin``: the practice admin's pages."""

    kind: str
    call: Callable[[TestClient, World], Response]


ROUTES: dict[tuple[str, str], Guarded] = {
    ("GET", "/"): Guarded("home", _get("/")),
    ("GET", "/guide"): Guarded("own_page", _get("/guide")),
    # Another therapist naming the owner's client, to send them a form.
    ("POST", "/consents"): Guarded(
        "owned", _post("/consents", client_id="{client_id}", email="someone.else@example.test")
    ),
    ("GET", "/consents/verify"): Guarded("own_page", _get("/consents/verify")),
    ("POST", "/consents/verify"): Guarded("own_page", _upload("/consents/verify", "pdf", lambda w: w.pdf)),
    ("GET", "/consents/{consent_id}"): Guarded("owned", _get("/consents/{consent_id}")),
    ("POST", "/consents/{consent_id}/withdraw"): Guarded(
        "owned", _post("/consents/{consent_id}/withdraw", confirm="yes")
    ),
    ("POST", "/consents/{consent_id}/cancel"): Guarded("owned", _post("/consents/{consent_id}/cancel")),
    ("GET", "/consents/{consent_id}/fhir.json"): Guarded("owned", _get("/consents/{consent_id}/fhir.json")),
    ("GET", "/admin/users"): Guarded("admin", _get("/admin/users")),
    ("POST", "/admin/users"): Guarded(
        "admin", _post("/admin/users", email="intruder@example.test", display_name="Intruder", role="admin")
    ),
    # Ending a colleague's access, giving it back, and a new set-up link (which would retire theirs).
    ("POST", "/admin/users/{user_id}/deactivate"): Guarded("admin", _post("/admin/users/{user_id}/deactivate")),
    ("POST", "/admin/users/{user_id}/reactivate"): Guarded("admin", _post("/admin/users/{user_id}/reactivate")),
    ("POST", "/admin/users/{user_id}/setup-link"): Guarded("admin", _post("/admin/users/{user_id}/setup-link")),
    # Handing a departed therapist's clients (here, the owner's) to a colleague.
    ("POST", "/admin/users/{user_id}/hand-over"): Guarded(
        "admin", _post("/admin/users/{user_id}/hand-over", to="a-colleague", confirm="yes")
    ),
    ("GET", "/admin/practice"): Guarded("admin", _get("/admin/practice")),
    ("POST", "/admin/practice"): Guarded(
        "admin",
        _post(
            "/admin/practice",
            name="Taken Over",
            us_state="TX",
            audio_retention_days="3650",
            consent_valid_days="1095",
            transcript_retention_days="",
        ),
    ),
    ("GET", "/admin/template"): Guarded("admin", _get("/admin/template")),
    ("POST", "/admin/template"): Guarded(
        "admin", _post("/admin/template", action="save", body=forms.DEFAULT_TEMPLATE + "\n\nChanged by an intruder.\n")
    ),
    ("POST", "/admin/template/reset"): Guarded("admin", _post("/admin/template/reset")),
    ("GET", "/admin/seal"): Guarded("admin", _get("/admin/seal")),
    ("POST", "/admin/seal"): Guarded("admin", _upload("/admin/seal", "pkcs12", lambda w: b"0" * 2048, password="")),
}

NOT_ADMINS = ("owner", "other_therapist", "other_practice_therapist", "supervisor", "anonymous")
NOT_OWNERS = ("other_therapist", "other_practice_therapist", "supervisor", "admin", "anonymous")
THERAPISTS = ("other_therapist", "other_practice_therapist")


def guarded(path: str) -> bool:
    return path == "/" or path.startswith(("/consents", "/guide", "/admin"))


def _cases() -> Iterator[object]:
    for (method, path), route in ROUTES.items():
        for actor in NOT_ADMINS if route.kind == "admin" else NOT_OWNERS:
            yield pytest.param(method, path, actor, id=f"{method} {path} by {actor}")


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every endpoint, looking inside included routers (which FastAPI now keeps whole)."""
    return {
        (method, context.path)
        for context in iter_route_contexts(app.routes)
        if context.path and context.methods
        for method in context.methods
        if method != "HEAD"
    }


def test_every_guarded_route_is_in_the_matrix(world: World) -> None:
    found = {(method, path) for method, path in app_routes(world.app) if guarded(path)}
    unknown = sorted(found - ROUTES.keys())
    assert not unknown, f"routes this test does not know how to call (add them to ROUTES): {unknown}"
    gone = sorted(ROUTES.keys() - found)
    assert not gone, f"routes in ROUTES that the app no longer has: {gone}"


def the_owners_data(w: World, method: str, path: str) -> list[str]:
    secrets = [PSEUDONYM, w.consent_id, w.client_id, w.form_sha256]
    if (method, path) != ("POST", "/consents/verify"):
        # The verify page shows the fingerprint of the file it was given, which is the visitor's own.
        secrets.append(w.pdf_sha256)
    return secrets


@pytest.mark.parametrize(("method", "path", "actor"), list(_cases()))
def test_route_refuses_anyone_but_its_owner(world: World, method: str, path: str, actor: str) -> None:
    route = ROUTES[(method, path)]
    before = database_state(world.runtime)
    response = route.call(world.browsers[actor], world)

    if actor == "anonymous":
        if method == "GET":
            assert response.status_code == 303 and response.headers["location"] == "/login"
        else:
            assert response.status_code in (401, 403), response.text
    elif route.kind == "home" or (route.kind == "own_page" and actor in THERAPISTS):
        # Their own home, guide or verify page: served, and it must not show the owner's record.
        assert response.status_code == 200, response.text
        assert "Genuine and unchanged" not in response.text
    else:
        assert response.status_code in (403, 404), response.text

    for secret in the_owners_data(world, method, path):
        assert secret not in response.text, f"{actor} saw {secret!r} on {method} {path}"
    # Compared with the state just before, so a request wrongly let through fails here, and only here.
    assert database_state(world.runtime) == before


def test_owner_can_use_the_routes_the_others_are_refused(world: World) -> None:
    """The control: the same requests succeed for the owner, so the refusals above are about who asks."""
    owner = world.browsers["owner"]
    for path in ("/", "/consents/{consent_id}", "/consents/{consent_id}/fhir.json"):
        r = owner.get(path.format(consent_id=world.consent_id))
        assert r.status_code == 200 and PSEUDONYM in r.text, path
    r = ROUTES[("POST", "/consents/verify")].call(owner, world)
    assert r.status_code == 200 and "Genuine and unchanged" in r.text and PSEUDONYM in r.text
    admin = world.browsers["admin"]
    for (method, path), route in ROUTES.items():
        if route.kind == "admin" and method == "GET":
            assert admin.get(path).status_code == 200, path


@pytest.mark.parametrize("actor", THERAPISTS)
def test_verify_page_does_not_reveal_another_therapists_record(world: World, actor: str) -> None:
    before = _verify_events(world)
    r = ROUTES[("POST", "/consents/verify")].call(world.browsers[actor], world)
    assert r.status_code == 200
    assert "does not match any of your consent records" in r.text
    assert PSEUDONYM not in r.text and world.consent_id not in r.text and "Genuine" not in r.text
    [event] = _verify_events(world)[len(before) :]
    # Nor does the audit trail tie this therapist's check to the owner's consent.
    assert event.subject is None and event.details["matches_record"] is False


def _verify_events(world: World) -> list[AuditEvent]:
    with session_scope(world.runtime.sessions) as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == "consent.pdf_verified").order_by(AuditEvent.seq)
            )
        )


def test_consent_is_still_signed_after_every_refusal(world: World) -> None:
    with session_scope(world.runtime.sessions) as session:
        consent = session.get(Consent, world.consent_id)
        assert consent is not None
        assert consent.status == "signed" and consent.withdrawn_at is None
        assert consent.uses["supervision"] is True and consent.pdf_sha256 == world.pdf_sha256
