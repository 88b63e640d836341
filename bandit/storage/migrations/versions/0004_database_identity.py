"""database identity: a random id made once in each database, so a log cursor names its log

A model's log cursor (the last decision seq it learned) only means something in the
database it was read from. Each database gets an id of its own here, once; training
records it with the model, and serving compares it before adopting that cursor.
A copy of a database (a backup, a restore) keeps the id, and rightly so: its log and
its seqs are the same.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "store_metadata",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_store_metadata")),
    )
    op.bulk_insert(table, [{"name": "database_id", "value": uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table("store_metadata")
