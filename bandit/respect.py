"""What tactful remembers about each user's experience of offers, and how it is read.

The rules read respect state through :class:`RespectStore`, a small interface:
the in-memory store here serves tests and in-process use; durable stores live
with the service. Users are identified by an opaque key (the service keys it with
an HMAC), never by a raw id.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from features import NO_HISTORY, History, SessionContext
from features.frozen import slot_setters

if TYPE_CHECKING:
    from bandit.decision import Decision

#: Exposures older than this never matter to any cap, so stores may forget them.
EXPOSURE_MEMORY = timedelta(days=7)


@dataclass(frozen=True, slots=True, init=False)
class Exposure:
    """An offer chosen for the user: it counts towards caps from the moment it is decided."""

    offer_id: str
    session_id: str
    at: datetime

    def __init__(self, offer_id: str, session_id: str, at: datetime) -> None:
        # Each field through its slot's own setter (see features.frozen): most decisions
        # record an exposure, and a store keeps them.
        set_offer_id, set_session_id, set_at = _EXPOSURE_SLOTS
        set_offer_id(self, offer_id)
        set_session_id(self, session_id)
        set_at(self, at)


_EXPOSURE_SLOTS = slot_setters(Exposure)


@dataclass(frozen=True)
class Dismissal:
    """A "Not now"."""

    offer_id: str
    at: datetime


@dataclass(frozen=True, slots=True, init=False)
class RespectState:
    """One user's offer history, as the rules need it."""

    opted_out: bool = False
    exposures: tuple[Exposure, ...] = ()
    dismissals: tuple[Dismissal, ...] = ()

    def __init__(
        self,
        opted_out: bool = False,
        exposures: tuple[Exposure, ...] = (),
        dismissals: tuple[Dismissal, ...] = (),
    ) -> None:
        # Set as Exposure's fields are (a new state follows every exposure).
        set_opted_out, set_exposures, set_dismissals = _STATE_SLOTS
        set_opted_out(self, opted_out)
        set_exposures(self, exposures)
        set_dismissals(self, dismissals)

    def dismissals_of(self, offer_id: str) -> list[Dismissal]:
        """This offer's dismissals, oldest first."""
        return sorted((d for d in self.dismissals if d.offer_id == offer_id), key=lambda d: d.at)

    def last_dismissal(self) -> Dismissal | None:
        """The most recent "Not now" of any offer."""
        return max(self.dismissals, key=lambda d: d.at, default=None)

    def exposures_since(self, since: datetime) -> list[Exposure]:
        """Offers chosen for the user at or after ``since``."""
        return [e for e in self.exposures if e.at >= since]

    def history(self, session_id: str, now: datetime) -> History:
        """Summarise the state as features (how the user has experienced offers lately)."""
        if not self.exposures and not self.dismissals:
            return NO_HISTORY  # most decision points: nothing to summarise
        last_offer = max((e.at for e in self.exposures), default=None)
        last_dismissal = self.last_dismissal()
        # Built without re-validation: every value is derived here and in range by construction.
        return History.model_construct(
            seconds_since_last_offer=_seconds(now, last_offer),
            seconds_since_last_dismissal=_seconds(
                now, last_dismissal.at if last_dismissal else None
            ),
            dismissals=len(self.dismissals),
            offers_this_session=sum(1 for e in self.exposures if e.session_id == session_id),
        )


_STATE_SLOTS = slot_setters(RespectState)
_EMPTY = RespectState()


def _seconds(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max((now - then).total_seconds(), 0.0)


class Hold(Protocol):
    """One user's state, held for a read-decide-write cycle that no one else can interleave."""

    @property
    def state(self) -> RespectState:
        """The user's state as of the start of the hold."""
        ...

    def record(
        self,
        decision: Decision,
        session_id: str,
        context: SessionContext,
        at: datetime,
        rule_choice: str | None = None,
    ) -> None:
        """Store the decision (and the exposure it implies) before the hold is released.

        ``rule_choice`` is what the product's own rules would have shown (apprentice mode).
        """
        ...


class RespectStore(Protocol):
    """Where respect state lives. Implementations must make each call atomic.

    :meth:`hold` is what makes caps hold under concurrency: the respect check and
    the write of its outcome happen while the user is held (a lock in memory, a
    row lock inside one transaction in SQL).
    """

    def hold(self, user_key: str, now: datetime) -> AbstractContextManager[Hold]:
        """Hold the user for one decision."""
        ...

    def state(self, user_key: str, now: datetime | None = None) -> RespectState:
        """The user's state as of ``now`` (an empty state for a new user)."""
        ...

    def record_dismissal(self, user_key: str, dismissal: Dismissal) -> None:
        """Remember a "Not now"; it starts the cooldowns."""
        ...

    def set_opted_out(self, user_key: str, opted_out: bool) -> None:
        """Opt the user out of all offers, or back in."""
        ...


class _MemoryHold:
    """The store's lock, held from ``__enter__`` to ``__exit__`` (a class: cheaper than a
    generator-based context manager on every decision)."""

    def __init__(self, store: InMemoryRespectStore, user_key: str) -> None:
        self.store = store
        self.user_key = user_key
        self.state = _EMPTY

    def __enter__(self) -> _MemoryHold:
        self.store._lock.acquire()
        self.state = self.store._states.get(self.user_key, _EMPTY)
        return self

    def __exit__(self, *exc: object) -> None:
        self.store._lock.release()

    def record(
        self,
        decision: Decision,
        session_id: str,
        context: SessionContext,
        at: datetime,
        rule_choice: str | None = None,
    ) -> None:
        if decision.offer_id is not None:
            self.store._record_exposure(self.user_key, Exposure(decision.offer_id, session_id, at))


@dataclass
class InMemoryRespectStore:
    """A thread-safe respect store in a dict, for tests and in-process runs."""

    _states: dict[str, RespectState] = field(default_factory=lambda: defaultdict(RespectState))
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def state(self, user_key: str, now: datetime | None = None) -> RespectState:
        """The user's current state (memory keeps no history beyond what caps need)."""
        with self._lock:
            return self._states.get(user_key, _EMPTY)

    def hold(self, user_key: str, now: datetime) -> _MemoryHold:
        """Hold the whole store (it is in memory; contention is not a concern)."""
        return _MemoryHold(self, user_key)

    def record_exposure(self, user_key: str, exposure: Exposure) -> None:
        """Remember an exposure and forget the ones too old to matter."""
        with self._lock:
            self._record_exposure(user_key, exposure)

    def _record_exposure(self, user_key: str, exposure: Exposure) -> None:
        state = self._states.get(user_key, _EMPTY)
        kept = state.exposures
        if kept:  # most users have none yet: nothing to forget
            horizon = exposure.at - EXPOSURE_MEMORY
            kept = tuple(e for e in kept if e.at >= horizon)
        self._states[user_key] = RespectState(state.opted_out, (*kept, exposure), state.dismissals)

    def record_dismissal(self, user_key: str, dismissal: Dismissal) -> None:
        """Remember a "Not now" (kept for good: it decides when an offer retires)."""
        with self._lock:
            state = self._states[user_key]
            self._states[user_key] = replace(state, dismissals=(*state.dismissals, dismissal))

    def set_opted_out(self, user_key: str, opted_out: bool) -> None:
        """Opt out or back in."""
        with self._lock:
            self._states[user_key] = replace(self._states[user_key], opted_out=opted_out)
