"""data keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 14:58:04.124412
"""

import sqlalchemy as sa
from alembic import op

import sotto.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('data_keys',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('kek_id', sa.String(length=80), nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sotto.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_keys'))
    )


def downgrade() -> None:
    op.drop_table('data_keys')
