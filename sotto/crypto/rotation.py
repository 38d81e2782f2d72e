"""Key rotation: re-wrap every data key and sealed value under a new KEK, then retire the old ones.

No content is re-encrypted: only the wrapped data keys change. The re-wrapping happens in
one transaction, so a failure before commit leaves the database as it was, and the key
file, which still holds every KEK, reads all of it; running the rotation again finishes
the job. Old KEKs are retired only after a final pass finds nothing still under them.

What is covered is found from the models: the ``data_keys`` table and every binary
column whose name ends in ``_sealed`` (envelope-sealed values). A test keeps every binary
column in one of the two groups.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Column, CursorResult, LargeBinary, MetaData, Table, and_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from sotto.crypto.envelope import rewrap_sealed
from sotto.crypto.keystore import KeyStore
from sotto.crypto.models import DataKey
from sotto.db import is_postgres, session_scope
from sotto.models import metadata as all_tables

log = logging.getLogger(__name__)

# After the main pass, rows written meanwhile by transactions that wrapped under the old
# KEK are caught by further passes; if they keep coming, the old KEK is kept.
FINAL_PASSES = 3
#: How long the rotation waits for transactions begun before it to end (PostgreSQL).
WAIT_FOR_TRANSACTIONS_SECONDS = 60.0


class RotationError(RuntimeError):
    """The rotation could not finish; every key is still in the key store."""


@dataclass(frozen=True)
class RotationReport:
    new_kek_id: str
    data_keys: int
    sealed_values: int
    retired: list[str] = field(default_factory=list)


def sealed_columns(metadata: MetaData = all_tables) -> list[tuple[Table, Column]]:
    """Every binary column named ``*_sealed``: the values sealed by ``sotto.crypto.envelope``."""
    return [
        (table, column)
        for table in metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_sealed") and isinstance(column.type, LargeBinary)
    ]


def rotate_keys(session_factory: sessionmaker[Session], keystore: KeyStore) -> RotationReport:
    """Make a new KEK current, re-wrap everything under it, and retire every older KEK."""
    old = keystore.kek_ids()
    begun = _database_time(session_factory)
    new_kek_id = keystore.begin_rotation()
    old = [kek_id for kek_id in old if kek_id != new_kek_id]
    with session_scope(session_factory) as session:
        data_keys, sealed_values, _ = _rewrap_everything(session, keystore)
    _wait_for_transactions_begun_before(session_factory, begun)
    for _ in range(FINAL_PASSES):
        with session_scope(session_factory) as session:
            more_keys, more_values, found = _rewrap_everything(session, keystore)
        data_keys, sealed_values = data_keys + more_keys, sealed_values + more_values
        if not found:
            break
    else:
        raise RotationError(
            "keys were still being written under the old key-encryption key; nothing was lost and "
            "the old key is kept: run the rotation again when the server is quieter"
        )
    keystore.retire(old)
    log.info(
        "keys rotated: %d data keys and %d sealed values re-wrapped, %d old keys retired",
        data_keys,
        sealed_values,
        len(old),
    )
    return RotationReport(new_kek_id=new_kek_id, data_keys=data_keys, sealed_values=sealed_values, retired=old)


def _database_time(session_factory: sessionmaker[Session]) -> datetime | None:
    """The database's clock now (PostgreSQL; None on SQLite, which needs no waiting)."""
    with session_scope(session_factory) as session:
        return session.scalar(text("SELECT clock_timestamp()")) if is_postgres(session) else None


def _wait_for_transactions_begun_before(session_factory: sessionmaker[Session], begun: datetime | None) -> None:
    """Wait until no transaction that may have wrapped under the old KEK is still open (PostgreSQL).

    A transaction begun before the rotation may hold a key wrapped under the old KEK and commit
    after the final pass: retiring that KEK would lose what it protects. On SQLite each writing
    transaction holds the database's write lock from its start, so the passes already wait.
    """
    if begun is None:
        return
    deadline = time.monotonic() + WAIT_FOR_TRANSACTIONS_SECONDS
    while True:
        with session_scope(session_factory) as session:
            open_before = session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND xact_start < :begun"
                ),
                {"begun": begun},
            )
        if not open_before:
            return
        if time.monotonic() > deadline:
            raise RotationError(
                "a transaction begun before the rotation is still open, and it may hold keys under the old "
                "key-encryption key; nothing was lost and the old key is kept: run the rotation again"
            )
        time.sleep(0.1)


def _rewrap_everything(session: Session, keystore: KeyStore) -> tuple[int, int, int]:
    """Re-wrap what is not under the current KEK: (data keys changed, sealed values changed, found)."""
    keys_changed, keys_found = _rewrap_data_keys(session, keystore)
    values_changed = values_found = 0
    for table, column in sealed_columns():
        changed, found = _rewrap_column(session, keystore, table, column)
        values_changed += changed
        values_found += found
    return keys_changed, values_changed, keys_found + values_found


def _rewrap_data_keys(session: Session, keystore: KeyStore) -> tuple[int, int]:
    current = keystore.current_kek_id()
    rows = session.execute(select(DataKey.id, DataKey.kek_id, DataKey.wrapped).where(DataKey.kek_id != current)).all()
    changed = 0
    for key_id, kek_id, wrapped in rows:
        new_kek_id, new_wrapped = keystore.rewrap(kek_id, wrapped)
        # Only if unchanged since read: a key destroyed or replaced meanwhile stays as it is now.
        result = session.execute(
            update(DataKey)
            .where(DataKey.id == key_id, DataKey.kek_id == kek_id, DataKey.wrapped == wrapped)
            .values(kek_id=new_kek_id, wrapped=new_wrapped)
            .execution_options(synchronize_session=False)
        )
        changed += cast(CursorResult[Any], result).rowcount
    return changed, len(rows)


def _rewrap_column(session: Session, keystore: KeyStore, table: Table, column: Column) -> tuple[int, int]:
    keys = list(table.primary_key.columns)
    # Keys first, then one value at a time: sealed mail can be large.
    rows = session.execute(select(*keys).where(column.is_not(None))).all()
    changed = found = 0
    for row in rows:
        where = and_(*(key == value for key, value in zip(keys, row, strict=True)))
        blob = session.scalar(select(column).where(where))
        if blob is None:
            continue
        rewrapped = rewrap_sealed(keystore, blob)
        if rewrapped is blob:
            continue
        found += 1
        # Only if unchanged since read, so a value cleared meanwhile (an e-mail address
        # whose invitation ended) is not brought back.
        result = session.execute(update(table).where(where, column == blob).values({column.name: rewrapped}))
        changed += cast(CursorResult[Any], result).rowcount
    return changed, found
