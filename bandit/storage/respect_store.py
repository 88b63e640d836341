"""The respect store in SQL: each user's respect state, read and held for one decision.

A decision is written in the same transaction that read the user's respect state,
with the user held (``BEGIN IMMEDIATE`` on SQLite, where a server's decisions share
transactions in groups: see ``group_writer.py``; on PostgreSQL the user's row is
locked, as ``SELECT ... FOR UPDATE`` would, by an upsert that touches it), so
concurrent decisions for one user cannot both pass a cap. The state is read in one
round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Integer,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bandit.clock import utcnow
from bandit.decision import Decision
from bandit.errors import UnknownDecision
from bandit.respect import (
    EXPOSURE_MEMORY,
    Acceptance,
    Dismissal,
    Exposure,
    Hold,
    RespectState,
    Shown,
)
from bandit.reward import EventKind
from bandit.storage.database import Database
from bandit.storage.decision_log import DecisionLog
from bandit.storage.outcomes import Outcomes
from bandit.storage.tables import decisions, events, users
from features import SessionContext

T = TypeVar("T")

#: The respect-state reads on the decision path, built once (see ``_lock_user_statement``).
#: Each row is (kind, offer id, session id, time, count); the kinds:
_EXPOSURE, _DISMISSAL, _SHOWN, _ACCEPTANCE, _USER = 0, 1, 2, 3, 4
_EXPOSURES = select(
    literal_column(str(_EXPOSURE)).label("kind"),
    decisions.c.offer_id,
    decisions.c.session_id,
    decisions.c.created_at,
    literal_column("1"),
).where(
    decisions.c.user_key == bindparam("user_key"),
    decisions.c.offer_id.is_not(None),
    decisions.c.created_at >= bindparam("since"),
)
#: Every offer ever chosen for the user: how often, and when last (the offer's history).
_SHOWN_TOTALS = (
    select(
        literal_column(str(_SHOWN)),
        decisions.c.offer_id,
        null(),
        func.max(decisions.c.created_at),
        func.count(),
    )
    .where(decisions.c.user_key == bindparam("user_key"), decisions.c.offer_id.is_not(None))
    .group_by(decisions.c.offer_id)
)


def _events_of(kind: int, *kinds: EventKind) -> Any:
    """The user's events of these kinds, by offer."""
    return (
        select(
            literal_column(str(kind)),
            decisions.c.offer_id,
            null(),
            events.c.created_at,
            literal_column("1"),
        )
        .join(decisions, decisions.c.id == events.c.decision_id)
        .where(
            events.c.user_key == bindparam("user_key"),
            # Constants in the SQL, not an expanding IN parameter: SQLAlchemy would
            # re-render that list on every decision.
            or_(*(events.c.kind == literal_column(f"'{k.value}'") for k in kinds)),
        )
    )


#: All in one round trip: a statement costs more in the driver and SQLAlchemy than in the
#: database here.
_RESPECT_ROWS = union_all(
    _EXPOSURES,
    _SHOWN_TOTALS,
    _events_of(_DISMISSAL, EventKind.DISMISSED),
    _events_of(_ACCEPTANCE, EventKind.ACCEPTED, EventKind.CONVERTED),
    # The user's own row, if any: its opt-out flag in the count column.
    select(
        literal_column(str(_USER)), null(), null(), null(), cast(users.c.opted_out, Integer)
    ).where(users.c.user_key == bindparam("user_key")),
)


def _read_state(conn: Connection, user_key: str, now: datetime) -> tuple[RespectState, bool]:
    """The user's respect state from :data:`_RESPECT_ROWS`, and whether the user has a row."""
    params = {"user_key": user_key, "since": now - EXPOSURE_MEMORY}
    exposures: list[Exposure] = []
    dismissals: list[Dismissal] = []
    acceptances: dict[str, Acceptance] = {}
    shown: dict[str, Shown] = {}
    opted_out: bool | None = None
    for kind, offer_id, session_id, at, count in conn.execute(_RESPECT_ROWS, params):
        if kind == _USER:
            opted_out = bool(count)
        elif kind == _EXPOSURE:
            exposures.append(Exposure(offer_id, session_id, at))
        elif kind == _DISMISSAL:
            dismissals.append(Dismissal(offer_id, at))
        elif kind == _SHOWN:
            shown[offer_id] = Shown(int(count), at)
        elif offer_id not in acceptances or at < acceptances[offer_id].at:
            acceptances[offer_id] = Acceptance(offer_id, at)  # the first yes
    state = RespectState(
        bool(opted_out), tuple(exposures), tuple(dismissals), tuple(acceptances.values()), shown
    )
    return state, opted_out is not None


