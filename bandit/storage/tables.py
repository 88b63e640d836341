"""The durable schema. Alembic migrations under ``migrations/`` create and evolve it.

Respect state is not stored twice: exposures are decisions that chose an offer,
dismissals are ``dismissed`` events. Only the opt-out flag has its own table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: tactful stores server-clock UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stamp: datetime = value
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: Big integers that are still SQLite's rowid-backed autoincrement keys.
SeqType = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users",
    metadata,
    Column("user_key", String(128), primary_key=True),
    Column("opted_out", Boolean, nullable=False, default=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("user_key", String(128), ForeignKey("users.user_key"), nullable=False),
    Column("session_id", String(128), nullable=False),
    Column("placement", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("window_closes_at", UtcDateTime(), nullable=False),
    Column("chosen", String(64), nullable=False),
    Column("offer_id", String(64), nullable=True),
    Column("probability", Float, nullable=False),
    Column("policy_version", String(128), nullable=False),
    Column("record", JSON, nullable=False),
    Column("context", JSON, nullable=False),
    Column("reward", Float, nullable=True),
    Column("status", String(16), nullable=False, default="open"),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("rule_choice", String(64), nullable=True),
    Index("ix_decisions_user_created", "user_key", "created_at"),
    Index("ix_decisions_status_seq", "status", "seq"),
    # The learner asks "is any window due?" every second: without this, an O(open rows) scan.
    Index("ix_decisions_status_closes", "status", "window_closes_at"),
)

events = Table(
    "events",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("decision_id", String(64), ForeignKey("decisions.id"), nullable=False),
    Column("user_key", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", Float, nullable=False, default=0.0),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("in_window", Boolean, nullable=False),
    UniqueConstraint("decision_id", "kind", name="uq_events_decision_kind"),
    Index("ix_events_user_kind", "user_key", "kind"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", SeqType, primary_key=True, autoincrement=True),
    Column("version", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("checksum", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)

#: Facts about the database itself, one row each; see :data:`DATABASE_ID`.
store_metadata = Table(
    "store_metadata",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)
#: The ``store_metadata`` row holding the database's identity: a random id its migration
#: made once. A log cursor (a decision seq) names a position in one database's log only.
DATABASE_ID = "database_id"
