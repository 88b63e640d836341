"""What tactful remembers about each user's experience of offers, and how it is read.

The rules read respect state through :class:`RespectStore`, a small interface:
the in-memory store here serves tests and in-process use; durable stores live
with the service. Users are identified by an opaque key (the service keys it with
an HMAC), never by a raw id.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

from features import NO_HISTORY, History, OfferHistory, SessionContext

if TYPE_CHECKING:
    from bandit.decision import Decision

T = TypeVar("T")

#: Exposures older than this never matter to any cap, so stores may forget them.
EXPOSURE_MEMORY = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Exposure:
    """An offer chosen for the user: it counts towards caps from the moment it is decided."""

    offer_id: str
    session_id: str
    at: datetime


@dataclass(frozen=True)
class Dismissal:
    """A "Not now"."""

    offer_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Acceptance:
    """A yes: the user accepted (or bought) an offer."""

    offer_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Shown:
    """How often an offer was chosen for the user over their whole history, and when last."""

    times: int
    last: datetime


@dataclass(frozen=True, slots=True)
class RespectState:
    """One user's offer history, as the rules and the features need it."""

    opted_out: bool = False
    #: Offers chosen lately (within :data:`EXPOSURE_MEMORY`): what the caps count.
    exposures: tuple[Exposure, ...] = ()
    dismissals: tuple[Dismissal, ...] = ()
    acceptances: tuple[Acceptance, ...] = ()
    #: Per offer id, every time it was chosen for the user, however long ago.
    shown: Mapping[str, Shown] = field(default_factory=dict)

    def dismissals_of(self, offer_id: str) -> list[Dismissal]:
        """This offer's dismissals, oldest first."""
        return sorted((d for d in self.dismissals if d.offer_id == offer_id), key=lambda d: d.at)

    def last_dismissal(self) -> Dismissal | None:
        """The most recent "Not now" of any offer."""
        return max(self.dismissals, key=lambda d: d.at, default=None)

    def exposures_since(self, since: datetime) -> list[Exposure]:
        """Offers chosen for the user at or after ``since``."""
        return [e for e in self.exposures if e.at >= since]

    @property
    def accepted(self) -> frozenset[str]:
        """The offers the user has said yes to."""
        return frozenset(a.offer_id for a in self.acceptances)

    def history(self, session_id: str, now: datetime) -> History:
        """Summarise the state as features (how the user has experienced offers lately)."""
        if not (self.exposures or self.dismissals or self.acceptances or self.shown):
            return NO_HISTORY  # most decision points: nothing to summarise
        # From the all-time totals as well as recent exposures: a store may forget exposures
        # older than EXPOSURE_MEMORY (the SQL one reads only those), and "offered 9 days
        # ago" must not turn into "never offered" there while memory still says 9 days.
        last_offer = max(
            [*(e.at for e in self.exposures), *(s.last for s in self.shown.values())],
            default=None,
        )
        last_dismissal = self.last_dismissal()
        # Built without re-validation: every value is derived here and in range by construction.
        return History.model_construct(
            seconds_since_last_offer=_seconds(now, last_offer),
            seconds_since_last_dismissal=_seconds(
                now, last_dismissal.at if last_dismissal else None
            ),
            dismissals=len(self.dismissals),
            offers_this_session=sum(1 for e in self.exposures if e.session_id == session_id),
            offers=self.offer_histories(now),
        )

    def offer_histories(self, now: datetime) -> dict[str, OfferHistory]:
        """Each offer the user has any history with: shown, dismissed, accepted, how long ago."""
        dismissed = Counter(d.offer_id for d in self.dismissals)
        accepted = self.accepted
        histories = {}
        for offer_id in sorted(set(self.shown) | set(dismissed) | accepted):
            shown = self.shown.get(offer_id)
            histories[offer_id] = OfferHistory.model_construct(
                shown=shown.times if shown else 0,
                dismissed=dismissed[offer_id],
                accepted=offer_id in accepted,
                seconds_since_shown=_seconds(now, shown.last) if shown else None,
            )
        return histories


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

    :meth:`while_held` is what makes caps hold under concurrency: the respect check and
    the write of its outcome happen while the user is held (a lock in memory, a
    row lock inside one transaction in SQL).
    """

    def while_held(self, user_key: str, now: datetime, work: Callable[[Hold], T]) -> T:
        """Run ``work`` with the user held; what it records is stored when this returns.

        A callable rather than a ``with`` block, so a store may run it where its writes
        are cheapest (the SQL store's group writer thread) and answer after the commit.
        """
        ...

    def state(self, user_key: str, now: datetime | None = None) -> RespectState:
        """The user's state as of ``now`` (an empty state for a new user)."""
        ...

    def record_dismissal(self, user_key: str, dismissal: Dismissal) -> None:
        """Remember a "Not now"; it starts the cooldowns."""
        ...

    def record_acceptance(self, user_key: str, acceptance: Acceptance) -> None:
        """Remember a yes: the offer is not offered again unless it is repeatable."""
        ...

    def set_opted_out(self, user_key: str, opted_out: bool) -> None:
        """Opt the user out of all offers, or back in."""
        ...


class _MemoryHold:
    """One user's state while the store's lock is held (see ``while_held``)."""

    def __init__(self, store: InMemoryRespectStore, user_key: str) -> None:
        self.store = store
        self.user_key = user_key
        self.state = store._states.get(user_key, _EMPTY)

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

    def while_held(self, user_key: str, now: datetime, work: Callable[[Hold], T]) -> T:
        """Run ``work`` holding the whole store (it is in memory; contention is no concern)."""
        with self._lock:
            return work(_MemoryHold(self, user_key))

    def record_exposure(self, user_key: str, exposure: Exposure) -> None:
        """Remember an exposure and forget the ones too old to matter."""
        with self._lock:
            self._record_exposure(user_key, exposure)

    def _record_exposure(self, user_key: str, exposure: Exposure) -> None:
        state = self._states.get(user_key, _EMPTY)
        horizon = exposure.at - EXPOSURE_MEMORY
        kept = tuple(e for e in state.exposures if e.at >= horizon)
        before = state.shown.get(exposure.offer_id)
        shown = {
            **state.shown,
            exposure.offer_id: Shown((before.times if before else 0) + 1, exposure.at),
        }
        self._states[user_key] = replace(state, exposures=(*kept, exposure), shown=shown)

    def record_acceptance(self, user_key: str, acceptance: Acceptance) -> None:
        """Remember a yes (kept for good: the offer is not offered again)."""
        with self._lock:
            state = self._states[user_key]
            self._states[user_key] = replace(state, acceptances=(*state.acceptances, acceptance))

    def record_dismissal(self, user_key: str, dismissal: Dismissal) -> None:
        """Remember a "Not now" (kept for good: it decides when an offer retires)."""
        with self._lock:
            state = self._states[user_key]
            self._states[user_key] = replace(state, dismissals=(*state.dismissals, dismissal))

    def set_opted_out(self, user_key: str, opted_out: bool) -> None:
        """Opt out or back in."""
        with self._lock:
            self._states[user_key] = replace(self._states[user_key], opted_out=opted_out)
