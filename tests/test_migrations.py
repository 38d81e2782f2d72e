"""The Alembic migrations build exactly the schema the models describe, on both databases, and
fill new columns from what is already there."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from sotto.accounts.models import User
from sotto.clients.models import Client
from sotto.db import alembic_config, make_engine, migrate, schema_change, session_scope
from sotto.models import metadata
from sotto.recording import service as recordings
from sotto.recording.models import Recording, Source, TherapySession
from sotto.runtime import Runtime
from support.app import Person
from support.consenting import consenting_client


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)  # running again on an up-to-date database changes nothing
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == []


def test_sessions_recorded_before_recorded_by_existed_are_their_therapists(runtime: Runtime, therapist: Person) -> None:
    client = consenting_client(runtime, therapist.user)
    with session_scope(runtime.sessions) as session:
        user = session.get(User, therapist.id)
        held = session.get(Client, client.client.id)
        assert user is not None and held is not None
        session_id = recordings.start_session(session, keystore=runtime.keystore, therapist=user, client=held).id
        session.add(Recording(session_id=session_id, source=Source.MICROPHONE))
    with schema_change(runtime.engine) as conn:
        command.downgrade(alembic_config(conn), "0003")
    migrate(runtime.engine)
    with session_scope(runtime.sessions) as session:
        row = session.get(TherapySession, session_id)
        assert row is not None and row.recorded_by == therapist.id
        # Rebuilding the table (SQLite's way to add a foreign key) takes nothing that refers to it along.
        assert session.scalars(select(Recording.session_id)).all() == [session_id]
