"""The durable store: decision log, events, rewards, respect state, checkpoints, leases.

The same code runs on SQLite (embedded default) and PostgreSQL (several replicas).
A decision is written in the same transaction that read the user's respect state,
with the user held (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on
PostgreSQL), so concurrent decisions for one user cannot both pass a cap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from bandit.clock import utcnow
from bandit.config import RewardMapping
from bandit.decision import Decision, decision_from_record, decision_to_record
from bandit.errors import ContradictoryEvent, UnknownDecision
from bandit.respect import (
    EXPOSURE_MEMORY,
    Acceptance,
    Dismissal,
    Exposure,
    RespectState,
    Shown,
)
from bandit.reward import EventKind, reward_of
from bandit.storage.engine import (
    BACKGROUND_WAL_AUTOCHECKPOINT,
    WRITE,
    PoolSettings,
    WalCheckpointer,
    WriterTurns,
    is_sqlite_file,
    make_engine,
    migrate,
)
from bandit.storage.tables import (
    DATABASE_ID,
    checkpoints,
    decisions,
    events,
    leases,
    store_metadata,
    users,
)
from features import SessionContext

#: Events that only make sense when an offer was shown.
OFFER_EVENTS = frozenset(
    {EventKind.SHOWN, EventKind.ACCEPTED, EventKind.DISMISSED, EventKind.CONVERTED}
)
#: Longer than any decision transaction lives; see :meth:`SqlStore.finished`.
SETTLE = timedelta(seconds=5)
#: Pairs of events that cannot both be true of one decision.
CONTRADICTIONS = {EventKind.ACCEPTED: EventKind.DISMISSED, EventKind.DISMISSED: EventKind.ACCEPTED}


#: The respect-state reads on the decision path, built once (see ``_lock_user_statement``).
#: Each row is (kind, offer id, session id, time, count); the kinds:
_EXPOSURE, _DISMISSAL, _SHOWN, _ACCEPTANCE = 0, 1, 2, 3
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
            events.c.kind.in_([k.value for k in kinds]),
        )
    )


#: All in one round trip: a statement costs more in the driver and SQLAlchemy than in the
#: database here.
_RESPECT_ROWS = union_all(
    _EXPOSURES,
    _SHOWN_TOTALS,
    _events_of(_DISMISSAL, EventKind.DISMISSED),
    _events_of(_ACCEPTANCE, EventKind.ACCEPTED, EventKind.CONVERTED),
)


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
class EventOutcome:
    """The result of posting an event: the event, whether it was a retry, and its decision."""

    event: EventRecord
    duplicate: bool
    record: DecisionRecord


@dataclass(frozen=True)
class Finished:
    """A decision whose window closed: learn from it if ``reward`` is not ``None``."""

    seq: int
    decision: Decision
    reward: float | None
    kinds: frozenset[EventKind] = frozenset()


@dataclass(frozen=True)
class Checkpoint:
    """A saved model with the log position it has learned up to."""

    id: int
    version: str
    last_seq: int
    checksum: str
    data: bytes
    created_at: datetime


def checksum(data: bytes) -> str:
    """The checksum stored with every checkpoint."""
    return hashlib.sha256(data).hexdigest()


class _SqlHold:
    """A user held inside an open write transaction."""

    def __init__(self, store: SqlStore, conn: Connection, user_key: str, state: RespectState):
        self._store = store
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
        # Parameters, not ``.values()``: values would coerce every JSON leaf into a literal.
        self._conn.execute(
            insert(decisions),
            {
                "id": decision.decision_id,
                "user_key": self._user_key,
                "session_id": session_id,
                "placement": context.placement,
                "created_at": at,
                "window_closes_at": at + self._store.window,
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


class SqlStore:
    """The durable store over one SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(
        self,
        url: str,
        reward: RewardMapping,
        *,
        run_migrations: bool = True,
        background_checkpoints: bool = False,
        pool: PoolSettings | None = None,
    ) -> None:
        """Open (and by default migrate) the database at ``url``.

        ``pool`` bounds a PostgreSQL engine's connections and waits: a server passes the
        one its ``Settings`` describe; one-off commands keep
        :data:`~bandit.storage.engine.TOOL_POOL`.

        ``background_checkpoints`` is for long-running servers: on a SQLite file, a
        :class:`~bandit.storage.engine.WalCheckpointer` thread checkpoints the WAL so
        that decisions do not (stopped by :meth:`close`). Elsewhere it changes nothing.
        """
        self.url = url
        self.reward = reward
        self.checkpointer: WalCheckpointer | None = None
        autocheckpoint = BACKGROUND_WAL_AUTOCHECKPOINT if background_checkpoints else None
        self.engine: Engine = make_engine(url, wal_autocheckpoint=autocheckpoint, pool=pool)
        self._writers = WriterTurns(self.engine)
        if run_migrations:
            migrate(self.engine)
        if background_checkpoints and is_sqlite_file(self.engine):
            self.checkpointer = WalCheckpointer(self.engine)
            self.checkpointer.start()

    @property
    def window(self) -> timedelta:
        """How long after a decision its events count towards its reward."""
        return timedelta(seconds=self.reward.window_seconds)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Stop background checkpoints, if any, and release every pooled connection."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()

    @cached_property
    def database_id(self) -> str:
        """This database's identity: a random id its migration made once, never changed.

        Log positions (decision seqs) mean something only in the log they came from, so
        a model's cursor is recorded with this id and adopted only where it matches.
        """
        with self.engine.connect() as conn:
            value = conn.execute(
                select(store_metadata.c.value).where(store_metadata.c.name == DATABASE_ID)
            ).scalar_one_or_none()
        if value is None:
            raise RuntimeError("the database has no identity: it was not migrated to the head")
        return str(value)

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with (
            self._writers.turn(),
            self.engine.connect().execution_options(**{WRITE: True}) as conn,
            conn.begin(),
        ):
            yield conn

    def _insert(self, table: Any) -> Any:
        return (pg_insert if self.dialect == "postgresql" else sqlite_insert)(table)

    @cached_property
    def _lock_user_statement(self) -> Any:
        """Upsert-and-return in one statement: the row exists, is locked, and says opt-out.

        Touching the row with ``DO UPDATE`` (not ``DO NOTHING``) is what takes PostgreSQL's
        row lock; SQLite already holds its write lock from ``BEGIN IMMEDIATE``. Built
        once: statement construction costs more than its execution on this path.
        """
        statement = self._insert(users).values(
            user_key=bindparam("user_key"), opted_out=False, updated_at=bindparam("now")
        )
        return statement.on_conflict_do_update(
            index_elements=["user_key"], set_={"user_key": statement.excluded.user_key}
        ).returning(users.c.opted_out)

    def _lock_user(self, conn: Connection, user_key: str, now: datetime) -> bool:
        """Make sure the user row exists and lock it; return the opt-out flag."""
        row = conn.execute(self._lock_user_statement, {"user_key": user_key, "now": now})
        return bool(row.scalar_one())

    def _state(
        self, conn: Connection, user_key: str, now: datetime, opted_out: bool
    ) -> RespectState:
        params = {"user_key": user_key, "since": now - EXPOSURE_MEMORY}
        exposures: list[Exposure] = []
        dismissals: list[Dismissal] = []
        acceptances: dict[str, Acceptance] = {}
        shown: dict[str, Shown] = {}
        for kind, offer_id, session_id, at, count in conn.execute(_RESPECT_ROWS, params):
            if kind == _EXPOSURE:
                exposures.append(Exposure(offer_id, session_id, at))
            elif kind == _DISMISSAL:
                dismissals.append(Dismissal(offer_id, at))
            elif kind == _SHOWN:
                shown[offer_id] = Shown(int(count), at)
            elif offer_id not in acceptances or at < acceptances[offer_id].at:
                acceptances[offer_id] = Acceptance(offer_id, at)  # the first yes
        return RespectState(
            opted_out, tuple(exposures), tuple(dismissals), tuple(acceptances.values()), shown
        )

    # -- respect store --------------------------------------------------------------------

    @contextmanager
    def hold(self, user_key: str, now: datetime) -> Iterator[_SqlHold]:
        """Hold the user for one decision; the decision commits when the block ends."""
        with self._write() as conn:
            opted_out = self._lock_user(conn, user_key, now)
            yield _SqlHold(self, conn, user_key, self._state(conn, user_key, now, opted_out))

    def state(self, user_key: str, now: datetime | None = None) -> RespectState:
        """The user's respect state as the rules see it."""
        now = now or utcnow()
        with self.engine.connect() as conn:
            opted_out = conn.execute(
                select(users.c.opted_out).where(users.c.user_key == user_key)
            ).scalar_one_or_none()
            return self._state(conn, user_key, now, bool(opted_out))

    def set_opted_out(self, user_key: str, opted_out: bool, now: datetime | None = None) -> None:
        """Opt the user out of every offer, or back in."""
        now = now or utcnow()
        with self._write() as conn:
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
        with self.engine.connect() as conn:
            decision_id = conn.execute(
                select(decisions.c.id)
                .where(decisions.c.user_key == user_key, decisions.c.offer_id == offer_id)
                .order_by(decisions.c.seq.desc())
                .limit(1)
            ).scalar_one_or_none()
        if decision_id is None:
            raise UnknownDecision(f"offer {offer_id!r} was never shown to this user")
        self.record_event(decision_id, kind, 0.0, at)

    # -- decision log -----------------------------------------------------------------------

    def _record(self, conn: Connection, row: Row[Any]) -> DecisionRecord:
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

    def get(self, decision_id: str) -> DecisionRecord:
        """The full record of one decision; :class:`UnknownDecision` if it was never issued."""
        with self.engine.connect() as conn:
            row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).first()
            if row is None:
                raise UnknownDecision(decision_id)
            return self._record(conn, row)

    def record_event(
        self, decision_id: str, kind: EventKind, value: float = 0.0, now: datetime | None = None
    ) -> EventOutcome:
        """Store what happened after a decision, exactly once per kind.

        Raises :class:`UnknownDecision` for an id the server never issued and
        :class:`ContradictoryEvent` when the event contradicts the record. An
        ``opted_out`` event also opts the user out.
        """
        now = now or utcnow()
        with self._write() as conn:
            query = select(decisions).where(decisions.c.id == decision_id)
            if self.dialect == "postgresql":
                # Serialise events of one decision: the check-then-insert below must not race.
                query = query.with_for_update()
            row = conn.execute(query).first()
            if row is None:
                raise UnknownDecision(decision_id)
            if kind in OFFER_EVENTS and row.offer_id is None:
                raise ContradictoryEvent(f"{kind.value!r} cannot follow a no-offer decision")
            kinds = set(
                conn.execute(
                    select(events.c.kind).where(events.c.decision_id == decision_id)
                ).scalars()
            )
            opposite = CONTRADICTIONS.get(kind)
            if opposite is not None and opposite.value in kinds:
                raise ContradictoryEvent(
                    f"{kind.value!r} contradicts the {opposite.value!r} already recorded"
                )
            duplicate = kind.value in kinds
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
            record = self._record(conn, row)
        event = next(e for e in record.events if e.kind is kind)
        return EventOutcome(event=event, duplicate=duplicate, record=record)

    def _join(self, row: Row[Any], found: Sequence[Row[Any]]) -> tuple[str, float | None]:
        """Reward of a closing decision from its in-window events (server times only)."""
        kinds = {EventKind(e.kind) for e in found}
        if row.offer_id is not None and not kinds & OFFER_EVENTS:
            return Status.SKIPPED, None  # never shown: a default reward would teach a lie
        ordered = [(EventKind(e.kind), e.value) for e in sorted(found, key=lambda e: e.seq)]
        return Status.JOINED, reward_of(ordered, self.reward)

    def close_windows(self, now: datetime | None = None, *, force: bool = False) -> int:
        """Close every due window (all open ones with ``force``) and join their rewards.

        A read first: the learner calls this every tick, and taking the write lock when
        nothing is due would make decisions wait for it (SQLite has one writer). The read
        is one probe of ``ix_decisions_status_closes``, whatever the number of open windows.
        """
        now = now or utcnow()
        due = select(decisions.c.seq).where(decisions.c.status == Status.OPEN)
        if not force:
            due = due.where(decisions.c.window_closes_at <= now)
        with self.engine.connect() as conn:
            if conn.execute(due.limit(1)).first() is None:
                return 0
        closed = 0
        while True:
            with self._write() as conn:
                query = select(decisions).where(decisions.c.status == Status.OPEN)
                if not force:
                    query = query.where(decisions.c.window_closes_at <= now)
                batch = conn.execute(query.order_by(decisions.c.seq).limit(500)).all()
                for row in batch:
                    closes = min(row.window_closes_at, now)
                    found = conn.execute(
                        select(events).where(
                            events.c.decision_id == row.id, events.c.created_at <= closes
                        )
                    ).all()
                    status, reward = self._join(row, found)
                    conn.execute(
                        update(decisions)
                        .where(decisions.c.seq == row.seq)
                        .values(
                            status=status, reward=reward, closed_at=now, window_closes_at=closes
                        )
                    )
                    if force:
                        conn.execute(
                            update(events)
                            .where(events.c.decision_id == row.id, events.c.created_at > closes)
                            .values(in_window=False)
                        )
            closed += len(batch)
            if len(batch) < 500:
                return closed

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
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(decisions)
                .where(decisions.c.seq > after_seq, decisions.c.status != Status.OPEN)
                .order_by(decisions.c.seq)
                .limit(limit)
            ).all()
            return [self._record(conn, row) for row in rows]

    def closed_after(self, seq: int) -> int:
        """How many closed decisions lie after ``seq`` (the learner's lag).

        ``status IN (closed statuses)`` rather than ``!= open``: the index on (status,
        seq) answers it in the size of the lag, where ``!=`` walked every decision after
        ``seq``, open ones included, once a second from the learner.
        """
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(
                        decisions.c.status.in_(Status.CLOSED), decisions.c.seq > seq
                    )
                ).scalar_one()
            )

    def counts(self) -> dict[str, int]:
        """Decisions by status: a one-query view of the log for audits, exports and tests."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(decisions.c.status, func.count()).group_by(decisions.c.status)
            ).all()
        return {str(status): int(count) for status, count in rows}

    # -- checkpoints and the learner lease ----------------------------------------------------

    def save_checkpoint(
        self, version: str, last_seq: int, data: bytes, now: datetime | None = None
    ) -> Checkpoint:
        """Store a model with the log position it has learned up to."""
        now = now or utcnow()
        digest = checksum(data)
        with self._write() as conn:
            new_id = conn.execute(
                insert(checkpoints)
                .values(
                    version=version, created_at=now, last_seq=last_seq, checksum=digest, data=data
                )
                .returning(checkpoints.c.id)
            ).scalar_one()
        return Checkpoint(int(new_id), version, last_seq, digest, data, now)

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest checkpoint, or ``None`` before the first one."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(checkpoints).order_by(checkpoints.c.id.desc()).limit(1)
            ).first()
        if row is None:
            return None
        return Checkpoint(
            row.id, row.version, row.last_seq, row.checksum, bytes(row.data), row.created_at
        )

    def try_lease(
        self, name: str, holder: str, ttl: timedelta, now: datetime | None = None
    ) -> bool:
        """Take or renew a named lease; ``False`` while another live holder has it."""
        now = now or utcnow()
        with self._write() as conn:
            query = select(leases).where(leases.c.name == name)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(leases).values(name=name, holder=holder, expires_at=now + ttl)
                        )
                except IntegrityError:
                    return False
                return True
            if row.holder != holder and row.expires_at > now:
                return False
            conn.execute(
                update(leases)
                .where(leases.c.name == name)
                .values(holder=holder, expires_at=now + ttl)
            )
            return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give a lease up early (on clean shutdown) so another process can take over now."""
        with self._write() as conn:
            conn.execute(leases.delete().where(leases.c.name == name, leases.c.holder == holder))
