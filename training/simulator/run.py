"""The simulation loop: days of sessions on a simulated clock, tallied per chooser.

Every random draw is keyed by what it is about, not by the order it is made in: who the
users are and what they do in their sessions by (seed, user, day); how a user answers an
offer by (seed, user, day, session, step, offer); whether they upgrade on their own or
leave by (seed, user, day). Two choosers run on the same seed therefore meet the same
people, the same sessions and the same answer to the same offer at the same moment
(common random numbers), so their difference is the choosers', not the dice's.
"""

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
#: The streams of random draws, one per kind of thing drawn.
_PEOPLE, _DAYS, _ANSWERS, _LATER = range(4)


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
    churned: int = 0
    focus_interruptions: int = 0
    repeats_within_cooldown: int = 0
    offers_after_opt_out: int = 0
    offers_to_owners: int = 0
    #: Impressions per offer id.
    shown_offers: dict[str, int] = field(default_factory=dict)
    #: The business's view: the reward mapping over every event, self-upgrades included.
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
        return (
            self.focus_interruptions
            + self.repeats_within_cooldown
            + self.offers_after_opt_out
            + self.offers_to_owners
        )

    def curve_by_day(self) -> list[tuple[int, float]]:
        """(day, cumulative reward after it): the learning plot's points."""
        return [(day, reward) for day, (_, reward) in enumerate(self.curve, start=1)]

    def weekly_reward(self) -> list[float]:
        """Reward earned in each week (the last one may be shorter)."""
        daily = [r for _, r in self.curve]
        ends = [*range(7, len(daily), 7), len(daily)]
        starts = [0, *ends[:-1]]
        return [
            daily[end - 1] - (daily[start - 1] if start else 0.0)
            for start, end in zip(starts, ends, strict=True)
        ]


def draws(seed: int, stream: int, *key: int) -> np.random.Generator:
    """The generator of one keyed stream of draws (see the module's docstring)."""
    return np.random.default_rng([seed, stream, *key])


def simulate(
    chooser: Chooser,
    config: TactfulConfig,
    *,
    users: int = 300,
    days: int = 30,
    seed: int = 0,
    arrival_days: int = 0,
    effects: Effects | None = None,
    progress: Progress | None = None,
) -> Tally:
    """Run ``days`` of sessions under ``chooser`` (the same seed gives the same people).

    With ``arrival_days`` the users sign up steadily over that many days, instead of all
    on the first day.
    """
    effects = effects or Effects()
    people = population(users, effects, draws(seed, _PEOPLE), arrival_days)
    catalog = config.catalog()
    offers = {offer_id: at for at, offer_id in enumerate(catalog.offers)}
    tally = Tally(chooser.name)
    for day in range(days):
        for user in people:
            if user.arrives > day or user.churned:
                continue
            world = draws(seed, _DAYS, user.index, day)
            for number in range(int(world.poisson(effects.sessions_per_day))):
                now = START + timedelta(days=day, hours=9 + 3 * number)
                session_id = f"{user.user_id}-{day}-{number}"
                for step, moment in enumerate(session(user, world, effects)):
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
                    answer = draws(seed, _ANSWERS, user.index, day, number, step, offers[offer_id])
                    events = _respond(user, p, answer, effects, price)
                    tally.reward += sum(event_reward(k, v, config.reward) for k, v in events)
                    for kind, value in events:
                        chooser.report(decision_id, kind, value, now)
                        _count(tally, kind, value, user, offer_id, now, price)
        for user in people:
            if user.arrives <= day and not user.churned:
                later = draws(seed, _LATER, user.index, day)
                _self_upgrades(user, later, effects, tally, catalog, config)
                _churn(user, later, effects, tally)
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
    tally.shown_offers[offer_id] = tally.shown_offers.get(offer_id, 0) + 1
    user.annoyance += effects.show_annoyance
    if user.opted_out:
        tally.offers_after_opt_out += 1
        user.annoyance += effects.nag_annoyance
    if offer_id in user.owned:
        tally.offers_to_owners += 1
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
    user: SimUser, p: float, answer: np.random.Generator, effects: Effects, price: float
) -> list[tuple[EventKind, float]]:
    """The user's answer, as the events a client would report.

    Four draws are always made, in one order, so the same offer at the same moment meets
    the same dice under every chooser.
    """
    accept, convert, leave, decline = answer.random(4)
    events: list[tuple[EventKind, float]] = [(EventKind.SHOWN, 0.0)]
    if accept < p:
        events.append((EventKind.ACCEPTED, 0.0))
        if convert < effects.convert_after_accept:
            events.append((EventKind.CONVERTED, price))
        return events
    opt_out = effects.opt_out_base + effects.opt_out_per_annoyance * user.annoyance
    if not user.opted_out and leave < opt_out:
        events.append((EventKind.OPTED_OUT, 0.0))
    elif decline < min(1.0, effects.dismiss_base + effects.dismiss_per_annoyance * user.annoyance):
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
    user: SimUser,
    rng: np.random.Generator,
    effects: Effects,
    tally: Tally,
    catalog: Catalog,
    config: TactfulConfig,
) -> None:
    """A respected "Not now" sometimes turns into a purchase the user makes on their own.

    It counts as a conversion in the conversions, the revenue and the reward alike: it is
    what a respectful "no" is worth to the business, though no decision's window sees it.
    """
    chances = rng.random(len(catalog.offers))
    for at, offer in enumerate(catalog):
        if offer.id not in user.respected_noes or offer.id in user.owned:
            continue
        if user.fits(offer) and chances[at] < effects.self_upgrade_per_respected_no:
            price = offer.price.amount if offer.price is not None else 0.0
            user.owned.add(offer.id)
            user.respected_noes.discard(offer.id)
            tally.self_upgrades += 1
            tally.conversions += 1
            tally.revenue += price
            tally.reward += event_reward(EventKind.CONVERTED, price, config.reward)


def _churn(user: SimUser, rng: np.random.Generator, effects: Effects, tally: Tally) -> None:
    """Some users leave each day, annoyed ones more often; they have no more sessions."""
    if rng.random() < effects.churn_base + effects.churn_per_annoyance * user.annoyance:
        user.churned = True
        tally.churned += 1
