"""The respect rules: hard constraints applied to the action set before any policy runs.

Every rule is a pure function of one offer and the moment. Because ineligible
offers are removed before the policy scores or samples, exploration cannot break
a rule, and the probability logged with a decision is the true one over what was
actually eligible. "No offer" is never removed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from bandit.catalog import NO_OFFER, Ambition, Catalog, Offer
from bandit.config import RespectRules, relevance_bar
from bandit.respect import RespectState
from features import Features, Moment, SessionContext, adjacency, is_completion


class RemovalCode(StrEnum):
    """Why an offer was not eligible, as a stable machine-readable code."""

    OPTED_OUT = "opted_out"
    NOT_RENDERABLE = "not_renderable"
    WRONG_PLACEMENT = "wrong_placement"
    RETIRED = "retired"
    OFFER_COOLDOWN = "offer_cooldown"
    GLOBAL_COOLDOWN = "global_cooldown"
    SESSION_CAP = "session_cap"
    REPEAT_IN_SESSION = "repeat_in_session"
    DAILY_CAP = "daily_cap"
    WEEKLY_CAP = "weekly_cap"
    INTERRUPTS_FOCUS = "interrupts_focus"
    BIG_ASK_NOT_AT_COMPLETION = "big_ask_not_at_completion"
    BELOW_RELEVANCE_BAR = "below_relevance_bar"

    @classmethod
    def _missing_(cls, value: object) -> RemovalCode | None:
        """Read codes stored under an earlier name as the code that checks the same thing.

        ``big_ask_mid_task`` was given at every moment but a completion, idle included;
        decisions logged with it still load.
        """
        return _RENAMED.get(str(value))


#: Earlier names of codes, by the code now given for the same check.
_RENAMED = {"big_ask_mid_task": RemovalCode.BIG_ASK_NOT_AT_COMPLETION}


class Removal(NamedTuple):
    """An offer the rules removed, with a code for machines and a reason for people.

    A named tuple rather than a dataclass: several are built on every decision.
    """

    offer_id: str
    code: RemovalCode
    reason: str


@dataclass(frozen=True, init=False)
class Eligibility:
    """The outcome of the rules: what the policy may choose from, and what it may not."""

    eligible: tuple[str, ...]
    removed: tuple[Removal, ...] = ()

    def __init__(self, eligible: tuple[str, ...], removed: tuple[Removal, ...] = ()) -> None:
        if not eligible or eligible[0] != NO_OFFER:
            raise ValueError(f"{NO_OFFER!r} must be the first eligible action")
        # Frozen: set in one step, not by object.__setattr__ per field (one is built on
        # every decision, and lives only as long as it).
        self.__dict__.update(eligible=eligible, removed=removed)


@dataclass(frozen=True, init=False)
class Situation:
    """Everything a rule may look at besides the offer itself.

    The summaries of the user's state (what was shown this session, counts per day and
    week, dismissals per offer) are derived once per decision and shared by every
    offer's check, so the rules cost one pass over the state, not one per offer.
    """

    context: SessionContext
    features: Features
    state: RespectState
    session_id: str
    now: datetime
    rules: RespectRules
    catalog: Catalog
    renderable: Collection[str] | None = None

    #: Derived from ``state`` once, in one pass, when the situation is built.
    shown_this_session: frozenset[str] = field(init=False, repr=False, compare=False)
    offers_this_session: int = field(init=False, repr=False, compare=False)
    offers_last_day: int = field(init=False, repr=False, compare=False)
    offers_last_week: int = field(init=False, repr=False, compare=False)
    #: Each dismissed offer's "Not now" times, oldest first.
    dismissal_times: Mapping[str, tuple[datetime, ...]] = field(
        init=False, repr=False, compare=False
    )
    #: The end of the global quiet time after the latest "Not now", if any.
    quiet_until: datetime | None = field(init=False, repr=False, compare=False)
    #: What the rules need of each offer that depends only on the catalog and the bars.
    offers: Mapping[str, OfferFacts] = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        context: SessionContext,
        features: Features,
        state: RespectState,
        session_id: str,
        now: datetime,
        rules: RespectRules,
        catalog: Catalog,
        renderable: Collection[str] | None = None,
    ) -> None:
        # Frozen: every field goes straight into the instance dict, set once, here. One
        # step for all of them rather than the generated __init__'s object.__setattr__
        # per field: a situation is built on every decision.
        derived = self.__dict__
        derived.update(
            context=context,
            features=features,
            state=state,
            session_id=session_id,
            now=now,
            rules=rules,
            catalog=catalog,
            renderable=renderable,
            offers=offer_facts(catalog, tuple(rules.relevance_bars)),
        )
        if not state.exposures and not state.dismissals:
            derived.update(_NOTHING_YET)
            return
        shown: set[str] = set()
        in_session = last_day = last_week = 0
        day_ago, week_ago = now - _DAY, now - _WEEK
        for exposure in state.exposures:
            if exposure.session_id == session_id:
                shown.add(exposure.offer_id)
                in_session += 1
            last_day += exposure.at >= day_ago
            last_week += exposure.at >= week_ago
        times: dict[str, list[datetime]] = {}
        for dismissal in state.dismissals:
            times.setdefault(dismissal.offer_id, []).append(dismissal.at)
        latest = max((at for at_list in times.values() for at in at_list), default=None)
        derived.update(
            shown_this_session=frozenset(shown),
            offers_this_session=in_session,
            offers_last_day=last_day,
            offers_last_week=last_week,
            dismissal_times={offer: tuple(sorted(at)) for offer, at in times.items()},
            quiet_until=None if latest is None else latest + rules.global_cooldown,
        )


class OfferFacts(NamedTuple):
    """What the rules read of one offer on every decision, worked out once per catalog."""

    level: int
    #: The relevance bar its format must meet.
    bar: float
    #: The end of its "below the bar" reason, which only the adjacency score varies.
    below_bar: str
    #: Its verdict when it would interrupt focus-heavy work.
    interrupts_focus: tuple[RemovalCode, str]


@lru_cache(maxsize=16)
def offer_facts(catalog: Catalog, bars: tuple[float, ...]) -> Mapping[str, OfferFacts]:
    """Each offer's level and relevance bar under these bars (a catalog never changes)."""
    facts = {}
    for offer in catalog:
        level = catalog.level(offer)
        bar = relevance_bar(bars, level)
        facts[offer.id] = OfferFacts(
            level,
            bar,
            f" is below the {offer.format!r} bar of {bar:.2f}",
            (
                RemovalCode.INTERRUPTS_FOCUS,
                f"format {offer.format!r} (level {level}) would interrupt focus-heavy work",
            ),
        )
    return MappingProxyType(facts)


