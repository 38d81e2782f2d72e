"""A running Sotto for tests: settings in a temporary folder, a real SMTP server, web client, users."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sotto import clock
from sotto.accounts import security
from sotto.accounts import service as accounts
from sotto.accounts.models import Practice, Role, User
from sotto.app import create_app
from sotto.config import Settings
from sotto.consent import certificates
from sotto.consent import service as consent_service
from sotto.crypto.envelope import seal
from sotto.db import session_scope
from sotto.jobs.service import run_pending
from sotto.mail.service import deliver_due
from sotto.runtime import Runtime, build_runtime
from support.smtp import LoopbackSmtpServer

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _private_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own temporary directory, so a scan of "the temp directory" sees only what Sotto wrote."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


def make_settings(tmp_path: Path, database_url: str, smtp_port: int, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        data_dir=tmp_path / "data",
        key_file=tmp_path / "keys" / "sotto.key",
        outbox_dir=tmp_path / "outbox",
        database_url=database_url,
        public_url="http://testserver",
        mail="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        worker_threads=1,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_server: LoopbackSmtpServer) -> Settings:
    return make_settings(tmp_path, database_url, smtp_server.port)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings)
    yield rt
    rt.close()


@pytest.fixture
def web(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(
        create_app(runtime, run_workers=False), base_url="http://testserver", follow_redirects=False
    ) as client:
        yield client


@dataclass
class Person:
    user: User
    totp_secret: str
    password: str = PASSWORD

    @property
    def id(self) -> str:
        return self.user.id

    def code(self) -> str:
        """A TOTP code that has not been used yet (moves the clock a step, as time would)."""
        clock.advance(timedelta(seconds=30))
        return pyotp.TOTP(self.totp_secret).at(clock.now())


def create_practice(runtime: Runtime, name: str = "Quiet Harbor Counseling", us_state: str = "CA") -> Practice:
    with session_scope(runtime.sessions) as session:
        practice = accounts.create_practice(session, name=name, us_state=us_state)
        certificates.ensure_seal_certificate(session, keystore=runtime.keystore, practice=practice)
        consent_service.current_template(session, practice_id=practice.id)
    return practice


def create_person(runtime: Runtime, practice: Practice, role: Role, email: str, name: str) -> Person:
    """An enrolled account with a known password and TOTP secret."""
    secret = security.new_totp_secret()
    with session_scope(runtime.sessions) as session:
        user, _token = accounts.create_user(
            session,
            keystore=runtime.keystore,
            practice_id=practice.id,
            email=email,
            display_name=name,
            role=role,
            actor="test",
        )
        user.password_hash = security.hash_password(PASSWORD)
        user.totp_secret_sealed = seal(runtime.keystore, secret.encode(), context=f"totp:{user.id}")
        user.enrolled_at = clock.now()
    return Person(user, secret)


@pytest.fixture
def practice(runtime: Runtime) -> Practice:
    return create_practice(runtime)


@pytest.fixture
def therapist(runtime: Runtime, practice: Practice) -> Person:
    return create_person(runtime, practice, Role.THERAPIST, "dr.rivera@quietharbor.test", "Dr. Sam Rivera")


def sign_in(web: TestClient, person: Person) -> None:
    """Password and TOTP through the real pages; raises if either step fails."""
    page = web.get("/login")
    token = csrf_of(page.text)
    r = web.post("/login", data={"email": person.user.email, "password": person.password, "csrf_token": token})
    assert r.status_code == 303, r.text
    r = web.post("/login/code", data={"code": person.code(), "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/", r.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, "page has no CSRF field: " + html[:300]
    return found.group(1)


def form_token(web: TestClient, path: str = "/login") -> str:
    """The CSRF token for this client's cookie (any page carries it)."""
    return csrf_of(web.get(path).text)


def set_practice(runtime: Runtime, **values: object) -> None:
    """Change the (only) practice's settings, as its admin would."""
    with session_scope(runtime.sessions) as session:
        practice = session.scalars(select(Practice)).one()
        for name, value in values.items():
            setattr(practice, name, value)


PROCESSING_JOB = "pipeline.process_session"


def work_off(runtime: Runtime, *, process: bool = True) -> None:
    """Run due jobs and deliver the outbox, as the workers would.

    ``process=False`` leaves sessions' processing jobs queued, as when the worker is busy:
    for tests about what happens before processing (uploads, checks, playback of kept audio).
    """
    for _ in range(3):
        run_pending(runtime, exclude=() if process else (PROCESSING_JOB,))
        deliver_due(runtime.sessions, keystore=runtime.keystore, backend=runtime.mailer)


@pytest.fixture
def signed_in_therapist(web: TestClient, therapist: Person) -> Person:
    sign_in(web, therapist)
    return therapist


@pytest.fixture
def admin(runtime: Runtime, practice: Practice, web: TestClient) -> Person:
    """The practice's admin, signed in on ``web``."""
    person = create_person(runtime, practice, Role.ADMIN, "admin@quietharbor.test", "Pat Admin")
    sign_in(web, person)
    return person


def another_browser(web: TestClient) -> TestClient:
    """Another browser on the same server, with its own cookies."""
    return TestClient(web.app, base_url="http://testserver", follow_redirects=False)


LINK = re.compile(r"http://testserver(/(?:c|my|enrol)/[A-Za-z0-9_\-]+)")


def links_in(message_text: str) -> list[str]:
    return LINK.findall(message_text)


MakePerson = Callable[..., Person]


def signature_data_url() -> str:
    """A drawn-looking signature: dark strokes on a transparent canvas, as the page sends it."""
    import base64
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (600, 180), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.line(
        [(30, 120), (90, 40), (140, 130), (200, 60), (260, 120), (330, 70), (420, 110)], fill=(27, 42, 74, 255), width=4
    )
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
