"""Audits of a stored decision log: respect rules and logged propensities, re-checked.

The service applies the respect rules before the policy chooses, inside the user's
hold. These functions re-derive every rule from the log alone (decisions in ``seq``
order, events with their server times, the context each decision was made in), so
a rule broken by a lost lock, a restart or a race shows up as a named violation.
They are pure over small records, so a hand-made log can pin each rule in a unit
test; :func:`read_log` is the one function that touches a store.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bandit.catalog import NO_OFFER
from bandit.config import TactfulConfig
from bandit.storage import SqlStore
from bandit.storage.tables import decisions as decisions_table
from bandit.storage.tables import events as events_table

#: How far a logged pmf may be from summing to 1 (they are renormalised float64 arrays).
PMF_SUM_TOLERANCE = 1e-9


@dataclass(frozen=True)
class LoggedDecision:
    """What the audit needs of one stored decision."""

    seq: int
    decision_id: str
    user_key: str
    session_id: str
    at: datetime
    offer_id: str | None
    focus_heavy: bool
    chosen: str = NO_OFFER
    probability: float = 1.0
    pmf: Mapping[str, float] = field(default_factory=lambda: {NO_OFFER: 1.0})
    eligible: tuple[str, ...] = (NO_OFFER,)
    policy_version: str = ""


@dataclass(frozen=True)
class LoggedEvent:
    """One stored event, with the server time it was recorded at."""

    decision_id: str
    user_key: str
    kind: str
    at: datetime


@dataclass(frozen=True)
class Violation:
    """One broken rule: which, for whom, at which decision, and a sentence for people."""

    code: str
    user_key: str
    decision_id: str
    detail: str


@dataclass(frozen=True)
class Rules:
    """The respect rules the audit re-applies, and each offer's interruptiveness level."""

    max_per_session: int
    max_per_day: int
    max_per_week: int
    retire_after_dismissals: int
    global_cooldown: timedelta
    focus_max_level: int
    levels: Mapping[str, int]
    offer_cooldown_hours: float = 72.0
    cooldown_escalation: float = 2.0

    def offer_cooldown(self, dismissals: int) -> timedelta:
        """The rest after the n-th dismissal of one offer (the config's escalation)."""
        hours = self.offer_cooldown_hours * self.cooldown_escalation ** max(dismissals - 1, 0)
        return timedelta(hours=min(hours, 24.0 * 365 * 100))

    @classmethod
    def of(cls, config: TactfulConfig) -> Rules:
        """The rules of a deployment's config."""
        rules = config.rules
        catalog = config.catalog()
        return cls(
            max_per_session=rules.max_per_session,
            max_per_day=rules.max_per_day,
            max_per_week=rules.max_per_week,
            retire_after_dismissals=rules.retire_after_dismissals,
            global_cooldown=rules.global_cooldown,
            focus_max_level=rules.focus_max_level,
            levels={offer.id: catalog.level(offer) for offer in catalog},
            offer_cooldown_hours=rules.offer_cooldown_hours,
            cooldown_escalation=rules.cooldown_escalation,
        )


def respect_violations(
    decisions: Iterable[LoggedDecision], events: Iterable[LoggedEvent], rules: Rules
) -> list[Violation]:
    """Every offer in the log that the respect rules should have removed.

    Offers are taken per user in ``seq`` order (the order the user's holds were
    granted), so a cap is checked against the offers committed before it. Dismissals
    and opt-outs count from their server time. An opt-out is treated as final: the
    event log does not record opting back in, and the load never does.
    """
    by_user: dict[str, list[LoggedDecision]] = defaultdict(list)
    offer_of: dict[str, str | None] = {}
    for decision in decisions:
        by_user[decision.user_key].append(decision)
        offer_of[decision.decision_id] = decision.offer_id
    dismissals: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    opt_outs: dict[str, list[datetime]] = defaultdict(list)
    for event in events:
        if event.kind == "dismissed":
            offer = offer_of.get(event.decision_id)
            if offer is not None:
                dismissals[event.user_key].append((event.at, offer))
        elif event.kind == "opted_out":
            opt_outs[event.user_key].append(event.at)
    found: list[Violation] = []
    for user, logged in by_user.items():
        offers = sorted((d for d in logged if d.offer_id is not None), key=lambda d: d.seq)
        found.extend(_user_violations(user, offers, dismissals[user], opt_outs[user], rules))
    return found