_DAY, _WEEK = timedelta(days=1), timedelta(days=7)
#: The derived summaries of a user with no offers and no dismissals (most decision points).
_NOTHING_YET: dict[str, object] = {
    "shown_this_session": frozenset(),
    "offers_this_session": 0,
    "offers_last_day": 0,
    "offers_last_week": 0,
    "dismissal_times": MappingProxyType({}),
    "quiet_until": None,
}


Rule = Callable[[Offer, Situation], tuple[RemovalCode, str] | None]


def opted_out(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """An opted-out user gets no offers at all until they opt back in."""
    if m.state.opted_out:
        return RemovalCode.OPTED_OUT, "the user opted out of offers"
    return None


def not_renderable(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """The client said it cannot render this offer here."""
    if m.renderable is not None and offer.id not in m.renderable:
        return RemovalCode.NOT_RENDERABLE, "the client cannot render this offer here"
    return None


def wrong_placement(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """Offers that name placements appear only there."""
    if offer.placements and m.context.placement not in offer.placements:
        return RemovalCode.WRONG_PLACEMENT, f"not offered at placement {m.context.placement!r}"
    return None


def cooldown(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
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


def global_cooldown(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """After any "Not now", every offer waits a while."""
    until = m.quiet_until
    if until is not None and m.now < until:
        return (
            RemovalCode.GLOBAL_COOLDOWN,
            f"an offer was dismissed: quiet until {until.isoformat()}",
        )
    return None


def repeat_in_session(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """Never the same offer twice in a session."""
    if offer.id in m.shown_this_session:
        return RemovalCode.REPEAT_IN_SESSION, "already offered in this session"
    return None


def caps(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """Frequency caps per session, day and week."""
    if m.offers_this_session >= m.rules.max_per_session:
        return RemovalCode.SESSION_CAP, f"session cap of {m.rules.max_per_session} reached"
    if m.offers_last_day >= m.rules.max_per_day:
        return RemovalCode.DAILY_CAP, f"daily cap of {m.rules.max_per_day} reached"
    if m.offers_last_week >= m.rules.max_per_week:
        return RemovalCode.WEEKLY_CAP, f"weekly cap of {m.rules.max_per_week} reached"
    return None


def focus(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """No interruptive format while the user is in focus-heavy work."""
    if not m.context.activity.focus_heavy:
        return None
    facts = m.offers[offer.id]
    if facts.level > m.rules.focus_max_level:
        return facts.interrupts_focus
    return None


def big_ask(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """A plan change is asked only at a completion or success moment."""
    if offer.ambition is _PLAN_CHANGE and not is_completion(m.features.moment):
        return _BIG_ASK_VERDICTS[m.features.moment]
    return None


_PLAN_CHANGE = Ambition.PLAN_CHANGE  # bound once: Python 3.11 looks enum members up each time
_BIG_ASK_VERDICTS = {
    moment: (
        RemovalCode.BIG_ASK_NOT_AT_COMPLETION,
        f"plan changes wait for a completion moment (now: {moment.value})",
    )
    for moment in Moment
}


def relevance(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """The more interruptive the format, the more relevant the offer must be right now."""
    score = adjacency(offer.intents, m.features.intents)
    facts = m.offers[offer.id]
    if score < facts.bar:
        return _BELOW_BAR, f"intent adjacency {score:.2f}{facts.below_bar}"
    return None


_BELOW_BAR = RemovalCode.BELOW_RELEVANCE_BAR


#: Applied in this order; an offer's reason is the first rule it fails.
RULES: tuple[Rule, ...] = (
    opted_out,
    not_renderable,
    wrong_placement,
    cooldown,
    global_cooldown,
    repeat_in_session,
    caps,
    focus,
    big_ask,
    relevance,
)
#: Rules whose verdict is the same for every offer: asked once per situation, not per offer.
SITUATION_WIDE: frozenset[Rule] = frozenset({opted_out, global_cooldown, caps})


def guards(m: Situation) -> tuple[bool, ...]:
    """Whether each rule of :data:`GUARDED` can remove any offer at all here.

    A rule whose guard is false passes every offer, so it is not asked offer by offer
    (that is most rules on most decision points: nothing rendered-only, dismissed or
    shown yet). One call answers for all of them: asked one by one, the guards cost
    more than the rule calls they spare.
    """
    return (
        m.renderable is not None,
        m.catalog.names_placements,
        bool(m.dismissal_times),
        bool(m.shown_this_session),
        m.context.activity.focus_heavy,
        not is_completion(m.features.moment),
    )


#: The per-offer rules that have a guard, in the order of :func:`guards`' flags. Relevance
#: has none: an offer can always fall below its bar.
GUARDED: tuple[Rule, ...] = (
    not_renderable,
    wrong_placement,
    cooldown,
    repeat_in_session,
    focus,
    big_ask,
)


def _guard(at: int) -> Callable[[Situation], bool]:
    """One flag of :func:`guards` as a guard of its own."""
    return lambda m: guards(m)[at]


#: Each per-offer rule's guard on its own. ``tests/bandit/test_invariants.py`` checks each
#: against its rule.
CAN_REMOVE: dict[Rule, Callable[[Situation], bool]] = {
    **{rule: _guard(at) for at, rule in enumerate(GUARDED)},
    relevance: lambda m: True,
}
#: The rules to ask offer by offer, by cut (see :func:`eligibility`) and guard flags.
_ASKED: dict[tuple[int, tuple[bool, ...]], tuple[Rule, ...]] = {}


def _asked(cut: int, flags: tuple[bool, ...]) -> tuple[Rule, ...]:
    """The per-offer rules among the first ``cut`` of :data:`RULES` whose guard is up."""
    rules = _ASKED.get((cut, flags))
    if rules is None:
        up = {rule for rule, flag in zip(GUARDED, flags, strict=True) if flag} | {relevance}
        rules = _ASKED[cut, flags] = tuple(rule for rule in RULES[:cut] if rule in up)
    return rules


#: The situation-wide rules with their places in :data:`RULES`, in order.
_SITUATION_WIDE_AT = tuple((at, rule) for at, rule in enumerate(RULES) if rule in SITUATION_WIDE)


def _first_situation_wide(
    offer: Offer, situation: Situation
) -> tuple[int, tuple[RemovalCode, str] | None]:
    """Where in :data:`RULES` the first failing situation-wide rule sits, and its verdict."""
    for position, rule in _SITUATION_WIDE_AT:
        if (verdict := rule(offer, situation)) is not None:
            return position, verdict
    return len(RULES), None


def eligibility(situation: Situation) -> Eligibility:
    """Split the catalog into eligible offers and removals; "no offer" always stays.

    Same answer as asking every rule of every offer in order, with the situation-wide
    rules asked once (an offer that passes every per-offer rule before the first failing
    situation-wide rule gets that rule's verdict) and the per-offer rules that cannot
    remove anything here (:data:`CAN_REMOVE`) not asked.
    """
    eligible = [NO_OFFER]
    removed: list[Removal] = []
    offers = situation.catalog.offers.values()
    if not offers:
        return Eligibility((NO_OFFER,))
    cut, shared = _first_situation_wide(next(iter(offers)), situation)
    rules = _asked(cut, guards(situation))
    for offer in offers:
        for rule in rules:
            verdict = rule(offer, situation)
            if verdict is not None:
                removed.append(Removal(offer.id, *verdict))
                break
        else:
            if shared is None:
                eligible.append(offer.id)
            else:
                removed.append(Removal(offer.id, *shared))
    return Eligibility(tuple(eligible), tuple(removed))
