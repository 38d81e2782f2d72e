"""Who may use the recording pages: another therapist, another practice, a supervisor, an admin and an
anonymous visitor are each refused on every recording route, learn nothing, and change nothing.

Built once per database: the owner's client with a signed consent, a session with an uploaded
recording still kept, a live session open for recording, and an open client request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from sotto.accounts.models import Role
from sotto.app import create_app
from sotto.db import session_scope
from sotto.recording.models import ClientRequest, Recording, TherapySession
from sotto.review.models import SessionTranscript
from sotto.runtime import Runtime, build_runtime
from support.app import create_person, create_practice, form_token, make_settings, sign_in, work_off
from support.audio import recording
from support.consenting import consenting_client
from support.database import fresh_postgres_database
from support.smtp import LoopbackSmtpServer
from support.tus import Tus

PSEUDONYM = "Silver Finch"
ACTORS = ["other_therapist", "other_practice_therapist", "supervisor", "admin", "anonymous"]
PREFIXES = ("/clients", "/sessions", "/recordings", "/requests")


@dataclass
class World:
    runtime: Runtime
    app: FastAPI
    ids: dict[str, str]
    browsers: dict[str, TestClient]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("recording-authorisation")
    smtp = LoopbackSmtpServer()
    smtp.start()
    postgres = fresh_postgres_database() if request.param == "postgres" else None
    url = next(postgres) if postgres else f"sqlite:///{tmp / 'data' / 'sotto.db'}"
    runtime = build_runtime(make_settings(tmp, url, smtp.port))
    app = create_app(runtime, run_workers=False)
    try:
        here = create_practice(runtime)
        elsewhere = create_practice(runtime, name="Far Shore Therapy", us_state="NY")
        owner = create_person(runtime, here, Role.THERAPIST, "owner@quietharbor.test", "Dr. Owner")
        people = {
            "other_therapist": create_person(runtime, here, Role.THERAPIST, "other@quietharbor.test", "Dr. Other"),
            "other_practice_therapist": create_person(
                runtime, elsewhere, Role.THERAPIST, "far@farshore.test", "Dr. Far"
            ),
            "supervisor": create_person(runtime, here, Role.SUPERVISOR, "sup@quietharbor.test", "Dr. Sup"),
            "admin": create_person(runtime, here, Role.ADMIN, "admin@quietharbor.test", "Pat Admin"),
        }
        client = consenting_client(runtime, owner.user, pseudonym=PSEUDONYM)
        owner_web = TestClient(app, base_url="http://testserver", follow_redirects=False)
        sign_in(owner_web, owner)
        tus = Tus(owner_web)
        kept = tus.start_session(client.client.id).json()["session"]
        kept_url, _ = tus.upload_file(kept, recording("wav", seconds=1.0))
        work_off(runtime)
        live = tus.start_session(client.client.id).json()["session"]
        live_url = tus.create(live).headers["Location"]
        with TestClient(app, base_url="http://testserver") as device:
            page = f"/my/{client.my_token}"
            device.post(f"{page}/sessions/{kept}/copy", data={"csrf_token": form_token(device, page)})
        with session_scope(runtime.sessions) as session:
            request_id = session.scalars(select(ClientRequest.id)).one()
        browsers = {}
        for name, person in people.items():
            browsers[name] = TestClient(app, base_url="http://testserver", follow_redirects=False)
            sign_in(browsers[name], person)
        browsers["anonymous"] = TestClient(app, base_url="http://testserver", follow_redirects=False)
        ids = {
            "client": client.client.id,
            "kept": kept,
            "kept_rec": kept_url.rsplit("/", 1)[1],
            "live": live,
            "live_rec": live_url.rsplit("/", 1)[1],
            "request": request_id,
        }
        yield World(runtime, app, ids, browsers)
    finally:
        runtime.close()
        smtp.stop()
        if postgres:
            postgres.close()


ROUTES = {
    ("GET", "/clients/{client_id}"): "/clients/{client}",
    ("GET", "/clients/{client_id}/record"): "/clients/{client}/record",
    ("POST", "/clients/{client_id}/sessions"): "/clients/{client}/sessions",
    ("POST", "/sessions/{session_id}/end"): "/sessions/{live}/end",
    ("POST", "/sessions/{session_id}/client-withdrew"): "/sessions/{live}/client-withdrew",
    ("POST", "/sessions/{session_id}/browser-key"): "/sessions/{live}/browser-key",
    ("GET", "/sessions/{session_id}"): "/sessions/{kept}",
    ("POST", "/sessions/{session_id}/delete"): "/sessions/{kept}/delete",
    ("GET", "/recordings/{recording_id}/audio"): "/recordings/{kept_rec}/audio",
    ("POST", "/sessions/{session_id}/recordings"): "/sessions/{live}/recordings",
    ("OPTIONS", "/sessions/{session_id}/recordings"): "/sessions/{live}/recordings",
    ("PATCH", "/recordings/{recording_id}"): "/recordings/{live_rec}",
    ("POST", "/requests/{request_id}/done"): "/requests/{request}/done",
    ("GET", "/sessions/{session_id}/progress"): "/sessions/{kept}/progress",
    ("POST", "/sessions/{session_id}/speakers/swap"): "/sessions/{kept}/speakers/swap",
    ("POST", "/sessions/{session_id}/segments/{index}/speaker"): "/sessions/{kept}/segments/0/speaker",
    ("POST", "/sessions/{session_id}/process"): "/sessions/{kept}/process",
}


def test_every_recording_route_is_in_the_matrix(world: World) -> None:
    found = {
        (method, context.path)
        for context in iter_route_contexts(world.app.routes)
        if context.path and context.path.startswith(PREFIXES) and context.methods
        for method in context.methods
        if method != "HEAD"
    }
    assert found == set(ROUTES), f"add new routes to ROUTES: {sorted(found ^ set(ROUTES))}"


def state(world: World) -> tuple:
    with session_scope(world.runtime.sessions) as session:
        sessions = sorted((s.id, s.status) for s in session.scalars(select(TherapySession)))
        recordings = sorted((r.id, r.received_bytes, r.data_key_id is None) for r in session.scalars(select(Recording)))
        requests = sorted((r.id, r.status) for r in session.scalars(select(ClientRequest)))
        transcripts = sorted(
            (t.id, str(t.relabel), str(t.segment_labels), t.data_key_id)
            for t in session.scalars(select(SessionTranscript))
        )
    return sessions, recordings, requests, transcripts


# tus discovery (OPTIONS) answers anyone: it names the protocol version and nothing else.
GUARDED = sorted(key for key in ROUTES if key[0] != "OPTIONS")


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(("method", "route"), GUARDED)
def test_recording_routes_refuse_everyone_but_the_owner(world: World, actor: str, method: str, route: str) -> None:
    browser = world.browsers[actor]
    path = ROUTES[(method, route)].format(**world.ids)
    headers = {"X-CSRF-Token": form_token(browser, "/login"), "Tus-Resumable": "1.0.0"}
    before = state(world)
    if method == "PATCH":
        headers.update({"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        r = browser.patch(path, content=b"x" * 100, headers=headers)
    elif method == "POST":
        headers["Upload-Defer-Length"] = "1"
        r = browser.post(
            path, data={"csrf_token": headers["X-CSRF-Token"], "confirm": "yes", "speaker": "client"}, headers=headers
        )
    else:
        r = browser.request(method, path, headers=headers)
    if actor == "anonymous":
        assert r.status_code in (303, 401), r.status_code
    else:
        assert r.status_code in (403, 404), (r.status_code, r.text[:200])
    assert PSEUDONYM not in r.text
    assert state(world) == before
