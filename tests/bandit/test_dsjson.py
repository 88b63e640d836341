"""The DSJSON export format: pinned as a golden line, and read by VW itself.

The interoperability tests import ``vowpalwabbit`` directly (only the source
packages are limited to ``bandit.vw.workspace``): VW parsing every line, and a model trained
from the export predicting exactly as one trained through ``VWPolicy.learn``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
import vowpalwabbit

from bandit import NO_OFFER, Catalog, Decision, PolicySettings, Uniform, VWPolicy
from bandit.decision import Explanation
from bandit.rules import Eligibility
from bandit.vw.dsjson_reader import parse_dsjson_line
from bandit.vw.dsjson_writer import dsjson_line, dsjson_ranking, text_namespaces
from bandit.vw.policy import MODEL_FILE
from bandit.vw.text import shared_line
from features import Features, History, Moment, OfferHistory, SessionContext, extract
from tests.builders import NOW, context

GOLDEN = (
    '{"_label_cost":-1.0,"_label_probability":0.75,"_label_Action":2,"_labelIndex":1,'
    '"Timestamp":"2026-01-15T12:00:00.000000Z","Version":"1","EventId":"d-1","a":[2,1],'
    '"c":{"M":{"moment=limit_hit":1.0},'
    '"I":{"limit_reached":0.5,"limit_reached_storage":0.5},'
    '"T":{"stage=idle":1.0},'
    '"A":{"plan=team":1.0,"seats":1.38629,"tenure":2.3979},'
    '"P":{"placement=editor":1.0},'
    '"H":{"never_dismissed":1.0,"never_offered":1.0},'
    '"_multi":[{"O":{"id=no_offer":1.0}},'
    '{"O":{"id=storage_200":1.0,"format=inline":1.0,"level=0":1.0,"ambition=add_on":1.0,'
    '"intent=limit_reached_storage":1.0,"intent=upload_completed":1.0}}]},'
    '"p":[0.75,0.25],"VWState":{"m":"vw-0f1e2d3c+42"}}'
)
LABEL_KEYS = {"_label_cost", "_label_probability", "_label_Action", "_labelIndex"}


def storage_half_full() -> Features:
    """A team user at half their storage (the context of the VW text-format golden tests)."""
    return extract(
        context(
            signals=[{"kind": "limit_reached", "limit": "storage", "usage": 0.5}],
            account={"plan": "team", "seats": 3, "tenure_days": 10},
        )
    )


def decision(
    features: Features,
    pmf: dict[str, float],
    chosen: str,
    decision_id: str = "d-1",
) -> Decision:
    """A hand-built decision over ``pmf``'s actions, in that order."""
    return Decision(
        decision_id=decision_id,
        chosen=chosen,
        probability=pmf[chosen],
        pmf=pmf,
        explored=False,
        policy_version="vw-0f1e2d3c+42",
        features=features,
        explanation=Explanation(
            eligible=tuple(pmf),
            removed=(),
            scores=pmf,
            moment=features.moment.value,
            intents=dict(features.intents),
        ),
    )


def storage_offered() -> Decision:
    """The storage offer chosen over "no offer", with probability 0.75."""
    return decision(storage_half_full(), {NO_OFFER: 0.25, "storage_200": 0.75}, "storage_200")


def parsed(line: str) -> dict[str, Any]:
    """One exported line as a JSON object."""
    value: dict[str, Any] = json.loads(line)
    return value


# --- the line ------------------------------------------------------------------------------


def test_a_rewarded_decision_is_one_golden_line(catalog: Catalog) -> None:
    assert dsjson_line(storage_offered(), 1.0, catalog, timestamp=NOW) == GOLDEN


def test_the_label_is_the_chosen_action_with_cost_minus_reward(catalog: Catalog) -> None:
    line = parsed(dsjson_line(storage_offered(), 0.4, catalog))
    assert line["_label_cost"] == -0.4
    assert line["_label_probability"] == 0.75
    assert line["_label_Action"] == 2
    assert line["_labelIndex"] == 1


def test_a_decision_without_a_reward_has_no_label_and_skips_learning(catalog: Catalog) -> None:
    line = parsed(dsjson_line(storage_offered(), None, catalog))
    assert line["_skipLearn"] is True
    assert LABEL_KEYS.isdisjoint(line)
    assert line["a"] == [2, 1]
    assert line["p"] == [0.75, 0.25]


