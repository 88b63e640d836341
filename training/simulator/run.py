"""The simulation loop: days of sessions on a simulated clock, tallied per chooser."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from bandit import Catalog, EventKind, TactfulConfig
from bandit.reward import event_reward
from features import intents_of
from training.simulator.choosers import Chooser
from training.simulator.effects import Effects
from training.simulator.population import SimUser, acceptance, population, recover, session

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
Progress = Callable[[int, int], None]


@dataclass
class Tally:
    """What one chooser did to one population."""

    name: str
    decisions: int = 0
    impressions: int = 0
    accepted: int = 0
    conversions: int = 0
    self_upgrades: int = 0
    revenue: float = 0.0
    dismissals: int = 0
    opt_outs: int = 0
    focus_interruptions: int = 0
    repeats_within_cooldown: int = 0
    offers_after_opt_out: int = 0
    reward: float = 0.0
    #: After each day: (decisions so far, cumulative reward so far).
    curve: list[tuple[int, float]] = field(default_factory=list)

    @property
    def acceptance_rate(self) -> float:
        """Acceptances per impression."""
        return self.accepted / self.impressions if self.impressions else 0.0

    @property
    def violations(self) -> int:
        """Respect-rule violations the user experienced."""
        return self.focus_interruptions + self.repeats_within_cooldown + self.offers_after_opt_out


def simulate(
    chooser: Chooser,
    config: TactfulConfig,
    *,
    users: int = 300,
    days: int = 30,
    seed: int = 0,
    effects: Effects | None = None,
    progress: Progress | None = None,
) -> Tally:
    """Run ``days`` of sessions under ``chooser`` (the same seed gives the same people)."""
    effects = effects or Effects()
    # Two streams: who the people are and what they do in sessions is the same for every
    # chooser; only their answers to offers depend on what they were shown.
    world, answers = (np.random.default_rng([seed, stream]) for stream in (0, 1))
    people = population(users, effects, world)
    catalog = config.catalog()
    tally = Tally(chooser.name)
    for day in range(days):
        for user in people:
            for number in range(int(world.poisson(0.8))):
                now = START + timedelta(days=day, hours=9 + 3 * number)
                session_id = f"{user.user_id}-{day}-{number}"
                for step, moment in enumerate(session(user, world)):
                    now += timedelta(minutes=4 * step + 1)
                    decision_id, offer_id = chooser.decide(user, session_id, moment, now)
                    tally.decisions += 1
                    if offer_id is None:
                        tally.reward += config.reward.default
                        continue
                    offer = catalog[offer_id]
                    level = catalog.level(offer)
                    p = acceptance(
                        user, offer, moment, level, effects, set(intents_of(moment.context))
                    )
                    _experience(
                        user,
                        offer_id,
                        moment.context.activity.focus_heavy,
                        level,
                        now,
                        tally,
                        config,
                        effects,
                    )
                    price = offer.price.amount if offer.price else 0.0
                    events = _respond(user, offer_id, p, answers, effects, price)
                    tally.reward += sum(event_reward(k, v, config.reward) for k, v in events)
                    for kind, value in events:
                        chooser.report(decision_id, kind, value, now)
                        _count(
                            tally,
                            kind,
                            value,
                            user,
                            offer_id,
                            now,
                            price,
                        )
        for user in people:
            _self_upgrades(user, answers, effects, tally, catalog)
        recover(people, effects)
        chooser.end_of_day(START + timedelta(days=day + 1))
        tally.curve.append((tally.decisions, tally.reward))
        if progress is not None:
            progress(day + 1, days)
    return tally


def _experience(
    user: SimUser,
    offer_id: str,
    focus: bool,
    level: int,
    now: datetime,
    tally: Tally,
    config: TactfulConfig,
    effects: Effects,
) -> None:
    """What seeing the offer did to the user (and which respect rules it broke)."""
    tally.impressions += 1
    user.annoyance += effects.show_annoyance
    if user.opted_out:
        tally.offers_after_opt_out += 1
        user.annoyance += effects.nag_annoyance
    if focus and level > config.rules.focus_max_level:
        tally.focus_interruptions += 1
        user.annoyance += effects.interrupt_annoyance
    dismissed = user.dismissed_at.get(offer_id)
    if dismissed is not None and now - dismissed < config.rules.offer_cooldown(1):
        tally.repeats_within_cooldown += 1
        user.annoyance += effects.nag_annoyance
        user.respected_noes.discard(offer_id)
    user.annoyance = min(user.annoyance, 1.0)
    user.shown[offer_id] = user.shown.get(offer_id, 0) + 1


def _respond(
    user: SimUser,
    offer_id: str,
    p: float,
    rng: np.random.Generator,
    effects: Effects,
    price: float,
) -> list[tuple[EventKind, float]]:
    """The user's answer, as the events a client would report."""
    events: list[tuple[EventKind, float]] = [(EventKind.SHOWN, 0.0)]
    if rng.random() < p:
        events.append((EventKind.ACCEPTED, 0.0))
        if rng.random() < effects.convert_after_accept:
            events.append((EventKind.CONVERTED, price))
        return events
    opt_out = effects.opt_out_base + effects.opt_out_per_annoyance * user.annoyance
    if not user.opted_out and rng.random() < opt_out:
        events.append((EventKind.OPTED_OUT, 0.0))
    elif rng.random() < min(
        1.0, effects.dismiss_base + effects.dismiss_per_annoyance * user.annoyance
    ):
        events.append((EventKind.DISMISSED, 0.0))
    return events


def _count(
    tally: Tally,
    kind: EventKind,
    value: float,
    user: SimUser,
    offer_id: str,
    now: datetime,
    price: float,
) -> None:
    if kind is EventKind.ACCEPTED:
        tally.accepted += 1
    elif kind is EventKind.CONVERTED:
        tally.conversions += 1
        tally.revenue += price
        user.owned.add(offer_id)
    elif kind is EventKind.DISMISSED:
        tally.dismissals += 1
        user.dismissed_at[offer_id] = now
        user.respected_noes.add(offer_id)
    elif kind is EventKind.OPTED_OUT:
        tally.opt_outs += 1
        user.opted_out = True


def _self_upgrades(
    user: SimUser, rng: np.random.Generator, effects: Effects, tally: Tally, catalog: Catalog
) -> None:
    """A respected "Not now" sometimes turns into a yes the user takes on their own."""
    for offer_id in sorted(user.respected_noes - user.owned):
        if offer_id not in catalog or not user.fits(catalog[offer_id]):
            continue
        if rng.random() < effects.self_upgrade_per_respected_no:
            user.owned.add(offer_id)
            user.respected_noes.discard(offer_id)
            tally.self_upgrades += 1
            tally.conversions += 1
            price = catalog[offer_id].price if offer_id in catalog else None
            tally.revenue += price.amount if price is not None else 0.0
