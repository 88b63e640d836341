"""The decision log: every decision in the order it was made, with what happened after.

Decisions are appended by the respect store, inside the transaction that held the user
(see ``respect_store.py``); their windows are closed and rewarded by the outcomes
(``outcomes.py``). This role reads the log: one record, pages for exports and training,
and the learner's exactly-once feed of closed decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, select

from bandit.clock import utcnow
from bandit.decision import Decision, decision_from_record, decision_to_record
from bandit.errors import UnknownDecision
from bandit.reward import EventKind
from bandit.storage.database import Database
from bandit.storage.tables import decisions, events
from features import SessionContext

#: Built once: constructing the statement (and its cache key) on every decision costs
#: more than SQLite's insert.
_APPEND = insert(decisions)
#: Longer than any decision transaction lives; see :meth:`DecisionLog.finished`.
SETTLE = timedelta(seconds=5)


class Status:
    """Where a decision is in its life: its window open, closed with a reward, or not learnable."""

    OPEN = "open"
    JOINED = "joined"
    SKIPPED = "skipped"
    #: Every status but ``OPEN``, named so queries can read ``ix_decisions_status_seq``.
    CLOSED = (JOINED, SKIPPED)


@dataclass(frozen=True)
class EventRecord:
    """One stored event."""

    kind: EventKind
    value: float
    at: datetime
    in_window: bool


@dataclass(frozen=True)
class DecisionRecord:
    """A decision as the log holds it, with what happened after."""

    seq: int
    decision: Decision
    user_key: str
    session_id: str
    placement: str
    context: Mapping[str, Any]
    created_at: datetime
    window_closes_at: datetime
    status: str
    reward: float | None
    events: tuple[EventRecord, ...]
    rule_choice: str | None = None


@dataclass(frozen=True)
class Finished:
    """A decision whose window closed: learn from it if ``reward`` is not ``None``."""

    seq: int
    decision: Decision
    reward: float | None
    kinds: frozenset[EventKind] = frozenset()


def read_record(conn: Connection, row: Row[Any]) -> DecisionRecord:
    """The full record of a ``decisions`` row: the decision and its events, in order."""
    rows = conn.execute(
        select(events).where(events.c.decision_id == row.id).order_by(events.c.seq)
    ).all()
    return DecisionRecord(
        seq=row.seq,
        decision=decision_from_record(row.record),
        user_key=row.user_key,
        session_id=row.session_id,
        placement=row.placement,
        context=row.context,
        created_at=row.created_at,
        window_closes_at=row.window_closes_at,
        status=row.status,
        reward=row.reward,
        events=tuple(
            EventRecord(EventKind(e.kind), e.value, e.created_at, e.in_window) for e in rows
        ),
        rule_choice=row.rule_choice,
    )


class DecisionLog:
    """Reads and appends of the ``decisions`` table, in log (``seq``) order."""

    def __init__(self, database: Database, window: timedelta) -> None:
        self.database = database
        #: How long after a decision its events count towards its reward.
        self.window = window

    def append(
        self,
        conn: Connection,
        decision: Decision,
        user_key: str,
        session_id: str,
        context: SessionContext,
        at: datetime,
        rule_choice: str | None = None,
    ) -> None:
        """Log a decision inside the caller's write transaction, its reward window open.

        The caller's transaction is the one holding the user, so the decision commits,
        or not, with the respect state it was checked against.
        """
        # Parameters, not ``.values()``: values would coerce every JSON leaf into a literal.
        conn.execute(
            _APPEND,
            {
                "id": decision.decision_id,
                "user_key": user_key,
                "session_id": session_id,
                "placement": context.placement,
                "created_at": at,
                "window_closes_at": at + self.window,
                "chosen": decision.chosen,
                "offer_id": decision.offer_id,
                "probability": decision.probability,
                "policy_version": decision.policy_version,
                "record": decision_to_record(decision),
                "context": context.model_dump(mode="json"),
                "status": Status.OPEN,
                "closed_at": None,
                "reward": None,
                "rule_choice": rule_choice,
            },
        )

    def get(self, decision_id: str) -> DecisionRecord:
        """The full record of one decision; :class:`UnknownDecision` if it was never issued."""
        with self.database.engine.connect() as conn:
            row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).first()
            if row is None:
                raise UnknownDecision(decision_id)
            return read_record(conn, row)

    def finished(
        self,
        after_seq: int,
        limit: int = 1000,
        now: datetime | None = None,
        settle: timedelta = SETTLE,
    ) -> list[Finished]:
        """Closed decisions after ``after_seq``, in log order, stopping before any still open.

        Stopping at the first open decision is what makes learning exactly-once with a
        single cursor: nothing behind the cursor can close later. A decision created
        less than ``settle`` ago also stops the scan, because on PostgreSQL a slower
        transaction may still commit a lower ``seq`` than one already visible. Only rows
        after the cursor are looked at (nothing behind it is open, by the rule above), so
        the learner's every-tick call costs the size of its lag, not of the whole log.
        """
        now = now or utcnow()
        with self.database.engine.connect() as conn:
            first_open = conn.execute(
                select(func.min(decisions.c.seq)).where(
                    decisions.c.seq > after_seq,
                    (decisions.c.status == Status.OPEN) | (decisions.c.created_at > now - settle),
                )
            ).scalar_one_or_none()
            conditions = [decisions.c.seq > after_seq]
            if first_open is not None:
                conditions.append(decisions.c.seq < first_open)
            rows = conn.execute(
                select(decisions.c.seq, decisions.c.record, decisions.c.reward)
                .where(and_(*conditions))
                .order_by(decisions.c.seq)
                .limit(limit)
            ).all()
            kinds: dict[int, set[EventKind]] = {}
            if rows:
                found = conn.execute(
                    select(decisions.c.seq, events.c.kind)
                    .join(events, events.c.decision_id == decisions.c.id)
                    .where(
                        decisions.c.seq >= rows[0].seq,
                        decisions.c.seq <= rows[-1].seq,
                        events.c.in_window.is_(True),
                    )
                ).all()
                for seq, kind in found:
                    kinds.setdefault(seq, set()).add(EventKind(kind))
        return [
            Finished(
                r.seq,
                decision_from_record(r.record),
                r.reward,
                frozenset(kinds.get(r.seq, ())),
            )
            for r in rows
        ]

    def records(self, after_seq: int = 0, limit: int = 1000) -> list[DecisionRecord]:
        """Closed decisions with their events, in log order (for exports and training)."""
        with self.database.engine.connect() as conn:
            rows = conn.execute(
                select(decisions)
                .where(decisions.c.seq > after_seq, decisions.c.status != Status.OPEN)
                .order_by(decisions.c.seq)
                .limit(limit)
            ).all()
            return [read_record(conn, row) for row in rows]

    def closed_after(self, seq: int) -> int:
        """How many closed decisions lie after ``seq`` (the learner's lag).

        ``status IN (closed statuses)`` rather than ``!= open``: the index on (status,
        seq) answers it in the size of the lag, where ``!=`` walked every decision after
        ``seq``, open ones included, once a second from the learner.
        """
        with self.database.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(
                        decisions.c.status.in_(Status.CLOSED), decisions.c.seq > seq
                    )
                ).scalar_one()
            )

    def counts(self) -> dict[str, int]:
        """Decisions by status: a one-query view of the log for audits, exports and tests."""
        with self.database.engine.connect() as conn:
            rows = conn.execute(
                select(decisions.c.status, func.count()).group_by(decisions.c.status)
            ).all()
        return {str(status): int(count) for status, count in rows}