def test_the_timestamp_is_left_out_unless_given(catalog: Catalog) -> None:
    assert "Timestamp" not in parsed(dsjson_line(storage_offered(), 1.0, catalog))


def test_actions_are_listed_chosen_first_then_in_logged_order() -> None:
    assert dsjson_ranking(2, 4) == [3, 1, 2, 4]
    assert dsjson_ranking(0, 3) == [1, 2, 3]
    assert dsjson_ranking(0, 1) == [1]


def test_probabilities_follow_the_order_of_the_actions(catalog: Catalog) -> None:
    pmf = {NO_OFFER: 0.5, "storage_200": 0.125, "automation": 0.375}
    line = parsed(dsjson_line(decision(storage_half_full(), pmf, "automation"), 0.0, catalog))
    assert line["a"] == [3, 1, 2]
    assert line["p"] == [0.375, 0.5, 0.125]
    assert line["_label_probability"] == line["p"][0]


def test_multi_holds_every_eligible_action_in_logged_order(catalog: Catalog) -> None:
    pmf = {NO_OFFER: 0.5, "team_invite": 0.25, "storage_200": 0.25}
    line = parsed(dsjson_line(decision(storage_half_full(), pmf, NO_OFFER), 0.0, catalog))
    ids = [
        next(name for name in action["O"] if name.startswith("id="))
        for action in line["c"]["_multi"]
    ]
    assert ids == ["id=no_offer", "id=team_invite", "id=storage_200"]


def test_an_offer_gone_from_the_catalog_is_described_by_its_id(catalog: Catalog) -> None:
    pmf = {NO_OFFER: 0.5, "retired_offer": 0.5}
    line = parsed(dsjson_line(decision(storage_half_full(), pmf, NO_OFFER), 0.0, catalog))
    assert line["c"]["_multi"][1] == {"O": {"id=retired_offer": 1.0}}


def test_shared_namespaces_carry_exactly_the_features_of_the_shared_line(
    catalog: Catalog,
) -> None:
    features = storage_half_full()
    shared = parsed(dsjson_line(storage_offered(), 1.0, catalog))["c"]
    rendered = " ".join(
        ["shared"]
        + [
            f"|{letter} " + " ".join(k if v == 1.0 else f"{k}:{v:.6g}" for k, v in values.items())
            for letter, values in shared.items()
            if letter != "_multi"
        ]
    )
    assert rendered == shared_line(features)


def test_labels_are_rounded_as_the_text_format_rounds_them(catalog: Catalog) -> None:
    third = 1.0 / 3.0
    pmf = {NO_OFFER: third, "storage_200": third, "automation": third}
    line = parsed(dsjson_line(decision(storage_half_full(), pmf, NO_OFFER), 0.123456789, catalog))
    assert line["_label_cost"] == -0.123457
    assert line["_label_probability"] == 0.333333


def test_the_line_carries_no_raw_context(catalog: Catalog) -> None:
    raw = context(account={"plan": "team", "seats": 3}, categorical={"theme": "dark"})
    made = decision(extract(raw), {NO_OFFER: 1.0}, NO_OFFER)
    line = dsjson_line(made, 0.0, catalog)
    assert set(parsed(line)) == {
        "_label_cost",
        "_label_probability",
        "_label_Action",
        "_labelIndex",
        "Version",
        "EventId",
        "a",
        "c",
        "p",
        "VWState",
    }
    assert '"signals"' not in line
    assert '"account"' not in line
    assert "cat.theme=dark" in line


def test_a_feature_name_vws_json_reader_would_drop_is_refused(catalog: Catalog) -> None:
    hidden = Features(
        moment=Moment.IDLE,
        intents=MappingProxyType({}),
        namespaces=MappingProxyType({"client": MappingProxyType({"_hidden": 1.0})}),
    )
    with pytest.raises(ValueError, match="_hidden"):
        dsjson_line(decision(hidden, {NO_OFFER: 1.0}, NO_OFFER), 0.0, catalog)


def test_text_namespaces_reads_names_bare_flags_and_values() -> None:
    assert text_namespaces("shared |A plan=team seats:1.5 |C x |C y:2") == {
        "A": {"plan=team": 1.0, "seats": 1.5},
        "C": {"x": 1.0, "y": 2.0},
    }
    assert text_namespaces("shared") == {}


# --- VW reads the export ----------------------------------------------------------------------
#
# VW's text reader rounds some decimals (0.9, 0.693147) one float32 step away from
# the nearest float, its JSON reader does not: the same logged number can reach the
# model one ulp apart. Features and labels are otherwise identical, so predictions
# agree to ~1e-6 on realistic values and exactly on values both readers parse alike.

