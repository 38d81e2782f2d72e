"""Alembic environment: runs on the connection handed over by sotto.db.migrate."""

from alembic import context

from sotto.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when alembic is run by hand
    raise SystemExit("run migrations through `sotto` (sotto.db.migrate), which supplies the connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
