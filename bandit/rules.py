"""The respect rules: hard constraints applied to the action set before any policy runs.

Every rule is a pure function of one offer and the moment. Because ineligible
offers are removed before the policy scores or samples, exploration cannot break
a rule, and the probability logged with a decision is the true one over what was
actually eligible. "No offer" is never removed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bandit.catalog import NO_OFFER, Ambition, Catalog, Offer
from bandit.config import RespectRules
from bandit.respect import RespectState
from features import Features, SessionContext, adjacency, is_completion


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
    BIG_ASK_MID_TASK = "big_ask_mid_task"
    BELOW_RELEVANCE_BAR = "below_relevance_bar"


@dataclass(frozen=True)
class Removal:
    """An offer the rules removed, with a code for machines and a reason for people."""

    offer_id: str
    code: RemovalCode
    reason: str


@dataclass(frozen=True)
class Eligibility:
    """The outcome of the rules: what the policy may choose from, and what it may not."""

    eligible: tuple[str, ...]
    removed: tuple[Removal, ...] = ()

    def __post_init__(self) -> None:
        if not self.eligible or self.eligible[0] != NO_OFFER:
            raise ValueError(f"{NO_OFFER!r} must be the first eligible action")


@dataclass(frozen=True)
class Situation:
    """Everything a rule may look at besides the offer itself."""

    context: SessionContext
    features: Features
    state: RespectState
    session_id: str
    now: datetime
    rules: RespectRules
    catalog: Catalog
    renderable: Collection[str] | None = None


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
    dismissed = m.state.dismissals_of(offer.id)
    if not dismissed:
        return None
    if len(dismissed) >= m.rules.retire_after_dismissals:
        return RemovalCode.RETIRED, f"dismissed {len(dismissed)} times: retired for this user"
    until = dismissed[-1].at + m.rules.offer_cooldown(len(dismissed))
    if m.now < until:
        return RemovalCode.OFFER_COOLDOWN, f"dismissed recently: resting until {until.isoformat()}"
    return None


def global_cooldown(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """After any "Not now", every offer waits a while."""
    last = m.state.last_dismissal()
    if last is not None and m.now < last.at + m.rules.global_cooldown:
        until = last.at + m.rules.global_cooldown
        return (
            RemovalCode.GLOBAL_COOLDOWN,
            f"an offer was dismissed: quiet until {until.isoformat()}",
        )
    return None


def caps(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """Frequency caps per session, day and week; never the same offer twice in a session."""
    in_session = [e for e in m.state.exposures if e.session_id == m.session_id]
    if any(e.offer_id == offer.id for e in in_session):
        return RemovalCode.REPEAT_IN_SESSION, "already offered in this session"
    if len(in_session) >= m.rules.max_per_session:
        return RemovalCode.SESSION_CAP, f"session cap of {m.rules.max_per_session} reached"
    if len(m.state.exposures_since(m.now - timedelta(days=1))) >= m.rules.max_per_day:
        return RemovalCode.DAILY_CAP, f"daily cap of {m.rules.max_per_day} reached"
    if len(m.state.exposures_since(m.now - timedelta(days=7))) >= m.rules.max_per_week:
        return RemovalCode.WEEKLY_CAP, f"weekly cap of {m.rules.max_per_week} reached"
    return None


def focus(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """No interruptive format while the user is in focus-heavy work."""
    level = m.catalog.level(offer)
    if m.context.activity.focus_heavy and level > m.rules.focus_max_level:
        return (
            RemovalCode.INTERRUPTS_FOCUS,
            f"format {offer.format!r} (level {level}) would interrupt focus-heavy work",
        )
    return None


def big_ask(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """A plan change is asked only at a completion or success moment."""
    if offer.ambition is Ambition.PLAN_CHANGE and not is_completion(m.features.moment):
        return (
            RemovalCode.BIG_ASK_MID_TASK,
            f"plan changes wait for a completion moment (now: {m.features.moment.value})",
        )
    return None


def relevance(offer: Offer, m: Situation) -> tuple[RemovalCode, str] | None:
    """The more interruptive the format, the more relevant the offer must be right now."""
    bar = m.rules.bar(m.catalog.level(offer))
    score = adjacency(offer.intents, m.features.intents)
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
    cooldown,
    global_cooldown,
    caps,
    focus,
    big_ask,
    relevance,
)


def eligibility(situation: Situation) -> Eligibility:
    """Split the catalog into eligible offers and removals; "no offer" always stays."""
    eligible = [NO_OFFER]
    removed: list[Removal] = []
    for offer in situation.catalog:
        verdict = next((v for rule in RULES if (v := rule(offer, situation)) is not None), None)
        if verdict is None:
            eligible.append(offer.id)
        else:
            removed.append(Removal(offer.id, *verdict))
    return Eligibility(tuple(eligible), tuple(removed))