#: Learning every decision, as VW does with every labelled line of an export (the export
#: is the whole log; which decisions a policy learns is the policy's setting).
SETTINGS = PolicySettings(
    exploration="softmax", softmax_lambda=5.0, bits=16, seed=7, learn_lone_decisions=True
)
#: One float32 step of a value near 1, with room: the readers' rounding difference.
ULP = 1e-6
Log = list[tuple[Decision, float | None]]
Pmf = list[float]


def situations() -> Iterator[SessionContext]:
    """Varied decision points: moments, plans, placements, client numbers."""
    plans = ["free", "pro", "team"]
    placements = ["editor", "dashboard"]
    for n in range(60):
        signals: list[dict[str, Any]] = [{"kind": "task_completed", "seconds_ago": n}]
        if n % 3 == 0:
            signals.append(
                {"kind": "limit_reached", "limit": "storage", "usage": 0.9, "seconds_ago": n}
            )
        if n % 4 == 1:
            signals = [{"kind": "action_repeated", "action": "format", "count": 1 + n % 5}]
        yield context(
            placement=placements[n % 2],
            account={"plan": plans[n % 3], "seats": 1 + n % 7, "tenure_days": n},
            numeric={"docs": n / 7.0},
            signals=signals,
        )


def realistic_log(catalog: Catalog) -> Log:
    """A uniform policy's log: lone "no offer"s, offers never shown, rewards of any value."""
    offers = [offer.id for offer in catalog]
    rng = np.random.default_rng(3)
    log: Log = []
    for n, situation in enumerate(situations()):
        eligible = (NO_OFFER, *offers[: n % (len(offers) + 1)])
        made = Uniform().decide(extract(situation), Eligibility(eligible), decision_id=f"d-{n}")
        shown = made.chosen == NO_OFFER or n % 5 != 0
        log.append((made, float(rng.uniform(-1.0, 1.0)) if shown else None))
    return log


def exact_features(n: int) -> Features:
    """Features whose values are small binary fractions, which both VW readers parse exactly."""
    plan = ["free", "pro", "team"][n % 3]
    return Features(
        moment=Moment.PEAK,
        intents=MappingProxyType({}),
        namespaces=MappingProxyType(
            {
                "moment": MappingProxyType({["moment=peak", "moment=idle"][n % 2]: 1.0}),
                "account": MappingProxyType({f"plan={plan}": 1.0, "seats": 0.5 * (1 + n % 5)}),
                "client": MappingProxyType({"num.docs": 0.25 * (n % 7)}),
            }
        ),
    )


def exact_log(catalog: Catalog) -> Log:
    """A log with 1, 2 or 4 eligible actions and rewards in halves: no decimal rounding at all."""
    offers = [offer.id for offer in catalog]
    choices = [(NO_OFFER,), (NO_OFFER, offers[0]), (NO_OFFER, *offers[:3])]
    rewards = [-1.0, 0.0, 0.5, 1.0]
    log: Log = []
    for n in range(60):
        eligible = Eligibility(choices[n % 3])
        made = Uniform().decide(exact_features(n), eligible, decision_id=f"d-{n}")
        shown = made.chosen == NO_OFFER or n % 5 != 0
        log.append((made, rewards[n % 4] if shown else None))
    return log


def dsjson_workspace() -> vowpalwabbit.Workspace:
    """VW reading DSJSON, with exactly the policy's command line."""
    return vowpalwabbit.Workspace(f"--dsjson {VWPolicy(SETTINGS).arguments}")


def text_workspace() -> vowpalwabbit.Workspace:
    """VW reading its text format, with exactly the policy's command line."""
    return vowpalwabbit.Workspace(VWPolicy(SETTINGS).arguments)


HashedExample = list[tuple[str, list[tuple[int, float]]]]


def hashed(example: Any) -> HashedExample:
    """What VW made of one parsed example: each namespace with its hashed features."""
    namespaces = [chr(example.namespace(i)) for i in range(example.num_namespaces())]
    return [
        (
            ns,
            [
                (example.feature(ns, k), example.feature_weight(ns, k))
                for k in range(example.num_features_in(ns))
            ],
        )
        for ns in namespaces
    ]


