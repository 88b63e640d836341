"""The simulator: seeded, faithful to the upsell principles, and fair across choosers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    chooser: Chooser,
    config: TactfulConfig,
    users: int = 40,
    days: int = DAYS,
    seed: int = 3,
    **options: Any,
) -> Tally:
    """A small simulation: enough to see each behaviour, fast enough for the unit suite."""
    return simulate(chooser, config, users=users, days=days, seed=seed, **options)


def _moment(build: Callable[[], SessionContext] = completed_upload) -> Moment:
    return Moment(build(), "test")


def test_same_seed_gives_the_same_people_and_sessions() -> None:
    effects = Effects()
    first = population(20, effects, np.random.default_rng(1))
    second = population(20, effects, np.random.default_rng(1))

    assert [u.needs for u in first] == [u.needs for u in second]


def test_every_session_starts_with_focused_work() -> None:
    user = SimUser("u", frozenset({"storage"}))

    moments = list(session(user, np.random.default_rng(0), Effects()))

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


def test_lifts_compose_an_upload_hitting_the_limit_at_completion_gets_both(
    config: TactfulConfig,
) -> None:
    offer = config.catalog()["storage_200"]
    user = SimUser("a", frozenset({"storage"}))
    effects = Effects()
    upload = context(signals=[{"kind": "upload_completed"}], activity={"stage": "completed"})
    at_limit = context(
        signals=[{"kind": "upload_completed"}, {"kind": "limit_reached", "limit": "storage"}],
        activity={"stage": "completed"},
    )

    plain = acceptance(user, offer, Moment(upload, "upload"), 0, effects, set())
    limited = acceptance(user, offer, Moment(at_limit, "limit"), 0, effects, set())

    assert limited == pytest.approx(plain * effects.limit_lift)


def test_an_interruptive_format_in_focus_work_lands_worse_by_the_effect_in_effects(
    config: TactfulConfig,
) -> None:
    offer = config.catalog()["storage_200"]
    user = SimUser("a", frozenset({"storage"}))
    effects = Effects(focus_format_factor=0.25)

    inline = acceptance(user, offer, _moment(mid_task_focus), 0, effects, set())
    banner = acceptance(user, offer, _moment(mid_task_focus), 1, effects, set())

    assert banner == pytest.approx(inline * 0.25)


def test_a_repeated_action_is_sometimes_seen_outside_focus_work() -> None:
    """Where an automation offer (a summary, level 1) may appear at all."""
    user = SimUser("u", frozenset({"automation"}))
    rng = np.random.default_rng(0)

    moments = [m for _ in range(40) for m in session(user, rng, Effects())]
    repeated = [m for m in moments if m.label in ("batch finished", "repeated")]

    assert any(not m.context.activity.focus_heavy for m in repeated)
    assert any(m.context.activity.focus_heavy for m in repeated)


def test_the_automation_offer_is_shown_in_a_simulation(config: TactfulConfig) -> None:
    tally = run(OracleChooser(config, Effects()), config, users=80, days=6)

    assert tally.impressions > 0
    assert "automation" in tally.shown_offers


def test_the_account_tells_what_the_user_already_owns() -> None:
    user = SimUser("u", frozenset({"storage"}), owned={"storage_200", "pro_plan"})

    moment = next(session(user, np.random.default_rng(0), Effects()))

    assert moment.context.account.add_ons == ("pro_plan", "storage_200")
    assert moment.context.account.plan == "pro"


def test_users_arrive_steadily_over_the_arrival_days() -> None:
    users = population(30, Effects(), np.random.default_rng(0), arrival_days=10)

    assert [u.arrives for u in users][:4] == [0, 0, 0, 1]
    assert users[-1].arrives == 9


def test_users_who_arrive_later_decide_nothing_before_they_arrive(config: TactfulConfig) -> None:
    everyone = run(PolicyChooser("never", config, NeverOffer()), config)
    staggered = run(PolicyChooser("never", config, NeverOffer()), config, arrival_days=DAYS)

    assert 0 < staggered.decisions < everyone.decisions


def test_annoyed_users_leave_sooner(config: TactfulConfig) -> None:
    calm = run(PolicyChooser("never", config, NeverOffer()), config, days=10)
    pushy = run(PushyChooser(config), config, days=10)

    assert pushy.churned > calm.churned


def test_a_self_upgrade_counts_in_conversions_revenue_and_reward_alike(
    config: TactfulConfig,
) -> None:
    effects = Effects(self_upgrade_per_respected_no=1.0, base_accept=0.0)
    tally = run(PolicyChooser("uniform", config, Uniform()), config, effects=effects)

    assert tally.self_upgrades > 0
    assert tally.accepted == 0
    assert tally.conversions == tally.self_upgrades
    dismissed_and_opted = (
        tally.dismissals * config.reward.dismissed + tally.opt_outs * config.reward.opted_out
    )
    assert tally.reward == pytest.approx(
        tally.self_upgrades * config.reward.converted + dismissed_and_opted
    )


def test_the_same_offer_at_the_same_moment_meets_the_same_answer_under_any_chooser(
    config: TactfulConfig,
) -> None:
    """Common random numbers: the chooser's name and the draws made before don't matter."""
    first = run(PolicyChooser("uniform", config, Uniform()), config)
    renamed = run(PolicyChooser("uniform, renamed", config, Uniform()), config)

    assert (first.reward, first.accepted, first.dismissals) == (
        renamed.reward,
        renamed.accepted,
        renamed.dismissals,
    )


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
    """As long as nobody leaves: whoever churns has no more moments to meet."""
    staying = Effects(churn_base=0.0, churn_per_annoyance=0.0)
    never = run(PolicyChooser("never", config, NeverOffer()), config, effects=staying)
    pushy = run(PushyChooser(config), config, effects=staying)

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