def _user_violations(
    user: str,
    offers: Sequence[LoggedDecision],
    dismissals: Sequence[tuple[datetime, str]],
    opt_outs: Sequence[datetime],
    rules: Rules,
) -> list[Violation]:
    found: list[Violation] = []
    earlier: list[LoggedDecision] = []

    def add(code: str, decision: LoggedDecision, detail: str) -> None:
        found.append(Violation(code, user, decision.decision_id, detail))

    for d in offers:
        offer = d.offer_id
        assert offer is not None
        if any(at < d.at for at in opt_outs):
            add("opted_out", d, f"{offer} offered after the user opted out")
        before = sorted((at, o) for at, o in dismissals if at < d.at)
        mine = [at for at, o in before if o == offer]
        if len(mine) >= rules.retire_after_dismissals:
            add("retired", d, f"{offer} offered after {len(mine)} dismissals")
        elif mine and d.at < mine[-1] + rules.offer_cooldown(len(mine)):
            add("offer_cooldown", d, f"{offer} offered within its cooldown after 'Not now'")
        if before and d.at < before[-1][0] + rules.global_cooldown:
            add("global_cooldown", d, "an offer within the quiet time after a dismissal")
        in_session = [e for e in earlier if e.session_id == d.session_id]
        if any(e.offer_id == offer for e in in_session):
            add("repeat_in_session", d, f"{offer} offered twice in session {d.session_id}")
        if len(in_session) >= rules.max_per_session:
            add("session_cap", d, f"offer {len(in_session) + 1} in one session")
        day = [e for e in earlier if e.at >= d.at - timedelta(days=1)]
        if len(day) >= rules.max_per_day:
            add("daily_cap", d, f"offer {len(day) + 1} within a day")
        week = [e for e in earlier if e.at >= d.at - timedelta(days=7)]
        if len(week) >= rules.max_per_week:
            add("weekly_cap", d, f"offer {len(week) + 1} within a week")
        if d.focus_heavy and rules.levels.get(offer, 0) > rules.focus_max_level:
            add("interrupts_focus", d, f"{offer} (level {rules.levels[offer]}) during focus")
        earlier.append(d)
    return found


def propensity_problems(decisions: Iterable[LoggedDecision]) -> list[str]:
    """Logged propensities off-policy evaluation could not trust, one sentence each.

    Each decision's pmf must cover exactly its eligible set with ``no_offer`` in it,
    sum to 1, give the chosen action a positive probability, and that probability
    must be the one logged beside it.
    """
    problems: list[str] = []
    for d in decisions:
        pmf = d.pmf
        where = f"decision {d.decision_id}"
        if NO_OFFER not in pmf:
            problems.append(f"{where}: no_offer missing from the pmf")
        if tuple(pmf) != tuple(d.eligible):
            problems.append(f"{where}: pmf keys {list(pmf)} != eligible {list(d.eligible)}")
        if d.chosen not in pmf:
            problems.append(f"{where}: chosen {d.chosen} not in the pmf")
        elif not math.isclose(pmf[d.chosen], d.probability, rel_tol=0.0, abs_tol=1e-12):
            problems.append(f"{where}: probability {d.probability} != pmf[chosen]")
        if not d.probability > 0.0:
            problems.append(f"{where}: probability {d.probability} is not positive")
        if any(not (math.isfinite(p) and p >= 0.0) for p in pmf.values()):
            problems.append(f"{where}: pmf has a negative or non-finite entry")
        total = math.fsum(pmf.values())
        if abs(total - 1.0) > PMF_SUM_TOLERANCE:
            problems.append(f"{where}: pmf sums to {total!r}")
    return problems


def _decision_of(row: Any) -> LoggedDecision:
    record: Mapping[str, Any] = row.record
    context: Mapping[str, Any] = row.context or {}
    activity: Mapping[str, Any] = context.get("activity") or {}
    return LoggedDecision(
        seq=int(row.seq),
        decision_id=str(row.id),
        user_key=str(row.user_key),
        session_id=str(row.session_id),
        at=row.created_at,
        offer_id=row.offer_id,
        focus_heavy=bool(activity.get("focus_heavy", False)),
        chosen=str(row.chosen),
        probability=float(row.probability),
        pmf={str(k): float(v) for k, v in record["pmf"].items()},
        eligible=tuple(record["explanation"]["eligible"]),
        policy_version=str(row.policy_version),
    )


def read_log(store: SqlStore) -> tuple[list[LoggedDecision], list[LoggedEvent]]:
    """Every decision (in ``seq`` order) and every event of a store, straight from its tables."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(decisions_table).order_by(decisions_table.c.seq)).all()
        found = conn.execute(select(events_table).order_by(events_table.c.seq)).all()
    logged = [_decision_of(row) for row in rows]
    events = [LoggedEvent(e.decision_id, e.user_key, e.kind, e.created_at) for e in found]
    return logged, events
