"""Emptying SQLite's write-ahead log after a deletion: done when it can be, never waited for."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

from sqlalchemy import text

from sotto.db import make_engine, truncate_write_ahead_log


def test_the_log_is_emptied_and_a_reader_is_not_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "sotto.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kept (value BLOB)"))
        conn.execute(text("INSERT INTO kept VALUES (:v)"), {"v": b"wrapped-key-1234"})
    with closing(sqlite3.connect(path, isolation_level=None)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM kept").fetchall()  # a snapshot held open, as a long read does
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM kept"))
        started = time.monotonic()
        truncate_write_ahead_log(engine)  # the connection's busy timeout is 30 s: it must not wait
        assert time.monotonic() - started < 2
        assert b"wrapped-key-1234" in (tmp_path / "sotto.db-wal").read_bytes()  # left for the next call
        reader.execute("COMMIT")
        truncate_write_ahead_log(engine)
        assert (tmp_path / "sotto.db-wal").stat().st_size == 0
        assert b"wrapped-key-1234" not in path.read_bytes()
    with engine.connect() as conn:  # the pooled connection waits again as it did before
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30_000
    engine.dispose()