def test_vw_parses_every_line_with_the_label_on_the_chosen_action(catalog: Catalog) -> None:
    workspace = dsjson_workspace()
    for made, reward in realistic_log(catalog):
        examples = workspace.parse(dsjson_line(made, reward, catalog))
        if reward is None:
            assert len(examples) == 1  # VW's "skip learn": one empty example
            assert examples[0].get_feature_number() == 0
        else:
            assert len(examples) == 1 + len(made.actions)
            costs = [len(example.get_label().costs) for example in examples[1:]]
            assert costs == [1 if i == made.chosen_index else 0 for i in range(len(costs))]
            label = examples[1 + made.chosen_index].get_label().costs[0]
            assert label.cost == pytest.approx(-reward, abs=ULP)
            assert label.probability == pytest.approx(made.probability, abs=ULP)
        workspace.finish_example(examples)
    workspace.finish()


def test_vw_hashes_the_export_into_the_features_the_policy_learns_from(
    catalog: Catalog,
) -> None:
    policy = VWPolicy(SETTINGS, catalog=catalog)
    from_json, from_text = dsjson_workspace(), text_workspace()
    for made, reward in realistic_log(catalog):
        json_examples = from_json.parse(
            dsjson_line(made, 0.0 if reward is None else reward, catalog)
        )
        text_examples = from_text.parse(policy.examples(made.features, made.actions))
        json_hashed = [hashed(example) for example in json_examples]
        text_hashed = [hashed(example) for example in text_examples]
        assert [[(ns, [h for h, _ in fs]) for ns, fs in ex] for ex in json_hashed] == [
            [(ns, [h for h, _ in fs]) for ns, fs in ex] for ex in text_hashed
        ]
        json_values = [v for ex in json_hashed for _, fs in ex for _, v in fs]
        text_values = [v for ex in text_hashed for _, fs in ex for _, v in fs]
        assert json_values == pytest.approx(text_values, rel=ULP)
        from_json.finish_example(json_examples)
        from_text.finish_example(text_examples)
    from_json.finish()
    from_text.finish()


def reloaded(model: Path) -> vowpalwabbit.Workspace:
    """A saved model read back into a plain (text-format) workspace."""
    return vowpalwabbit.Workspace(arg_list=["--quiet", "-i", str(model)])


def side_by_side(log: Log, catalog: Catalog, directory: Path) -> list[tuple[Pmf, Pmf]]:
    """Train through ``VWPolicy.learn`` and from the export; both models' pmfs on every decision.

    The policy learns only rewarded decisions (the learner's rule); VW reads every
    exported line, skipped decisions included, and must learn nothing from those.
    """
    policy = VWPolicy(SETTINGS, catalog=catalog)
    for made, reward in log:
        if reward is not None:
            policy.learn(made, reward)
    policy.save(directory / "policy")

    exported = dsjson_workspace()
    for made, reward in log:
        examples = exported.parse(dsjson_line(made, reward, catalog))
        exported.learn(examples)
        exported.finish_example(examples)
    exported.save(str(directory / "exported.vw"))
    exported.finish()

    from_policy = reloaded(directory / "policy" / MODEL_FILE)
    from_export = reloaded(directory / "exported.vw")
    pairs = []
    for made, _ in log:
        examples = policy.examples(made.features, made.actions)
        pairs.append((from_policy.predict(examples), from_export.predict(examples)))
    return pairs


def learned_something(pairs: list[tuple[Pmf, Pmf]]) -> bool:
    """Some pmf is far from uniform: the models did learn (the comparison is not vacuous)."""
    return any(len(pmf) > 1 and max(pmf) - min(pmf) > 1e-3 for pmf, _ in pairs)


def test_a_model_trained_from_the_export_predicts_exactly_as_the_policy(
    catalog: Catalog, tmp_path: Path
) -> None:
    pairs = side_by_side(exact_log(catalog), catalog, tmp_path)
    assert learned_something(pairs)
    for from_policy, from_export in pairs:
        assert from_export == from_policy


def test_on_realistic_values_the_predictions_agree_to_float_rounding(
    catalog: Catalog, tmp_path: Path
) -> None:
    pairs = side_by_side(realistic_log(catalog), catalog, tmp_path)
    assert learned_something(pairs)
    for from_policy, from_export in pairs:
        assert from_export == pytest.approx(from_policy, abs=10 * ULP)


# --- reading the export back ----------------------------------------------------------------
#
# What training needs from a line read back is the VW example text: the same text
# as the decision it was written from means the same model, whichever way it came.


