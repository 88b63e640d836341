"""The respect rules: hard constraints applied to the action set before any policy runs.

Every rule is a pure function of one offer and the moment. Because ineligible
offers are removed before the policy scores or samples, exploration cannot break
a rule, and the probability logged with a decision is the true one over what was
actually eligible. "No offer" is never removed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from bandit.catalog import NO_OFFER, Ambition, Catalog, Offer
from bandit.config import RespectRules, relevance_bar
from bandit.decision import Removal, RemovalCode
from bandit.respect import RespectState
from features import Features, SessionContext, adjacency, is_completion


@dataclass(frozen=True)
class Eligibility:
    """The outcome of the rules: what the policy may choose from, and what it may not."""

    eligible: tuple[str, ...]
    removed: tuple[Removal, ...] = ()

    def __post_init__(self) -> None:
        if not self.eligible or self.eligible[0] != NO_OFFER:
            raise ValueError(f"{NO_OFFER!r} must be the first eligible action")


_DAY, _WEEK = timedelta(days=1), timedelta(days=7)


@dataclass(frozen=True)
class Situation:
    """Everything a rule may look at besides the offer itself.

    The summaries of the user's state (what was shown this session, counts per day and
    week, dismissals per offer) are derived once per decision, when a rule first reads
    them, and shared by every offer's check.
    """

    context: SessionContext
    features: Features
    state: RespectState
    session_id: str
    now: datetime
    rules: RespectRules
    catalog: Catalog
    renderable: Collection[str] | None = None

    @cached_property
    def shown_this_session(self) -> frozenset[str]:
        """Offers chosen for the user in this session."""
        return frozenset(
            e.offer_id for e in self.state.exposures if e.session_id == self.session_id
        )

    @cached_property
    def offers_this_session(self) -> int:
        """How many offers were chosen for the user in this session."""
        return sum(1 for e in self.state.exposures if e.session_id == self.session_id)

    @cached_property
    def offers_last_day(self) -> int:
        """Offers chosen for the user in the last 24 hours."""
        return len(self.state.exposures_since(self.now - _DAY))

    @cached_property
    def offers_last_week(self) -> int:
        """Offers chosen for the user in the last 7 days."""
        return len(self.state.exposures_since(self.now - _WEEK))

    @cached_property
    def dismissal_times(self) -> Mapping[str, tuple[datetime, ...]]:
        """Each dismissed offer's "Not now" times, oldest first."""
        times: dict[str, list[datetime]] = {}
        for dismissal in self.state.dismissals:
            times.setdefault(dismissal.offer_id, []).append(dismissal.at)
        return {offer: tuple(sorted(at)) for offer, at in times.items()}

    @cached_property
    def quiet_until(self) -> datetime | None:
        """The end of the global quiet time after the latest "Not now", if any."""
        latest = self.state.last_dismissal()
        return None if latest is None else latest.at + self.rules.global_cooldown

    @cached_property
    def accepted(self) -> frozenset[str]:
        """Offers the user has said yes to."""
        return self.state.accepted


Verdict = tuple[RemovalCode, str] | None
Rule = Callable[[Offer, Situation], Verdict]


def opted_out(offer: Offer, m: Situation) -> Verdict:
    """An opted-out user gets no offers at all until they opt back in."""
    if m.state.opted_out:
        return RemovalCode.OPTED_OUT, "the user opted out of offers"
    return None


def not_renderable(offer: Offer, m: Situation) -> Verdict:
    """The client said it cannot render this offer here."""
    if m.renderable is not None and offer.id not in m.renderable:
        return RemovalCode.NOT_RENDERABLE, "the client cannot render this offer here"
    return None


def wrong_placement(offer: Offer, m: Situation) -> Verdict:
    """Offers that name placements appear only there."""
    if offer.placements and m.context.placement not in offer.placements:
        return RemovalCode.WRONG_PLACEMENT, f"not offered at placement {m.context.placement!r}"
    return None


def already_has(offer: Offer, m: Situation) -> Verdict:
    """Never sell people what they have: an offer the account owns, or the user already said
    yes to, is not offered again unless the catalog marks it repeatable."""
    if offer.repeatable:
        return None
    if offer.id in m.context.account.add_ons:
        return RemovalCode.ALREADY_OWNED, "the account already has it"
    if offer.id in m.accepted:
        return RemovalCode.ALREADY_ACCEPTED, "the user already said yes to it"
    return None


