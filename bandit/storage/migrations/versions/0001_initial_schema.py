"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bandit.storage.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "checkpoints",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("created_at", bandit.storage.tables.UtcDateTime(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", bandit.storage.tables.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "users",
        sa.Column("user_key", sa.String(length=128), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("updated_at", bandit.storage.tables.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_key", name=op.f("pk_users")),
    )
    op.create_table(
        "decisions",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_key", sa.String(length=128), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("placement", sa.String(length=64), nullable=False),
        sa.Column("created_at", bandit.storage.tables.UtcDateTime(), nullable=False),
        sa.Column("window_closes_at", bandit.storage.tables.UtcDateTime(), nullable=False),
        sa.Column("chosen", sa.String(length=64), nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=True),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("policy_version", sa.String(length=128), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("reward", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_at", bandit.storage.tables.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_key"], ["users.user_key"], name=op.f("fk_decisions_user_key_users")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_decisions")),
        sa.UniqueConstraint("id", name=op.f("uq_decisions_id")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index("ix_decisions_status_seq", ["status", "seq"], unique=False)
        batch_op.create_index("ix_decisions_user_created", ["user_key", "created_at"], unique=False)

    op.create_table(
        "events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("decision_id", sa.String(length=64), nullable=False),
        sa.Column("user_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("created_at", bandit.storage.tables.UtcDateTime(), nullable=False),
        sa.Column("in_window", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_events_decision_id_decisions")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("decision_id", "kind", name="uq_events_decision_kind"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_user_kind", ["user_key", "kind"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_user_kind")

    op.drop_table("events")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_user_created")
        batch_op.drop_index("ix_decisions_status_seq")

    op.drop_table("decisions")
    op.drop_table("users")
    op.drop_table("leases")
    op.drop_table("checkpoints")
