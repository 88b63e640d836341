"""The Vowpal Wabbit adapter: its text format and command line, pinned as golden strings."""

from __future__ import annotations

import dataclasses
import json
import math
from types import MappingProxyType

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import bandit.vw.text
from bandit import (
    NO_OFFER,
    Catalog,
    PolicySettings,
    RewardMapping,
    TactfulConfig,
    VWPolicy,
    make_policy,
)
from bandit.decision import decision_from_record, decision_to_record
from bandit.rules import Eligibility
from bandit.vw.policy import vw_arguments
from bandit.vw.text import SHARED_LINE_FORMAT, logged_shared_line, offer_line, shared_line
from features import Features, History, Moment, OfferHistory, SessionContext, extract
from tests.builders import completed_upload, context
from tests.strategies import CONTEXTS, HISTORIES

SHARED = (
    "shared |M moment=limit_hit |I limit_reached:0.5 limit_reached_storage:0.5 |T stage=idle"
    " |A plan=team seats:1.38629 tenure:2.3979 |P placement=editor"
    " |C cat.theme=dark num.docs:2.5 |H never_dismissed never_offered"
)
STORAGE = (
    "|O id=storage_200 format=inline level=0 ambition=add_on"
    " intent=limit_reached_storage intent=upload_completed"
)


def storage_half_full() -> Features:
    """A team user at half their storage, with one client number and one client category."""
    return extract(
        context(
            signals=[{"kind": "limit_reached", "limit": "storage", "usage": 0.5}],
            account={"plan": "team", "seats": 3, "tenure_days": 10},
            numeric={"docs": 2.5},
            categorical={"theme": "dark"},
        )
    )


def with_client_names(values: dict[str, float]) -> Features:
    """Features whose client namespace holds arbitrary names (as a replayed log might)."""
    return Features(
        moment=Moment.IDLE,
        intents=MappingProxyType({}),
        namespaces=MappingProxyType({"client": MappingProxyType(values)}),
    )


# --- the shared (context) line ------------------------------------------------------------


def test_shared_line_of_a_fixed_context() -> None:
    assert shared_line(storage_half_full()) == SHARED


def test_the_shared_line_format_is_pinned_to_its_version() -> None:
    # Shared lines are logged under SHARED_LINE_FORMAT and reused for training. If this
    # golden line has to change, bump the version too: old logs then render afresh.
    assert (SHARED_LINE_FORMAT, shared_line(storage_half_full())) == ("vw-shared/1", SHARED)


def test_a_vw_decision_carries_the_shared_line_it_scored(catalog: Catalog) -> None:
    features = storage_half_full()
    decision = VWPolicy(catalog=catalog).decide(features, Eligibility((NO_OFFER, "storage_200")))
    assert decision.renderings == {SHARED_LINE_FORMAT: SHARED}
    assert logged_shared_line(decision) == SHARED


def test_a_shared_namespace_is_rendered_once_for_every_decision_that_shares_it() -> None:
    first, second = storage_half_full(), storage_half_full()
    shared_line(first)

    moment = second.namespaces["moment"]
    assert moment is first.namespaces["moment"]
    assert moment.renderings == {SHARED_LINE_FORMAT: "|M moment=limit_hit"}  # type: ignore[attr-defined]
    assert shared_line(second) == SHARED


def as_plain_dicts(features: Features) -> Features:
    """The same features with namespaces as plain dicts: the generic rendering's input."""
    return Features(
        moment=features.moment,
        intents=features.intents,
        namespaces=MappingProxyType({ns: dict(v) for ns, v in features.namespaces.items()}),
    )


@settings(max_examples=300)
@given(CONTEXTS, st.none() | HISTORIES, st.booleans())
@example(context(account={"seats": 0, "tenure_days": 0.0}), None, False)  # zeros left out
@example(context(account={"seats": 1, "tenure_days": math.e - 1}), None, False)  # a bare 1
def test_features_fresh_from_a_context_render_as_their_namespaces_do(
    ctx: SessionContext, history: History | None, mapping_read_first: bool
) -> None:
    """Rendering straight from the context equals rendering the namespaces it would build."""
    features = extract(ctx, history)
    if mapping_read_first:
        assert dict(features.namespaces)

    rendered = shared_line(features)

    assert rendered == shared_line(as_plain_dicts(features))
    assert shared_line(features) == rendered  # again, through remembered segments


def test_a_logged_rendering_travels_with_the_decision_record(catalog: Catalog) -> None:
    policy = VWPolicy(catalog=catalog)
    decision = policy.decide(storage_half_full(), Eligibility((NO_OFFER, "storage_200")))
    back = decision_from_record(json.loads(json.dumps(decision_to_record(decision))))
    assert back.renderings == {SHARED_LINE_FORMAT: SHARED}
    assert back.features == decision.features


