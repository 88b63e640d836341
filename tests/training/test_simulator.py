"""The simulator: seeded, faithful to the upsell principles, and fair across choosers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from bandit import NeverOffer, TactfulConfig, Uniform
from features import SessionContext, extract
from tests.builders import completed_upload, context, mid_task_focus
from training.simulator import (
    Chooser,
    Effects,
    OracleChooser,
    PolicyChooser,
    PushyChooser,
    RulesPolicy,
    SimUser,
    Tally,
    population,
    session,
    simulate,
)
from training.simulator.population import Moment, acceptance

DAYS = 4


def run(
    chooser: Chooser, config: TactfulConfig, users: int = 40, days: int = DAYS, seed: int = 3
) -> Tally:
    """A small simulation: enough to see each behaviour, fast enough for the unit suite."""
    return simulate(chooser, config, users=users, days=days, seed=seed)


def _moment(build: Callable[[], SessionContext] = completed_upload) -> Moment:
    return Moment(build(), "test")


def test_same_seed_gives_the_same_people_and_sessions() -> None:
    effects = Effects()
    first = population(20, effects, np.random.default_rng(1))
    second = population(20, effects, np.random.default_rng(1))

    assert [u.needs for u in first] == [u.needs for u in second]


def test_every_session_starts_with_focused_work() -> None:
    user = SimUser("u", frozenset({"storage"}))

    moments = list(session(user, np.random.default_rng(0)))

    assert moments[0].context.activity.focus_heavy
    assert moments[-1].context.activity.stage.value == "completed"


def test_an_offer_that_fits_a_need_is_accepted_more_often(config: TactfulConfig) -> None:
    offer = config.catalog()["storage_200"]
    needy = SimUser("a", frozenset({"storage"}))
    other = SimUser("b", frozenset({"team"}))
    effects = Effects()

    fits = acceptance(needy, offer, _moment(), 0, effects, {"upload_completed"})
    does_not = acceptance(other, offer, _moment(), 0, effects, {"upload_completed"})

    assert fits > does_not


def test_mid_task_offers_land_worse_than_at_a_peak(config: TactfulConfig) -> None:
    offer = config.catalog()["storage_200"]
    user = SimUser("a", frozenset({"storage"}))
    effects = Effects()

    peak = acceptance(user, offer, _moment(completed_upload), 0, effects, set())
    busy = acceptance(user, offer, _moment(mid_task_focus), 0, effects, set())

    assert busy < peak


def test_nagging_with_the_same_offer_wears_acceptance_down(config: TactfulConfig) -> None:
    offer = config.catalog()["storage_200"]
    fresh = SimUser("a", frozenset({"storage"}))
    nagged = SimUser("b", frozenset({"storage"}), shown={"storage_200": 3})
    effects = Effects()

    assert acceptance(nagged, offer, _moment(), 0, effects, set()) < acceptance(
        fresh, offer, _moment(), 0, effects, set()
    )


def test_annoyance_lowers_acceptance(config: TactfulConfig) -> None:
    offer = config.catalog()["storage_200"]
    calm = SimUser("a", frozenset({"storage"}))
    annoyed = SimUser("b", frozenset({"storage"}), annoyance=0.8)
    effects = Effects()

    assert acceptance(annoyed, offer, _moment(), 0, effects, set()) < acceptance(
        calm, offer, _moment(), 0, effects, set()
    )


def test_an_owned_offer_is_never_accepted_again(config: TactfulConfig) -> None:
    offer = config.catalog()["storage_200"]
    owner = SimUser("a", frozenset({"storage"}), owned={"storage_200"})

    assert acceptance(owner, offer, _moment(), 0, Effects(), set()) == 0.0


def test_a_simulation_is_reproducible_under_a_seed(config: TactfulConfig) -> None:
    first = run(PolicyChooser("uniform", config, Uniform()), config)
    second = run(PolicyChooser("uniform", config, Uniform()), config)

    assert (first.decisions, first.impressions, first.accepted, first.reward) == (
        second.decisions,
        second.impressions,
        second.accepted,
        second.reward,
    )


def test_every_chooser_meets_the_same_people_at_the_same_moments(config: TactfulConfig) -> None:
    never = run(PolicyChooser("never", config, NeverOffer()), config)
    pushy = run(PushyChooser(config), config)

    assert never.decisions == pushy.decisions


@pytest.mark.parametrize("policy", ["uniform", "rules", "oracle"])
def test_policies_under_the_respect_rules_never_violate_them(
    config: TactfulConfig, policy: str
) -> None:
    choosers: dict[str, Chooser] = {
        "uniform": PolicyChooser("uniform", config, Uniform()),
        "rules": PolicyChooser("rules", config, RulesPolicy(config.catalog())),
        "oracle": OracleChooser(config, Effects()),
    }

    tally = run(choosers[policy], config)

    assert tally.impressions > 0
    assert tally.violations == 0


def test_pushy_policy_breaks_the_rules_and_drives_users_away(config: TactfulConfig) -> None:
    respectful = run(PolicyChooser("uniform", config, Uniform()), config)
    pushy = run(PushyChooser(config), config)

    assert pushy.violations > 0
    assert pushy.opt_outs > respectful.opt_outs
    assert pushy.reward < respectful.reward


def test_never_offer_shows_nothing_and_earns_the_default(config: TactfulConfig) -> None:
    tally = run(PolicyChooser("never", config, NeverOffer()), config)

    assert tally.impressions == 0
    assert tally.reward == pytest.approx(tally.decisions * config.reward.default)


def test_the_oracle_earns_more_than_uniform_random(config: TactfulConfig) -> None:
    uniform = run(PolicyChooser("uniform", config, Uniform()), config, users=80, days=6, seed=5)
    oracle = run(OracleChooser(config, Effects()), config, users=80, days=6, seed=5)

    assert oracle.reward > uniform.reward


def test_the_learning_curve_has_one_point_per_day(config: TactfulConfig) -> None:
    tally = run(PolicyChooser("uniform", config, Uniform()), config)

    assert len(tally.curve) == DAYS
    assert [d for d, _ in tally.curve] == sorted(d for d, _ in tally.curve)


def test_effect_sizes_refuse_impossible_probabilities() -> None:
    with pytest.raises(ValueError, match="base_accept"):
        Effects(base_accept=1.5)


def test_rules_policy_picks_the_offer_matching_the_signal(config: TactfulConfig) -> None:
    policy = RulesPolicy(config.catalog())
    features = extract(context(signals=[{"kind": "solo_success"}], activity={"stage": "completed"}))

    pmf = policy.probabilities(features, ("no_offer", "storage_200", "team_invite"))

    assert pmf.tolist() == [0.0, 0.0, 1.0]
