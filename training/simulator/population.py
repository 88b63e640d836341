"""Simulated users, their sessions, and how they truly respond to offers.

Users have hidden needs (more storage, automation, a team); their sessions are
realistic sequences (tasks started and completed, limits hit, repeated actions,
uploads, solo successes) that reveal those needs through behavioural signals. How
a user answers an offer depends on fit, moment, format and history, through the
effect sizes in :mod:`training.simulator.effects`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from bandit import Offer
from bandit.catalog import Ambition
from features import SessionContext
from training.simulator.effects import Effects

#: The intents each hidden need shows up as.
NEED_INTENTS: dict[str, frozenset[str]] = {
    "storage": frozenset({"limit_reached", "limit_reached:storage", "upload_completed"}),
    "automation": frozenset({"repeated_action"}),
    "team": frozenset({"solo_success"}),
}
#: The offer a product's plan field reports when the user has bought it.
PLAN_OFFER = "pro_plan"


@dataclass
class SimUser:
    """One simulated user: hidden needs and what offers have done to them so far."""

    user_id: str
    needs: frozenset[str]
    #: Position in the population: the key of this user's random draws.
    index: int = 0
    #: The day the user signs up.
    arrives: int = 0
    annoyance: float = 0.0
    storage_usage: float = 0.5
    opted_out: bool = False
    churned: bool = False
    shown: dict[str, int] = field(default_factory=dict)
    dismissed_at: dict[str, datetime] = field(default_factory=dict)
    respected_noes: set[str] = field(default_factory=set)
    owned: set[str] = field(default_factory=set)

    def fits(self, offer: Offer) -> bool:
        """Whether the offer serves a need the user really has (a plan change fits power users)."""
        if offer.ambition is Ambition.PLAN_CHANGE:
            return len(self.needs) >= 2
        return any(NEED_INTENTS[n] & set(offer.intents) for n in self.needs)

    def account(self) -> dict[str, object]:
        """The account as the product reports it: its plan and the add-ons it has bought."""
        return {
            "plan": "pro" if PLAN_OFFER in self.owned else "free",
            "add_ons": sorted(self.owned),
        }


@dataclass(frozen=True)
class Moment:
    """A decision point in a session: the context the client sends, and a label."""

    context: SessionContext
    label: str


def population(
    n_users: int, effects: Effects, rng: np.random.Generator, arrival_days: int = 0
) -> list[SimUser]:
    """Users whose needs are drawn independently, each with ``effects.need_share``.

    With ``arrival_days`` they sign up steadily over that many days instead of all on day 0.
    """
    users = []
    for index in range(n_users):
        needs = frozenset(n for n in NEED_INTENTS if rng.random() < effects.need_share)
        users.append(
            SimUser(
                f"sim-{index:05d}",
                needs,
                index=index,
                arrives=index * arrival_days // n_users if arrival_days else 0,
                storage_usage=float(rng.uniform(0.3, 0.9)),
            )
        )
    return users


def _ctx(
    user: SimUser, placement: str, signals: list[dict[str, object]], stage: str, focus: bool
) -> SessionContext:
    return SessionContext.model_validate(
        {
            "placement": placement,
            "signals": signals,
            "activity": {"stage": stage, "focus_heavy": focus},
            "account": user.account(),
        }
    )


def session(user: SimUser, rng: np.random.Generator, effects: Effects) -> Iterator[Moment]:
    """One session: a few tasks, each with the signals the user's needs make likely.

    Each moment is built when the loop asks for it, so its account reflects what the
    user bought earlier in the session.
    """
    for _ in range(int(rng.integers(1, 4))):
        yield Moment(_ctx(user, "editor", [], "started", focus=True), "task started")
        if "automation" in user.needs and rng.random() < 0.6:
            count = int(rng.integers(3, 7))
            signal = {"kind": "action_repeated", "action": "format", "count": count}
            if rng.random() < effects.batch_share:
                done = _ctx(user, "editor", [signal], "completed", focus=False)
                yield Moment(done, "batch finished")
            else:
                yield Moment(_ctx(user, "editor", [signal], "mid_task", focus=True), "repeated")
        if "storage" in user.needs and rng.random() < 0.5:
            user.storage_usage = min(1.0, user.storage_usage + float(rng.uniform(0.02, 0.1)))
            signals: list[dict[str, object]] = [{"kind": "upload_completed"}]
            if user.storage_usage > 0.85:
                signals.append(
                    {"kind": "limit_reached", "limit": "storage", "usage": user.storage_usage}
                )
            yield Moment(_ctx(user, "files", signals, "completed", focus=False), "upload finished")
        finished: list[dict[str, object]] = [{"kind": "task_completed"}]
        if "team" in user.needs and rng.random() < 0.5:
            finished.append({"kind": "solo_success"})
        yield Moment(_ctx(user, "editor", finished, "completed", focus=False), "task completed")


def acceptance(
    user: SimUser,
    offer: Offer,
    moment: Moment,
    level: int,
    effects: Effects,
    intents: set[str],
) -> float:
    """The true chance this user accepts this offer now (what an oracle would know).

    The lifts compose: an upload that hits the storage limit as a task completes gets
    both the limit's and the completion's.
    """
    if offer.id in user.owned:
        return 0.0
    p = effects.base_accept
    if user.fits(offer):
        p *= effects.need_lift
        if intents & set(offer.intents):
            p *= effects.adjacency_lift
    context = moment.context
    stage = context.activity.stage.value
    if stage in ("started", "mid_task"):
        p *= effects.mid_task_factor
        if offer.ambition is Ambition.PLAN_CHANGE:
            p *= effects.big_ask_mid_task_factor
    else:
        if any(s.kind.value == "limit_reached" for s in context.signals):
            p *= effects.limit_lift
        if stage == "completed":
            p *= effects.peak_lift
    if context.activity.focus_heavy and level > 0:
        p *= effects.focus_format_factor
    p *= effects.nag_decay ** user.shown.get(offer.id, 0)
    p *= max(0.0, 1.0 - user.annoyance)
    return float(min(p, 0.95))


def recover(users: list[SimUser], effects: Effects, days: float = 1.0) -> None:
    """Annoyance fades with time."""
    keep = (1.0 - effects.annoyance_recovery_per_day) ** days
    for user in users:
        user.annoyance *= keep