def test_a_single_eligible_action_still_renders_the_line_for_the_log(catalog: Catalog) -> None:
    decision = VWPolicy(catalog=catalog).decide(storage_half_full(), Eligibility((NO_OFFER,)))
    assert decision.renderings == {SHARED_LINE_FORMAT: SHARED}


def test_a_rendering_in_another_format_is_ignored_and_rendered_afresh(catalog: Catalog) -> None:
    decision = VWPolicy(catalog=catalog).decide(storage_half_full(), Eligibility((NO_OFFER,)))
    stale = dataclasses.replace(decision, renderings={"vw-shared/0": "shared |M stale"})
    assert logged_shared_line(stale) == SHARED


def test_decisions_refuse_renderings_that_are_not_text(catalog: Catalog) -> None:
    decision = VWPolicy(catalog=catalog).decide(storage_half_full(), Eligibility((NO_OFFER,)))
    record = decision_to_record(decision)
    record["features"]["renderings"] = {SHARED_LINE_FORMAT: 3}
    with pytest.raises(TypeError, match="renderings"):
        decision_from_record(record)


def test_shared_line_drops_zero_features_and_empty_namespaces() -> None:
    assert shared_line(with_client_names({"gone": 0.0})) == "shared"


def test_shared_line_writes_a_value_of_one_as_a_bare_name() -> None:
    assert shared_line(with_client_names({"flag": 1.0, "score": 0.25})) == (
        "shared |C flag score:0.25"
    )


def test_shared_line_sanitizes_spaces_colons_and_bars_in_names() -> None:
    assert shared_line(with_client_names({"a b:c|d\te": 2.0})) == "shared |C a_b_c_d_e:2"


def test_shared_line_puts_an_unknown_namespace_with_the_client_features() -> None:
    features = Features(
        moment=Moment.IDLE,
        intents=MappingProxyType({}),
        namespaces=MappingProxyType({"weather": MappingProxyType({"sunny": 1.0})}),
    )
    assert shared_line(features) == "shared |C sunny"


# --- action lines ---------------------------------------------------------------------------


def test_offer_line_describes_a_catalog_offer_by_its_attributes(catalog: Catalog) -> None:
    offer = catalog["storage_200"]
    assert offer_line(offer, offer.id, catalog.level(offer)) == STORAGE


def test_offer_line_of_a_plan_change_lists_every_intent_sorted(catalog: Catalog) -> None:
    offer = catalog["pro_plan"]
    assert offer_line(offer, offer.id, catalog.level(offer)) == (
        "|O id=pro_plan format=modal level=3 ambition=plan_change"
        " intent=limit_reached intent=solo_success intent=task_completed"
    )


def test_offer_line_of_an_unknown_id_is_the_id_alone() -> None:
    assert offer_line(None, "retired_offer") == "|O id=retired_offer"


def test_offer_line_sanitizes_an_unknown_id() -> None:
    assert offer_line(None, "old offer|x:y") == "|O id=old_offer_x_y"


def test_no_offer_is_described_by_its_id(catalog: Catalog) -> None:
    lines = VWPolicy(catalog=catalog).examples(storage_half_full(), (NO_OFFER,))
    assert lines == [SHARED, "|O id=no_offer"]


# --- labelled examples ----------------------------------------------------------------------


def test_labelled_example_marks_only_the_chosen_line_with_cost_and_probability(
    catalog: Catalog,
) -> None:
    policy = VWPolicy(catalog=catalog)
    lines = policy.examples(storage_half_full(), (NO_OFFER, "storage_200"), label=(1, -1.0, 0.25))
    assert lines == [SHARED, "|O id=no_offer", f"0:-1:0.25 {STORAGE}"]


def test_label_values_are_written_with_six_significant_digits(catalog: Catalog) -> None:
    policy = VWPolicy(catalog=catalog)
    lines = policy.examples(storage_half_full(), (NO_OFFER, "storage_200"), label=(0, 0.1, 1 / 3))
    assert lines[1] == "0:0.1:0.333333 |O id=no_offer"


def test_learning_a_positive_reward_makes_the_offer_preferred(catalog: Catalog) -> None:
    # cost = -reward: a reward of +1 must lower the offer's cost, so VW comes to prefer it.
    policy = VWPolicy({"exploration": "epsilon", "epsilon": 0.1}, catalog=catalog)
    actions = Eligibility((NO_OFFER, "storage_200"))
    for i in range(30):
        decision = policy.decide(storage_half_full(), actions, decision_id=f"d-{i}")
        policy.learn(decision, 1.0 if decision.chosen == "storage_200" else 0.0)
    pmf = policy.decide(storage_half_full(), actions, decision_id="probe").pmf
    assert pmf["storage_200"] > pmf[NO_OFFER]