def cooldown(offer: Offer, m: Situation) -> Verdict:
    """After "Not now" an offer rests, longer each time, and retires after N dismissals."""
    dismissed = m.dismissal_times.get(offer.id)
    if not dismissed:
        return None
    if len(dismissed) >= m.rules.retire_after_dismissals:
        return RemovalCode.RETIRED, f"dismissed {len(dismissed)} times: retired for this user"
    until = dismissed[-1] + m.rules.offer_cooldown(len(dismissed))
    if m.now < until:
        return RemovalCode.OFFER_COOLDOWN, f"dismissed recently: resting until {until.isoformat()}"
    return None


def global_cooldown(offer: Offer, m: Situation) -> Verdict:
    """After any "Not now", every offer waits a while."""
    until = m.quiet_until
    if until is not None and m.now < until:
        return (
            RemovalCode.GLOBAL_COOLDOWN,
            f"an offer was dismissed: quiet until {until.isoformat()}",
        )
    return None


def repeat_in_session(offer: Offer, m: Situation) -> Verdict:
    """Never the same offer twice in a session."""
    if offer.id in m.shown_this_session:
        return RemovalCode.REPEAT_IN_SESSION, "already offered in this session"
    return None


def caps(offer: Offer, m: Situation) -> Verdict:
    """Frequency caps per session, day and week."""
    if m.offers_this_session >= m.rules.max_per_session:
        return RemovalCode.SESSION_CAP, f"session cap of {m.rules.max_per_session} reached"
    if m.offers_last_day >= m.rules.max_per_day:
        return RemovalCode.DAILY_CAP, f"daily cap of {m.rules.max_per_day} reached"
    if m.offers_last_week >= m.rules.max_per_week:
        return RemovalCode.WEEKLY_CAP, f"weekly cap of {m.rules.max_per_week} reached"
    return None


def focus(offer: Offer, m: Situation) -> Verdict:
    """No interruptive format while the user is in focus-heavy work."""
    level = m.catalog.level(offer)
    if m.context.activity.focus_heavy and level > m.rules.focus_max_level:
        return (
            RemovalCode.INTERRUPTS_FOCUS,
            f"format {offer.format!r} (level {level}) would interrupt focus-heavy work",
        )
    return None


def big_ask(offer: Offer, m: Situation) -> Verdict:
    """A plan change is asked only at a completion or success moment."""
    if offer.ambition is Ambition.PLAN_CHANGE and not is_completion(m.features.moment):
        return (
            RemovalCode.BIG_ASK_NOT_AT_COMPLETION,
            f"plan changes wait for a completion moment (now: {m.features.moment.value})",
        )
    return None


def relevance(offer: Offer, m: Situation) -> Verdict:
    """The more interruptive the format, the more relevant the offer must be right now."""
    score = adjacency(offer.intents, m.features.intents)
    bar = relevance_bar(m.rules.relevance_bars, m.catalog.level(offer))
    if score < bar:
        return (
            RemovalCode.BELOW_RELEVANCE_BAR,
            f"intent adjacency {score:.2f} is below the {offer.format!r} bar of {bar:.2f}",
        )
    return None


#: Applied in this order; an offer's reason is the first rule it fails.
RULES: tuple[Rule, ...] = (
    opted_out,
    not_renderable,
    wrong_placement,
    already_has,
    cooldown,
    global_cooldown,
    repeat_in_session,
    caps,
    focus,
    big_ask,
    relevance,
)


def verdict(offer: Offer, situation: Situation) -> Verdict:
    """The first rule this offer fails, if any."""
    for rule in RULES:
        found = rule(offer, situation)
        if found is not None:
            return found
    return None


def eligibility(situation: Situation) -> Eligibility:
    """Split the catalog into eligible offers and removals; "no offer" always stays."""
    eligible = [NO_OFFER]
    removed: list[Removal] = []
    for offer in situation.catalog:
        found = verdict(offer, situation)
        if found is None:
            eligible.append(offer.id)
        else:
            removed.append(Removal(offer.id, *found))
    return Eligibility(tuple(eligible), tuple(removed))
