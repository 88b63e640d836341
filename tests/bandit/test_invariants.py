"""Properties every decision keeps, whatever the moment, the history, the rules or the policy.

The respect rules are re-checked here by an oracle written from the product rules,
independently of ``bandit.rules``: a decision may only ever pick what the oracle allows.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bandit import (
    NO_OFFER,
    Catalog,
    Decider,
    Decision,
    EpsilonGreedy,
    InMemoryRespectStore,
    LinUCB,
    Offer,
    Policy,
    PolicySettings,
    RespectRules,
    Uniform,
    VWPolicy,
    load_config,
)
from bandit.catalog import Ambition
from bandit.decision import Removal, RemovalCode
from bandit.respect import Acceptance, Dismissal, Exposure, RespectState
from bandit.rules import RULES, Eligibility, Situation, eligibility
from features import (
    Account,
    Activity,
    Features,
    Moment,
    SessionContext,
    Signal,
    SignalKind,
    TaskStage,
    extract,
)
from tests.builders import EXAMPLE_CONFIG, NOW, completed_upload, mid_task_focus

CONFIG = load_config(EXAMPLE_CONFIG)
OFFERS = tuple(CONFIG.catalog())
OFFER_IDS = tuple(offer.id for offer in OFFERS)
FORMATS = tuple(CONFIG.formats)
PLACEMENTS = ("editor", "dashboard", "settings")
SESSIONS = ("s1", "s2", "s3")
USER = "user-key-1"

#: The order rules are applied in: an offer's reason is the first one it fails.
PRECEDENCE = (
    RemovalCode.OPTED_OUT,
    RemovalCode.NOT_RENDERABLE,
    RemovalCode.WRONG_PLACEMENT,
    RemovalCode.ALREADY_OWNED,
    RemovalCode.ALREADY_ACCEPTED,
    RemovalCode.RETIRED,
    RemovalCode.OFFER_COOLDOWN,
    RemovalCode.GLOBAL_COOLDOWN,
    RemovalCode.REPEAT_IN_SESSION,
    RemovalCode.SESSION_CAP,
    RemovalCode.DAILY_CAP,
    RemovalCode.WEEKLY_CAP,
    RemovalCode.INTERRUPTS_FOCUS,
    RemovalCode.BIG_ASK_NOT_AT_COMPLETION,
    RemovalCode.BELOW_RELEVANCE_BAR,
)

# Times around NOW, on and next to every boundary the rules have.
OFFSETS = (
    timedelta(minutes=-1),
    timedelta(0),
    timedelta(minutes=1),
    timedelta(minutes=29),
    timedelta(minutes=30),
    timedelta(minutes=31),
    timedelta(hours=1),
    timedelta(hours=23, minutes=59),
    timedelta(days=1),
    timedelta(days=1, minutes=1),
    timedelta(hours=71),
    timedelta(hours=72),
    timedelta(hours=73),
    timedelta(hours=144),
    timedelta(days=6),
    timedelta(days=7),
    timedelta(days=7, minutes=1),
    timedelta(days=30),
)
times = st.sampled_from(OFFSETS).map(lambda offset: NOW - offset)

#: The details that make a signal specific, by kind.
DETAILS: dict[SignalKind, tuple[dict[str, object], ...]] = {
    SignalKind.LIMIT_REACHED: (
        {"limit": "storage", "usage": 0.97},
        {"limit": "seats", "usage": 0.1},
        {},
    ),
    SignalKind.ACTION_REPEATED: ({"action": "format", "count": 10}, {"count": 1}),
}
#: A small vocabulary of signals: every kind, fresh to stale, strong to weak.
SIGNALS = tuple(
    Signal.model_validate({"kind": kind, "seconds_ago": seconds_ago, **details})
    for kind in SignalKind
    for seconds_ago in (0.0, 5.0, 120.0, 121.0, 300.0, 3600.0)
    for details in DETAILS.get(kind, ({},))
)
#: One fresh, strong signal of every kind: every offer is relevant, other rules decide.
EVERY_INTENT = [
    Signal.model_validate({"kind": kind, "seconds_ago": 5.0, **DETAILS.get(kind, ({},))[0]})
    for kind in SignalKind
]
ACTIVITIES = tuple(
    Activity(focus_heavy=focus_heavy, stage=stage)
    for focus_heavy in (False, True)
    for stage in TaskStage
)
ACCOUNTS = (
    Account(),
    Account(plan="pro", seats=5, tenure_days=400.0),
    Account(seats=0, tenure_days=30.0),
    Account(add_ons=("storage_200",)),
    Account(plan="pro", add_ons=("pro_plan", "team_invite")),
)
contexts = st.builds(
    SessionContext,
    placement=st.sampled_from(PLACEMENTS),
    signals=st.just(EVERY_INTENT) | st.lists(st.sampled_from(SIGNALS), max_size=3),
    activity=st.sampled_from(ACTIVITIES),
    account=st.sampled_from(ACCOUNTS),
)
# Half the users are new, so that the other rules get to decide as often as the history does.
states = st.just(RespectState()) | st.builds(
    RespectState,
    opted_out=st.sampled_from([False, False, False, True]),
    exposures=st.lists(
        st.builds(
            Exposure,
            offer_id=st.sampled_from(OFFER_IDS),
            session_id=st.sampled_from(SESSIONS),
            at=times,
        ),
        max_size=3,
    ).map(tuple),
    dismissals=st.lists(
        # Mostly two offers, so that repeated dismissals of one offer are common.
        st.builds(Dismissal, offer_id=st.sampled_from(OFFER_IDS[:2]), at=times),
        max_size=3,
    ).map(tuple),
    acceptances=st.lists(
        st.builds(Acceptance, offer_id=st.sampled_from(OFFER_IDS), at=times), max_size=2
    ).map(tuple),
)
# The example deployment's rules half the time; any valid rules otherwise.
rule_settings = st.just(CONFIG.rules) | st.builds(
    RespectRules,
    focus_max_level=st.sampled_from([3, 1, 0, 4]),
    relevance_bars=st.lists(
        st.sampled_from([0.05, 0.2, 0.45, 0.5, 0.65, 0.85, 1.0]), min_size=1, max_size=4
    ).map(sorted),
    offer_cooldown_hours=st.sampled_from([0.5, 24.0, 72.0, 1e9]),
    cooldown_escalation=st.sampled_from([1.0, 2.0, 10.0]),
    retire_after_dismissals=st.sampled_from([3, 2, 4, 1]),
    global_cooldown_minutes=st.sampled_from([0.0, 30.0, 60.0, 1e12]),
    max_per_session=st.sampled_from([3, 2, 1, 0]),
    max_per_day=st.sampled_from([4, 2, 1, 0]),
    max_per_week=st.sampled_from([6, 3, 1, 0]),
)


def variant(offer: Offer) -> st.SearchStrategy[Offer]:
    """The offer, perhaps in another format, with another ambition, at fewer placements, or
    repeatable."""
    return st.builds(
        lambda format, ambition, placements, repeatable: offer.model_copy(
            update={
                "format": format,
                "ambition": ambition,
                "placements": placements,
                "repeatable": repeatable,
            }
        ),
        st.sampled_from(FORMATS),
        st.sampled_from(Ambition),
        st.sampled_from([[], [], [], ["editor"], ["dashboard", "settings"]]),
        st.sampled_from([False, False, True]),
    )


def catalog_of(levels: dict[str, int], *offers: Offer) -> Catalog:
    """A catalog of these offers with these format levels."""
    return Catalog(list(offers), levels)


catalogs = st.builds(
    catalog_of,
    st.fixed_dictionaries({name: st.sampled_from([0, 0, 1, 3, 4]) for name in FORMATS}),
    *(variant(offer) for offer in OFFERS),
)
renderables = st.one_of(
    st.none(), st.none(), st.lists(st.sampled_from(OFFER_IDS), unique=True).map(tuple)
)
decision_ids = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=16)


KINDS: tuple[Callable[[], Policy], ...] = (
    lambda: Uniform(),
    lambda: EpsilonGreedy(epsilon=0.0, width=16),
    lambda: EpsilonGreedy(epsilon=0.2, width=16),
    lambda: LinUCB(alpha=0.0, width=16),
    lambda: LinUCB(alpha=1.0, width=16),
    *(
        lambda settings=settings: VWPolicy(settings, catalog=CONFIG.catalog())
        for settings in (
            PolicySettings(exploration="epsilon", epsilon=0.0, bits=12),
            PolicySettings(exploration="epsilon", epsilon=0.3, bits=12),
            PolicySettings(exploration="softmax", softmax_lambda=2.0, bits=12),
            PolicySettings(exploration="bag", bag=3, epsilon=0.1, bits=12),
            PolicySettings(exploration="cover", cover=2, bits=12),
            PolicySettings(exploration="regcb", bits=12),
            PolicySettings(exploration="squarecb", bits=12),
        )
    ),
)


def pretrained(policy: Policy, seed: int) -> Policy:
    """Teach a policy a few random logged decisions (fixed seed): its pmf is no longer flat."""
    rng = random.Random(seed)
    for n in range(4):
        context = completed_upload() if n % 2 else mid_task_focus()
        offered = tuple(rng.sample(OFFER_IDS, rng.randint(0, len(OFFER_IDS))))
        logged = policy.decide(
            extract(context), Eligibility((NO_OFFER, *offered)), decision_id=f"lesson-{seed}-{n}"
        )
        policy.learn(logged, rng.choice([-1.0, -0.1, 0.0, 1.0]))
    return policy


#: Built once: deciding never changes a policy, so examples can share them.
POLICIES: tuple[Policy, ...] = tuple(
    policy
    for index, kind in enumerate(KINDS)
    for policy in (kind(), pretrained(kind(), seed=index))
)
policies = st.sampled_from(POLICIES)


@dataclass(frozen=True)
class Point:
    """Everything one decision point is made of."""

    context: SessionContext
    state: RespectState
    session_id: str
    rules: RespectRules
    catalog: Catalog
    renderable: tuple[str, ...] | None


points = st.builds(
    Point,
    context=contexts,
    state=states,
    session_id=st.sampled_from(SESSIONS),
    rules=rule_settings,
    catalog=catalogs,
    renderable=renderables,
)


# The oracle: the respect rules as the product states them, written out again.


def hours_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier) / timedelta(hours=1)


def violations(
    offer: Offer,
    context: SessionContext,
    features: Features,
    state: RespectState,
    session_id: str,
    rules: RespectRules,
    catalog: Catalog,
    renderable: Collection[str] | None,
) -> set[RemovalCode]:
    """Every rule this offer breaks at NOW."""
    broken: set[RemovalCode] = set()
    # 6. An opted-out user gets nothing.
    if state.opted_out:
        broken.add(RemovalCode.OPTED_OUT)
    # The client must be able to render it, at a placement the offer allows.
    if renderable is not None and offer.id not in renderable:
        broken.add(RemovalCode.NOT_RENDERABLE)
    if offer.placements and context.placement not in offer.placements:
        broken.add(RemovalCode.WRONG_PLACEMENT)
    # Never sell people what they have, unless the offer can be bought again.
    if not offer.repeatable and offer.id in context.account.add_ons:
        broken.add(RemovalCode.ALREADY_OWNED)
    if not offer.repeatable and offer.id in {a.offer_id for a in state.acceptances}:
        broken.add(RemovalCode.ALREADY_ACCEPTED)
    # 4. "Not now": a rest that grows with each dismissal, retirement after N, global quiet.
    own = sorted(d.at for d in state.dismissals if d.offer_id == offer.id)
    if len(own) >= rules.retire_after_dismissals:
        broken.add(RemovalCode.RETIRED)
    elif own:
        rest = rules.offer_cooldown_hours * rules.cooldown_escalation ** (len(own) - 1)
        if hours_between(own[-1], NOW) < rest:
            broken.add(RemovalCode.OFFER_COOLDOWN)
    if state.dismissals:
        latest = max(d.at for d in state.dismissals)
        if hours_between(latest, NOW) * 60 < rules.global_cooldown_minutes:
            broken.add(RemovalCode.GLOBAL_COOLDOWN)
    # 5. Frequency caps, and never the same offer twice in a session.
    this_session = [e for e in state.exposures if e.session_id == session_id]
    if offer.id in {e.offer_id for e in this_session}:
        broken.add(RemovalCode.REPEAT_IN_SESSION)
    if len(this_session) >= rules.max_per_session:
        broken.add(RemovalCode.SESSION_CAP)
    if sum(1 for e in state.exposures if hours_between(e.at, NOW) <= 24) >= rules.max_per_day:
        broken.add(RemovalCode.DAILY_CAP)
    if sum(1 for e in state.exposures if hours_between(e.at, NOW) <= 168) >= rules.max_per_week:
        broken.add(RemovalCode.WEEKLY_CAP)
    # 1. Focus-heavy work allows only the least interruptive formats.
    level = catalog.formats[offer.format]
    if context.activity.focus_heavy and level > rules.focus_max_level:
        broken.add(RemovalCode.INTERRUPTS_FOCUS)
    # 2. Plan changes only at a completion or success point.
    if offer.ambition == Ambition.PLAN_CHANGE and features.moment != Moment.PEAK:
        broken.add(RemovalCode.BIG_ASK_NOT_AT_COMPLETION)
    # 3. The more interruptive the format, the more relevant the offer must be.
    bars = rules.relevance_bars
    bar = bars[level] if level < len(bars) else bars[-1]
    strength = max(features.intents.get(intent, 0.0) for intent in offer.intents)
    if strength < bar:
        broken.add(RemovalCode.BELOW_RELEVANCE_BAR)
    return broken


def oracle(
    point: Point, features: Features, state: RespectState | None = None
) -> dict[str, set[RemovalCode]]:
    """Offer id -> the rules it breaks."""
    return {
        offer.id: violations(
            offer,
            point.context,
            features,
            state if state is not None else point.state,
            point.session_id,
            point.rules,
            point.catalog,
            point.renderable,
        )
        for offer in point.catalog
    }


def allowed_by(verdicts: dict[str, set[RemovalCode]]) -> set[str]:
    return {NO_OFFER} | {offer_id for offer_id, broken in verdicts.items() if not broken}


def situation_of(point: Point) -> Situation:
    features = extract(point.context, point.state.history(point.session_id, NOW))
    return Situation(
        point.context,
        features,
        point.state,
        point.session_id,
        NOW,
        point.rules,
        point.catalog,
        point.renderable,
    )


def decide(point: Point, policy: Policy, decision_id: str) -> Decision:
    situation = situation_of(point)
    return policy.decide(situation.features, eligibility(situation), decision_id=decision_id)


cases = st.tuples(points, policies, decision_ids)


RUNS = settings(max_examples=200, deadline=None)


@RUNS
@given(cases)
def test_decision_never_picks_an_offer_any_rule_removes(
    case: tuple[Point, Policy, str],
) -> None:
    point, policy, decision_id = case

    decision = decide(point, policy, decision_id)

    verdicts = oracle(point, decision.features)
    assert decision.chosen in allowed_by(verdicts), verdicts.get(decision.chosen)


@RUNS
@given(cases)
def test_pmf_covers_exactly_the_eligible_actions_and_sums_to_one(
    case: tuple[Point, Policy, str],
) -> None:
    point, policy, decision_id = case

    decision = decide(point, policy, decision_id)

    assert set(decision.pmf) == allowed_by(oracle(point, decision.features))
    assert all(p >= 0.0 for p in decision.pmf.values())
    assert math.isclose(math.fsum(decision.pmf.values()), 1.0, abs_tol=1e-9)


@RUNS
@given(cases)
def test_no_offer_is_always_in_the_pmf_first(case: tuple[Point, Policy, str]) -> None:
    point, policy, decision_id = case

    decision = decide(point, policy, decision_id)

    assert next(iter(decision.pmf)) == NO_OFFER


@RUNS
@given(cases)
def test_chosen_action_has_its_positive_logged_probability(
    case: tuple[Point, Policy, str],
) -> None:
    point, policy, decision_id = case

    decision = decide(point, policy, decision_id)

    assert decision.probability > 0.0
    assert decision.probability == decision.pmf[decision.chosen]


@RUNS
@given(cases)
def test_every_removal_names_the_first_rule_the_offer_breaks(
    case: tuple[Point, Policy, str],
) -> None:
    point, policy, decision_id = case

    decision = decide(point, policy, decision_id)

    verdicts = oracle(point, decision.features)
    removed = {removal.offer_id: removal for removal in decision.explanation.removed}
    assert set(removed) == {offer_id for offer_id, broken in verdicts.items() if broken}
    for offer_id, removal in removed.items():
        first = next(code for code in PRECEDENCE if code in verdicts[offer_id])
        assert removal.code is first
        assert removal.reason.strip()


@RUNS
@given(cases)
def test_same_decision_id_and_state_give_the_same_decision(
    case: tuple[Point, Policy, str],
) -> None:
    point, policy, decision_id = case

    first = decide(point, policy, decision_id)
    again = decide(point, policy, decision_id)

    assert (again.chosen, again.probability, dict(again.pmf)) == (
        first.chosen,
        first.probability,
        dict(first.pmf),
    )


@settings(max_examples=100, deadline=None)
@given(points, decision_ids)
def test_decider_never_picks_an_offer_any_rule_removes(point: Point, decision_id: str) -> None:
    store = InMemoryRespectStore()
    for exposure in sorted(point.state.exposures, key=lambda e: e.at):
        store.record_exposure(USER, exposure)
    for dismissal in point.state.dismissals:
        store.record_dismissal(USER, dismissal)
    for acceptance in point.state.acceptances:
        store.record_acceptance(USER, acceptance)
    store.set_opted_out(USER, point.state.opted_out)
    config = CONFIG.model_copy(
        update={
            "rules": point.rules,
            "formats": dict(point.catalog.formats),
            "offers": list(point.catalog),
        }
    )
    decider = Decider(config, Uniform(), store=store, clock=lambda: NOW)
    seen = store.state(USER)

    decision = decider.decide(
        USER, point.session_id, point.context, renderable=point.renderable, decision_id=decision_id
    )

    assert set(decision.pmf) == allowed_by(oracle(point, decision.features, seen))


@RUNS
@given(points)
def test_eligibility_is_asking_every_rule_of_every_offer_in_order(point: Point) -> None:
    situation = situation_of(point)
    eligible, removed = [NO_OFFER], []
    for offer in point.catalog:
        verdict = next((v for rule in RULES if (v := rule(offer, situation)) is not None), None)
        if verdict is None:
            eligible.append(offer.id)
        else:
            removed.append(Removal(offer.id, *verdict))

    assert eligibility(situation) == Eligibility(tuple(eligible), tuple(removed))