class SqlHold:
    """A user held inside an open write transaction, until the decision is recorded."""

    def __init__(self, log: DecisionLog, conn: Connection, user_key: str, state: RespectState):
        self._log = log
        self._conn = conn
        self._user_key = user_key
        self.state = state

    def record(
        self,
        decision: Decision,
        session_id: str,
        context: SessionContext,
        at: datetime,
        rule_choice: str | None = None,
    ) -> None:
        """Append the decision to the log, in the transaction that holds the user."""
        self._log.append(self._conn, decision, self._user_key, session_id, context, at, rule_choice)


class SqlRespectStore:
    """The :class:`~bandit.respect.RespectStore` of the service, over the decision log.

    The state is derived from what the log holds (decisions chosen, events after them)
    plus the ``users`` row's opt-out flag, so there is no second copy to keep in step.
    """

    def __init__(self, database: Database, log: DecisionLog, outcomes: Outcomes) -> None:
        self.database = database
        self.log = log
        self.outcomes = outcomes

    @cached_property
    def _lock_user_statement(self) -> Any:
        """Upsert-and-return in one statement: the row exists, is locked, and says opt-out.

        Touching the row with ``DO UPDATE`` (not ``DO NOTHING``) is what takes PostgreSQL's
        row lock; SQLite already holds its write lock from ``BEGIN IMMEDIATE``. Built
        once: statement construction costs more than its execution on this path.
        """
        dialect_insert = pg_insert if self.database.dialect == "postgresql" else sqlite_insert
        statement = dialect_insert(users).values(
            user_key=bindparam("user_key"), opted_out=False, updated_at=bindparam("now")
        )
        return statement.on_conflict_do_update(
            index_elements=["user_key"], set_={"user_key": statement.excluded.user_key}
        ).returning(users.c.opted_out)

    def _lock_user(self, conn: Connection, user_key: str, now: datetime) -> bool:
        """Make sure the user row exists and lock it; return the opt-out flag."""
        row = conn.execute(self._lock_user_statement, {"user_key": user_key, "now": now})
        return bool(row.scalar_one())

    def while_held(self, user_key: str, now: datetime, work: Callable[[Hold], T]) -> T:
        """Run ``work`` with the user held in a write transaction; return after the commit.

        On a SQLite server the transaction is a group's (see
        :mod:`~bandit.storage.group_writer`): the user is held all the same, since the
        group's writes run one after another under SQLite's single write lock.
        """

        def held(conn: Connection) -> T:
            if self.database.dialect == "postgresql":
                self._lock_user(conn, user_key, now)  # the row lock, before the read
            state, known = _read_state(conn, user_key, now)
            if not known:  # a new user (SQLite: the transaction already holds the database)
                self._lock_user(conn, user_key, now)
            return work(SqlHold(self.log, conn, user_key, state))

        return self.database.run_write(held)

    def state(self, user_key: str, now: datetime | None = None) -> RespectState:
        """The user's respect state as the rules see it."""
        now = now or utcnow()
        with self.database.engine.connect() as conn:
            return _read_state(conn, user_key, now)[0]

    def set_opted_out(self, user_key: str, opted_out: bool, now: datetime | None = None) -> None:
        """Opt the user out of every offer, or back in."""
        now = now or utcnow()
        with self.database.write() as conn:
            self._lock_user(conn, user_key, now)
            conn.execute(
                update(users)
                .where(users.c.user_key == user_key)
                .values(opted_out=opted_out, updated_at=now)
            )

    def record_dismissal(self, user_key: str, dismissal: Dismissal) -> None:
        """A "Not now" for the user's latest decision that showed this offer."""
        self._record_on_latest(user_key, dismissal.offer_id, EventKind.DISMISSED, dismissal.at)

    def record_acceptance(self, user_key: str, acceptance: Acceptance) -> None:
        """A yes for the user's latest decision that showed this offer."""
        self._record_on_latest(user_key, acceptance.offer_id, EventKind.ACCEPTED, acceptance.at)

    def _record_on_latest(
        self, user_key: str, offer_id: str, kind: EventKind, at: datetime
    ) -> None:
        """An event for the user's latest decision that showed this offer."""
        with self.database.engine.connect() as conn:
            decision_id = conn.execute(
                select(decisions.c.id)
                .where(decisions.c.user_key == user_key, decisions.c.offer_id == offer_id)
                .order_by(decisions.c.seq.desc())
                .limit(1)
            ).scalar_one_or_none()
        if decision_id is None:
            raise UnknownDecision(f"offer {offer_id!r} was never shown to this user")
        self.outcomes.record_event(decision_id, kind, 0.0, at)
