"""Outcomes: the events that follow a decision, and the closing of its reward window.

Which events a decision takes, and what a closed window earns, are pure rules in
``bandit/reward.py``; this role applies them in transactions, so that concurrent posts
of one decision's events and a learner closing its window agree on what was recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from bandit.clock import utcnow
from bandit.config import RewardMapping
from bandit.errors import UnknownDecision
from bandit.reward import EventKind, admit_event, window_reward
from bandit.storage.database import Database
from bandit.storage.decision_log import DecisionRecord, EventRecord, Status, read_record
from bandit.storage.tables import decisions, events, users

#: Due windows closed per write transaction: short turns, so decisions are not held up.
CLOSE_BATCH = 500


@dataclass(frozen=True)
class EventOutcome:
    """The result of posting an event: the event, whether it was a retry, and its decision."""

    event: EventRecord
    duplicate: bool
    record: DecisionRecord


class Outcomes:
    """Events posted against logged decisions, and the rewards joined from them."""

    def __init__(self, database: Database, reward: RewardMapping) -> None:
        self.database = database
        self.reward = reward

    def record_event(
        self, decision_id: str, kind: EventKind, value: float = 0.0, now: datetime | None = None
    ) -> EventOutcome:
        """Store what happened after a decision, exactly once per kind.

        Raises :class:`UnknownDecision` for an id the server never issued and
        :class:`ContradictoryEvent` when the event contradicts the record. An
        ``opted_out`` event also opts the user out.
        """
        now = now or utcnow()

        def store(conn: Connection) -> tuple[bool, DecisionRecord]:
            query = select(decisions).where(decisions.c.id == decision_id)
            if self.database.dialect == "postgresql":
                # Serialise events of one decision: the check-then-insert below must not race.
                query = query.with_for_update()
            row = conn.execute(query).first()
            if row is None:
                raise UnknownDecision(decision_id)
            recorded = {
                EventKind(k)
                for k in conn.execute(
                    select(events.c.kind).where(events.c.decision_id == decision_id)
                ).scalars()
            }
            duplicate = not admit_event(kind, offered=row.offer_id is not None, recorded=recorded)
            if not duplicate:
                conn.execute(
                    insert(events).values(
                        decision_id=decision_id,
                        user_key=row.user_key,
                        kind=kind.value,
                        value=value,
                        created_at=now,
                        in_window=now <= row.window_closes_at,
                    )
                )
                if kind is EventKind.OPTED_OUT:
                    conn.execute(
                        update(users)
                        .where(users.c.user_key == row.user_key)
                        .values(opted_out=True, updated_at=now)
                    )
            return duplicate, read_record(conn, row)

        # Through the database's grouped writes on a SQLite server: events then take their
        # turn with decisions in arrival order and share their commits.
        duplicate, record = self.database.run_write(store)
        event = next(e for e in record.events if e.kind is kind)
        return EventOutcome(event=event, duplicate=duplicate, record=record)

    def close_windows(self, now: datetime | None = None, *, force: bool = False) -> int:
        """Close every due window (all open ones with ``force``) and join their rewards.

        A read first: the learner calls this every tick, and taking the write lock when
        nothing is due would make decisions wait for it (SQLite has one writer). The read
        is one probe of ``ix_decisions_status_closes``, whatever the number of open windows.
        A forced close ends each open window now (or at its end, if sooner); events stored
        after that stay stored, counted out of the window.
        """
        now = now or utcnow()
        due = select(decisions.c.seq).where(decisions.c.status == Status.OPEN)
        if not force:
            due = due.where(decisions.c.window_closes_at <= now)
        with self.database.engine.connect() as conn:
            if conn.execute(due.limit(1)).first() is None:
                return 0
        closed = 0
        while True:
            with self.database.write() as conn:
                query = select(decisions).where(decisions.c.status == Status.OPEN)
                if not force:
                    query = query.where(decisions.c.window_closes_at <= now)
                batch = conn.execute(query.order_by(decisions.c.seq).limit(CLOSE_BATCH)).all()
                for row in batch:
                    closes = min(row.window_closes_at, now)
                    found = conn.execute(
                        select(events).where(
                            events.c.decision_id == row.id, events.c.created_at <= closes
                        )
                    ).all()
                    # Server times only, in the order the events were stored.
                    ordered = [
                        (EventKind(e.kind), e.value) for e in sorted(found, key=lambda e: e.seq)
                    ]
                    reward = window_reward(ordered, self.reward, offered=row.offer_id is not None)
                    conn.execute(
                        update(decisions)
                        .where(decisions.c.seq == row.seq)
                        .values(
                            status=Status.SKIPPED if reward is None else Status.JOINED,
                            reward=reward,
                            closed_at=now,
                            window_closes_at=closes,
                        )
                    )
                    if force:
                        conn.execute(
                            update(events)
                            .where(events.c.decision_id == row.id, events.c.created_at > closes)
                            .values(in_window=False)
                        )
            closed += len(batch)
            if len(batch) < CLOSE_BATCH:
                return closed