def test_learning_a_negative_reward_makes_the_offer_avoided(catalog: Catalog) -> None:
    policy = VWPolicy({"exploration": "epsilon", "epsilon": 0.1}, catalog=catalog)
    actions = Eligibility((NO_OFFER, "storage_200"))
    for i in range(30):
        decision = policy.decide(storage_half_full(), actions, decision_id=f"d-{i}")
        policy.learn(decision, -1.0 if decision.chosen == "storage_200" else 0.0)
    pmf = policy.decide(storage_half_full(), actions, decision_id="probe").pmf
    assert pmf[NO_OFFER] > pmf["storage_200"]


# --- the command line -----------------------------------------------------------------------

COMMON = "--cb_type mtr -b 18 -l 0.5 --power_t 0.5 --random_seed 7 -q MO --cubic IAO --quiet"


@pytest.mark.parametrize(
    ("exploration", "expected"),
    [
        ("epsilon", f"--cb_explore_adf --epsilon 0.05 {COMMON}"),
        ("softmax", f"--cb_explore_adf --softmax --lambda 10.0 {COMMON}"),
        ("bag", f"--cb_explore_adf --bag 5 --epsilon 0.05 {COMMON}"),
        ("cover", f"--cb_explore_adf --cover 4 {COMMON}"),
        ("regcb", f"--cb_explore_adf --regcbopt {COMMON} --cb_min_cost -2.0 --cb_max_cost 1.1"),
        (
            "squarecb",
            f"--cb_explore_adf --squarecb --gamma_scale 100.0 {COMMON}"
            " --cb_min_cost -2.0 --cb_max_cost 1.1",
        ),
    ],
)
def test_vw_arguments_for_each_exploration(exploration: str, expected: str) -> None:
    settings = PolicySettings.model_validate(
        {"exploration": exploration, "interactions": ["MO", "IAO"], "seed": 7}
    )
    assert vw_arguments(settings, (-2.0, 1.1)) == expected


def test_vw_arguments_carry_every_tuned_setting() -> None:
    settings = PolicySettings(
        exploration="epsilon",
        epsilon=0.2,
        interactions=["PO"],
        learning_rate=0.1,
        power_t=0.0,
        cb_type="dr",
        bits=20,
        seed=3,
    )
    assert vw_arguments(settings, (-1.0, 1.0)) == (
        "--cb_explore_adf --epsilon 0.2 --cb_type dr -b 20 -l 0.1 --power_t 0.0"
        " --random_seed 3 -q PO --quiet"
    )


# --- the configured policy ------------------------------------------------------------------


def test_make_policy_takes_its_cost_range_from_the_reward_mapping(config: TactfulConfig) -> None:
    # Summed rewards in the example run from -1.1 (dismissed, then opted out) to 2.0
    # (accepted, then converted); costs are their negation.
    assert make_policy(config).cost_range == (-2.0, 1.1)


def test_make_policy_cost_range_follows_an_earliest_event_mapping(config: TactfulConfig) -> None:
    reward = RewardMapping(accepted=3.0, opted_out=-2.0, aggregation="earliest")
    assert make_policy(config.model_copy(update={"reward": reward})).cost_range == (-3.0, 2.0)


@pytest.mark.parametrize("exploration", ["regcb", "squarecb"])
def test_make_policy_gives_confidence_bound_explorers_the_cost_range(
    config: TactfulConfig, exploration: str
) -> None:
    policy_settings = config.policy.model_copy(update={"exploration": exploration})
    policy = make_policy(config.model_copy(update={"policy": policy_settings}))
    assert policy.arguments.endswith("--cb_min_cost -2.0 --cb_max_cost 1.1")


def test_make_policy_uses_the_configured_settings(config: TactfulConfig) -> None:
    assert make_policy(config).settings == config.policy


def test_make_policy_binds_the_configured_catalog(config: TactfulConfig) -> None:
    policy = make_policy(config)
    assert policy.catalog is not None
    assert policy.catalog.version == config.catalog().version


# --- per-offer lines, cached per catalog version -------------------------------------------


def with_storage_as(catalog: Catalog, format_name: str) -> Catalog:
    """The catalog with storage_200 moved to another format: a new catalog version."""
    offers = [
        offer.model_copy(update={"format": format_name}) if offer.id == "storage_200" else offer
        for offer in catalog
    ]
    return Catalog(offers, catalog.formats)


def storage_line(policy: VWPolicy) -> str:
    return policy.examples(storage_half_full(), (NO_OFFER, "storage_200"))[2]


def test_offer_lines_are_reused_within_a_catalog_version(catalog: Catalog) -> None:
    policy = VWPolicy(catalog=catalog)
    assert storage_line(policy) is storage_line(policy)


