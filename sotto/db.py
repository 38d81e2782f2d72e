"""Database engine, sessions and the shared declarative base.

The same models and queries run on SQLite (the embedded default) and PostgreSQL.
Services receive a ``Session`` and never commit; the request or the job owns the
transaction (see ``session_scope``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event, select, text, update
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from alembic.config import Config

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without a zone (SQLite has none) and always hands back aware UTC times."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not accepted; use sotto.clock.now()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# Execution option marking a connection whose transactions will write.
WRITE = "sotto_write"


def new_id() -> str:
    """A random identifier for rows whose ids appear in URLs (not guessable, not sequential)."""
    return uuid.uuid4().hex


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Sotto issues BEGIN itself (below), so pysqlite must not.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A transaction that will write takes the write lock up front. Otherwise a
            # reader that later writes fails at once ("database is locked") when another
            # writer committed in between, and a withdrawal could be refused by accident.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


def make_session_factory(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions for reading, or (``write``) for transactions that change data.

    On SQLite a write session holds the database's write lock from its first statement,
    so concurrent writers queue instead of failing; PostgreSQL needs no such help.
    """
    bind = engine.execution_options(**{WRITE: True}) if write else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends normally, rolled back otherwise."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(connection: Connection) -> Config:
    """Alembic's settings for Sotto's migrations, run on ``connection``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def schema_change(engine: Engine) -> Iterator[Connection]:
    """A connection whose one transaction changes the schema and keeps every row.

    SQLite changes a table's constraints by building it anew and dropping the old one, and with
    foreign keys enforced, dropping a table first deletes every row that refers to it (a
    session's recordings and transcript, by ON DELETE CASCADE). So, as SQLite's own procedure
    for schema changes has it, foreign keys are off for the change (which has to be said outside
    the transaction) and checked before it commits.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _pragma(conn, "foreign_keys=OFF")
        try:
            with conn.begin():
                yield conn
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise RuntimeError("the schema change would leave rows referring to rows that are gone")
        finally:
            if sqlite:
                _pragma(conn, "foreign_keys=ON")


def _pragma(conn: Connection, setting: str) -> None:
    """Set a SQLite pragma on the connection itself, outside any transaction (where some have no effect)."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    raw.cursor().execute(f"PRAGMA {setting}")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command

    with schema_change(engine) as conn:
        command.upgrade(alembic_config(conn), "head")


def truncate_write_ahead_log(engine: Engine) -> None:
    """On SQLite, fold the write-ahead log into the database and empty it; PostgreSQL has nothing to do here.

    secure_delete zeroes a deleted row's page in the database, but the log keeps earlier copies
    of that page until they are overwritten: a copy of the data folder taken meanwhile would
    still hold a shredded key. Best effort and without waiting: while another connection is
    reading or writing, the log stays as it is until the next call (waiting would hold up every
    writer, a recording's next chunk among them).
    """
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        (waited,) = cursor.execute("PRAGMA busy_timeout").fetchone()
        cursor.execute("PRAGMA busy_timeout = 0")
        try:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {int(waited)}")
    finally:
        raw.close()


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_table_for_append(session: Session, key: int) -> None:
    """Serialise appends that depend on the last row (PostgreSQL; SQLite writes serialise already)."""
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def lock_row(session: Session, model: type[Base], row_id: str) -> None:
    """Hold this row until the transaction ends, on both databases.

    PostgreSQL locks the row itself. SQLite has no row locks, so a no-op update takes the
    database's write lock at once; a concurrent writer then waits instead of interleaving.
    """
    key = model.__table__.c.id
    if is_postgres(session):
        session.execute(select(key).where(key == row_id).with_for_update())
    else:
        session.execute(update(model).where(key == row_id).values(id=key))
