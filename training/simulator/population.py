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

from bandit import Ambition, Offer
from features import SessionContext
from training.simulator.effects import Effects

#: The intents each hidden need shows up as.
NEED_INTENTS: dict[str, frozenset[str]] = {
    "storage": frozenset({"limit_reached", "limit_reached:storage", "upload_completed"}),
    "automation": frozenset({"repeated_action"}),
    "team": frozenset({"solo_success"}),
}


@dataclass
class SimUser:
    """One simulated user: hidden needs and what offers have done to them so far."""

    user_id: str
    needs: frozenset[str]
    annoyance: float = 0.0
    storage_usage: float = 0.5
    opted_out: bool = False
    shown: dict[str, int] = field(default_factory=dict)
    dismissed_at: dict[str, datetime] = field(default_factory=dict)
    respected_noes: set[str] = field(default_factory=set)
    owned: set[str] = field(default_factory=set)

    def fits(self, offer: Offer) -> bool:
        """Whether the offer serves a need the user really has (a plan change fits power users)."""
        if offer.ambition is Ambition.PLAN_CHANGE:
            return len(self.needs) >= 2
        return any(NEED_INTENTS[n] & set(offer.intents) for n in self.needs)


@dataclass(frozen=True)
class Moment:
    """A decision point in a session: the context the client sends, and a label."""

    context: SessionContext
    label: str


def population(n_users: int, effects: Effects, rng: np.random.Generator) -> list[SimUser]:
    """Users whose needs are drawn independently, each with ``effects.need_share``."""
    users = []
    for index in range(n_users):
        needs = frozenset(n for n in NEED_INTENTS if rng.random() < effects.need_share)
        users.append(SimUser(f"sim-{index:05d}", needs, storage_usage=float(rng.uniform(0.3, 0.9))))
    return users


def _ctx(
    placement: str, signals: list[dict[str, object]], stage: str, focus: bool
) -> SessionContext:
    return SessionContext.model_validate(
        {
            "placement": placement,
            "signals": signals,
            "activity": {"stage": stage, "focus_heavy": focus},
        }
    )


def session(user: SimUser, rng: np.random.Generator) -> Iterator[Moment]:
    """One session: a few tasks, each with the signals the user's needs make likely."""
    for _ in range(int(rng.integers(1, 4))):
        yield Moment(_ctx("editor", [], "started", focus=True), "task started")
        if "automation" in user.needs and rng.random() < 0.6:
            count = int(rng.integers(3, 7))
            signal = {"kind": "action_repeated", "action": "format", "count": count}
            yield Moment(_ctx("editor", [signal], "mid_task", focus=True), "repeated action")
        if "storage" in user.needs and rng.random() < 0.5:
            user.storage_usage = min(1.0, user.storage_usage + float(rng.uniform(0.02, 0.1)))
            signals: list[dict[str, object]] = [{"kind": "upload_completed"}]
            if user.storage_usage > 0.85:
                signals.append(
                    {"kind": "limit_reached", "limit": "storage", "usage": user.storage_usage}
                )
            yield Moment(_ctx("files", signals, "completed", focus=False), "upload finished")
        done: list[dict[str, object]] = [{"kind": "task_completed"}]
        if "team" in user.needs and rng.random() < 0.5:
            done.append({"kind": "solo_success"})
        yield Moment(_ctx("editor", done, "completed", focus=False), "task completed")


def acceptance(
    user: SimUser,
    offer: Offer,
    moment: Moment,
    level: int,
    effects: Effects,
    intents: set[str],
) -> float:
    """The true chance this user accepts this offer now (what an oracle would know)."""
    if offer.id in user.owned:
        return 0.0
    p = effects.base_accept
    if user.fits(offer):
        p *= effects.need_lift
        if intents & set(offer.intents):
            p *= effects.adjacency_lift
    stage = moment.context.activity.stage.value
    if stage in ("started", "mid_task"):
        p *= effects.mid_task_factor
        if offer.ambition is Ambition.PLAN_CHANGE:
            p *= effects.big_ask_mid_task_factor
    elif any(s.kind.value == "limit_reached" for s in moment.context.signals):
        p *= effects.limit_lift
    elif stage == "completed":
        p *= effects.peak_lift
    if moment.context.activity.focus_heavy and level > 0:
        p *= 0.5
    p *= effects.nag_decay ** user.shown.get(offer.id, 0)
    p *= max(0.0, 1.0 - user.annoyance)
    return float(min(p, 0.95))


def recover(users: list[SimUser], effects: Effects, days: float = 1.0) -> None:
    """Annoyance fades with time."""
    keep = (1.0 - effects.annoyance_recovery_per_day) ** days
    for user in users:
        user.annoyance *= keep