def test_an_equal_catalog_keeps_the_cached_lines(catalog: Catalog) -> None:
    policy = VWPolicy(catalog=catalog)
    first = storage_line(policy)
    policy.catalog = Catalog(list(catalog), catalog.formats)
    assert storage_line(policy) is first


def test_a_new_catalog_version_rebuilds_the_offer_lines(catalog: Catalog) -> None:
    policy = VWPolicy(catalog=catalog)
    storage_line(policy)
    policy.catalog = with_storage_as(catalog, "banner")
    assert storage_line(policy) == STORAGE.replace("format=inline level=0", "format=banner level=1")


def test_an_offer_dropped_from_the_catalog_is_described_by_id(catalog: Catalog) -> None:
    policy = VWPolicy(catalog=catalog)
    storage_line(policy)
    policy.catalog = Catalog([o for o in catalog if o.id != "storage_200"], catalog.formats)
    assert storage_line(policy) == "|O id=storage_200"


# --- the joined text VW parses --------------------------------------------------------------

OFFERS = ("storage_200", "automation", "team_invite", "pro_plan")


@given(
    st.lists(st.sampled_from(OFFERS), max_size=4, unique=True),
    st.integers(min_value=0, max_value=4),
    st.floats(min_value=-2.0, max_value=2.0),
    st.floats(min_value=0.001, max_value=1.0),
)
def test_example_text_is_the_lines_of_examples_joined(
    catalog: Catalog, offers: list[str], position: int, cost: float, probability: float
) -> None:
    policy = VWPolicy(catalog=catalog)
    actions = (NO_OFFER, *offers)
    chosen = position % len(actions)
    features = storage_half_full()
    for label in (None, (chosen, cost, probability)):
        assert policy.example_text(features, actions, label) == "\n".join(
            policy.examples(features, actions, label)
        )
    label = (chosen, cost, probability)
    decision = dataclasses.replace(
        policy.decide(features, Eligibility(actions), decision_id="d"),
        renderings={SHARED_LINE_FORMAT: "shared |C logged"},
    )
    logged = policy.example_text(features, actions, label, shared="shared |C logged")
    assert list(policy.labelled_texts([(decision, label)] * 2)) == [logged] * 2
    assert logged.split("\n") == [
        "shared |C logged",
        *policy.examples(features, actions, label)[1:],
    ]


def test_remembered_names_are_forgotten_beyond_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bandit.vw.text, "_NAMES_MAX", 2)
    monkeypatch.setattr(bandit.vw.text, "_SAFE_NAMES", {})

    names = [bandit.vw.text._name(f"limit_reached:quota{i}") for i in range(5)]

    assert names == [f"limit_reached_quota{i}" for i in range(5)]
    assert len(bandit.vw.text._SAFE_NAMES) <= 2


def test_an_offers_action_line_carries_the_users_experience_of_it(catalog: Catalog) -> None:
    history = History(offers={"storage_200": OfferHistory(shown=1, accepted=True)})
    features = extract(completed_upload(), history)
    policy = VWPolicy(PolicySettings(bits=12), catalog=catalog)

    lines = policy.examples(features, (NO_OFFER, "storage_200", "pro_plan"))

    assert lines[1] == "|O id=no_offer"
    assert lines[2].endswith(" |E accepted shown:0.693147")
    assert "|E" not in lines[3]


def test_a_decision_with_experience_scores_as_its_full_text(catalog: Catalog) -> None:
    """The kept parsed action lines serve only decisions without experience."""
    history = History(offers={"storage_200": OfferHistory(shown=3, dismissed=2)})
    features = extract(completed_upload(), history)
    policy = VWPolicy(PolicySettings(bits=12, exploration="softmax"), catalog=catalog)
    actions = (NO_OFFER, "storage_200")
    for n in range(20):
        policy.learn(
            policy.decide(features, Eligibility(actions), decision_id=f"d-{n}"), -1.0 + n % 2
        )

    workspace = policy._vw.workspace
    expected = workspace.predict(policy.examples(features, actions))

    pmf = policy.decide(features, Eligibility(actions), decision_id="x").pmf
    assert pmf == pytest.approx(dict(zip(actions, expected, strict=True)), rel=1e-5)


@pytest.mark.parametrize("lone", [False, True])
def test_a_decision_with_only_no_offer_is_learned_only_when_the_settings_say_so(
    catalog: Catalog, lone: bool
) -> None:
    policy = VWPolicy(PolicySettings(bits=12, learn_lone_decisions=lone), catalog=catalog)
    features = extract(completed_upload())
    choice = (NO_OFFER, "storage_200")
    before = policy._vw.workspace.predict(policy.examples(features, choice))

    for n in range(20):
        policy.learn(policy.decide(features, Eligibility((NO_OFFER,)), decision_id=f"d{n}"), 1.0)

    after = policy._vw.workspace.predict(policy.examples(features, choice))
    assert (after != before) is lone