def policy_log(catalog: Catalog) -> Log:
    """Decisions made (and learned from) by the real VW policy, one offer no longer listed."""
    policy = VWPolicy(SETTINGS, catalog=catalog)
    offers = [offer.id for offer in catalog]
    log: Log = []
    for n, situation in enumerate(situations()):
        eligible = (NO_OFFER, *offers[: n % (len(offers) + 1)])
        if n % 7 == 0:
            eligible = (*eligible, "retired_offer")
        made = policy.decide(extract(situation), Eligibility(eligible), decision_id=f"d-{n}")
        reward = None if n % 5 == 0 and made.chosen != NO_OFFER else (n % 9) / 4.0 - 1.0
        if reward is not None:
            policy.learn(made, reward)
        log.append((made, reward))
    return log


def rounded(value: float) -> float:
    """A number as the export writes it: 6 significant digits."""
    return float(f"{value:.6g}")


def test_a_line_reads_back_as_the_decision_it_was_written_from(catalog: Catalog) -> None:
    log = policy_log(catalog)
    assert any(len(set(made.pmf.values())) > 1 for made, _ in log)  # not all uniform
    for made, reward in log:
        back = parse_dsjson_line(dsjson_line(made, reward, catalog, timestamp=NOW))
        assert back.decision_id == made.decision_id
        assert back.actions == made.actions
        assert back.pmf == tuple(rounded(p) for p in made.pmf.values())
        assert back.chosen_index == made.chosen_index
        assert back.chosen == made.chosen
        assert back.probability == rounded(made.probability)
        assert back.skip_learn is (reward is None)
        assert back.reward == (None if reward is None else -rounded(-reward))
        assert back.policy_version == made.policy_version
        assert back.features.moment is made.features.moment


def test_a_line_read_back_gives_the_same_vw_examples(catalog: Catalog) -> None:
    policy = VWPolicy(SETTINGS, catalog=catalog)
    for made, reward in policy_log(catalog):
        back = parse_dsjson_line(dsjson_line(made, reward, catalog))
        assert policy.examples(back.features, back.actions) == policy.examples(
            made.features, made.actions
        )
        if back.reward is not None and reward is not None:
            logged = (made.chosen_index, -reward, made.probability)
            label = (back.chosen_index, -back.reward, back.probability)
            assert policy.examples(back.features, back.actions, label) == policy.examples(
                made.features, made.actions, logged
            )


def test_the_golden_line_reads_back_into_named_namespaces() -> None:
    back = parse_dsjson_line(GOLDEN)
    assert back.decision_id == "d-1"
    assert back.actions == (NO_OFFER, "storage_200")
    assert back.pmf == (0.25, 0.75)
    assert (back.chosen_index, back.probability, back.reward) == (1, 0.75, 1.0)
    assert back.features.moment is Moment.LIMIT_HIT
    assert dict(back.features.namespaces["account"]) == {
        "plan=team": 1.0,
        "seats": 1.38629,
        "tenure": 2.3979,
    }
    assert list(back.features.namespaces) == [
        "moment",
        "intent",
        "activity",
        "account",
        "placement",
        "history",
    ]


def test_intents_come_back_with_the_sanitised_names_vw_learned() -> None:
    original = storage_half_full()
    assert "limit_reached:storage" in original.intents
    back = parse_dsjson_line(GOLDEN)
    assert dict(back.features.intents) == {"limit_reached": 0.5, "limit_reached_storage": 0.5}
    assert shared_line(back.features) == shared_line(original)


def test_a_skipped_decision_reads_back_without_a_reward(catalog: Catalog) -> None:
    back = parse_dsjson_line(dsjson_line(storage_offered(), None, catalog))
    assert back.skip_learn is True
    assert back.reward is None
    assert (back.chosen_index, back.probability) == (1, 0.75)


def golden_with(change: Callable[[dict[str, Any]], object]) -> str:
    """The golden line with one change made to its JSON object."""
    record = parsed(GOLDEN)
    change(record)
    return json.dumps(record)


