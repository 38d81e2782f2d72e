"""who recorded a session

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

A session's therapist changes when a departed therapist's clients are handed to a colleague;
who recorded it does not, and processing labels the speakers by that therapist's enrolled
voice. Sessions already in the database were recorded by the therapist they name, except
those already handed over, which cannot be told apart and keep their current therapist.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("therapy_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_by", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_therapy_sessions_recorded_by_users"), "users", ["recorded_by"], ["id"], ondelete="SET NULL"
        )
    op.execute("UPDATE therapy_sessions SET recorded_by = therapist_id")


def downgrade() -> None:
    with op.batch_alter_table("therapy_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_therapy_sessions_recorded_by_users"), type_="foreignkey")
        batch_op.drop_column("recorded_by")