MALFORMED: dict[str, tuple[str, str]] = {
    "not JSON": ('{"EventId": ', "not JSON"),
    "not an object": ("[1, 2]", "the line must be a JSON object"),
    "NaN cost": (GOLDEN.replace('"_label_cost":-1.0', '"_label_cost":NaN'), "NaN"),
    "no event id": (golden_with(lambda r: r.pop("EventId")), "missing 'EventId'"),
    "empty event id": (golden_with(lambda r: r.update(EventId="")), "'EventId'"),
    "other version": (golden_with(lambda r: r.update(Version="2")), "'Version'"),
    "no actions": (golden_with(lambda r: r["c"].pop("_multi")), "missing 'c._multi'"),
    "action without id": (
        golden_with(lambda r: r["c"]["_multi"][1]["O"].pop("id=storage_200")),
        r"'c._multi\[1\].O' must hold exactly one id=",
    ),
    "action twice": (
        golden_with(lambda r: r["c"]["_multi"].__setitem__(1, r["c"]["_multi"][0])),
        "listed twice",
    ),
    "a not a permutation": (golden_with(lambda r: r.update(a=[2, 2])), "'a' must list each"),
    "a too short": (golden_with(lambda r: r.update(a=[2])), "'a' has 1 and 'p' 2 entries"),
    "a of strings": (golden_with(lambda r: r.update(a=["2", "1"])), "must be an integer"),
    "p not a pmf": (golden_with(lambda r: r.update(p=[0.75, 0.75])), "sum to 1.5"),
    "p out of range": (golden_with(lambda r: r.update(p=[1.5, -0.5])), "not between 0 and 1"),
    "label probability": (
        golden_with(lambda r: r.update(_label_probability=0.5)),
        "'_label_probability' 0.5 is not the chosen action's probability 0.75",
    ),
    "label index": (golden_with(lambda r: r.update(_labelIndex=0)), "'_labelIndex' 0 disagrees"),
    "label action": (golden_with(lambda r: r.update(_label_Action=1)), "'_label_Action' 1"),
    "no label": (golden_with(lambda r: r.pop("_label_cost")), "missing '_label_cost'"),
    "cost as text": (golden_with(lambda r: r.update(_label_cost="-1")), "must be a number"),
    "skip not a flag": (golden_with(lambda r: r.update(_skipLearn="yes")), "'_skipLearn'"),
    "unknown namespace": (
        golden_with(lambda r: r["c"].update(Z={"x": 1.0})),
        "'c.Z' is not a shared namespace",
    ),
    "reserved key": (golden_with(lambda r: r["c"].update(_slots=[])), "'c._slots'"),
    "feature not a number": (
        golden_with(lambda r: r["c"]["A"].update(seats="three")),
        "'c.A.seats' must be a number",
    ),
    "no moment": (golden_with(lambda r: r["c"].pop("M")), "exactly one moment="),
    "unknown moment": (
        golden_with(lambda r: r["c"].update(M={"moment=teatime": 1.0})),
        "unknown moment 'teatime'",
    ),
    "policy version": (golden_with(lambda r: r.update(VWState={"m": 42})), "'VWState.m'"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_line_is_refused_saying_what_is_wrong(case: str) -> None:
    line, message = MALFORMED[case]
    with pytest.raises(ValueError, match=message):
        parse_dsjson_line(line)


def test_a_chosen_action_logged_with_probability_zero_is_refused() -> None:
    def zero(record: dict[str, Any]) -> None:
        record.update(p=[0.0, 1.0], _label_probability=0.0)

    with pytest.raises(ValueError, match="probability 0"):
        parse_dsjson_line(golden_with(zero))


def experienced() -> Features:
    """The user has seen the storage offer twice and said "Not now" once, a day ago."""
    history = History(
        offers={"storage_200": OfferHistory(shown=2, dismissed=1, seconds_since_shown=86400.0)}
    )
    return extract(
        context(signals=[{"kind": "limit_reached", "limit": "storage", "usage": 0.5}]), history
    )


def test_the_users_experience_of_an_offer_travels_on_its_action(catalog: Catalog) -> None:
    made = decision(experienced(), {NO_OFFER: 0.25, "storage_200": 0.75}, "storage_200")

    multi = parsed(dsjson_line(made, 1.0, catalog))["c"]["_multi"]

    assert "E" not in multi[0]
    assert multi[1]["E"] == {"dismissed": 1.0, "shown": 1.09861, "since_shown": 7.27309}


def test_the_users_experience_reads_back_into_the_same_vw_examples(catalog: Catalog) -> None:
    policy = VWPolicy(SETTINGS, catalog=catalog)
    made = decision(experienced(), {NO_OFFER: 0.25, "storage_200": 0.75}, "storage_200")

    back = parse_dsjson_line(dsjson_line(made, 1.0, catalog))

    label = (1, -1.0, 0.75)
    assert policy.examples(back.features, back.actions, label) == policy.examples(
        made.features, made.actions, label
    )
