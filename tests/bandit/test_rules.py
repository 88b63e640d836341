"""The respect rules, one behaviour each: what is removed, with which code, and why."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import timedelta

import pytest

from bandit import NO_OFFER, Catalog, RespectRules, TactfulConfig
from bandit.decision import Removal, RemovalCode
from bandit.respect import Acceptance, Dismissal, Exposure, RespectState
from bandit.rules import Eligibility, Situation, eligibility
from features import SessionContext, extract
from tests.builders import NOW, completed_upload, context

SESSION = "s1"


def situation(
    config: TactfulConfig,
    moment: SessionContext,
    state: RespectState | None = None,
    *,
    rules: RespectRules | None = None,
    catalog: Catalog | None = None,
    renderable: Collection[str] | None = None,
) -> Situation:
    """A decision point at NOW in session SESSION, with the example deployment's defaults."""
    state = state if state is not None else RespectState()
    return Situation(
        context=moment,
        features=extract(moment, state.history(SESSION, NOW)),
        state=state,
        session_id=SESSION,
        now=NOW,
        rules=rules if rules is not None else config.rules,
        catalog=catalog if catalog is not None else config.catalog(),
        renderable=renderable,
    )


def removal_of(result: Eligibility, offer_id: str) -> Removal:
    """The one removal of ``offer_id``; fails if the offer stayed eligible."""
    found = [removal for removal in result.removed if removal.offer_id == offer_id]
    assert len(found) == 1, f"{offer_id!r} was not removed; eligible: {result.eligible}"
    return found[0]


def assert_human_readable(removal: Removal) -> None:
    """A reason is a short sentence for people, not a code or a repr."""
    reason = removal.reason
    assert reason == reason.strip()
    assert len(reason.split()) >= 3
    assert reason != removal.code.value
    assert "RemovalCode" not in reason
    assert "Removal(" not in reason


def focus_at_completion() -> SessionContext:
    """Focus-heavy work, at a fresh completion: only the focus rule can object."""
    return context(
        signals=[{"kind": "task_completed", "seconds_ago": 5}],
        activity={"focus_heavy": True, "stage": "completed"},
    )


def half_strength_completion() -> SessionContext:
    """A completion moment whose task_completed intent has decayed to 0.5."""
    return context(
        signals=[{"kind": "task_completed", "seconds_ago": 300}],
        activity={"stage": "completed"},
    )


# Rule 1: focus-heavy work.


def test_modal_is_not_shown_during_focus_heavy_work(config: TactfulConfig) -> None:
    result = eligibility(situation(config, focus_at_completion()))

    removal = removal_of(result, "pro_plan")
    assert removal.code is RemovalCode.INTERRUPTS_FOCUS
    assert_human_readable(removal)
    assert "'modal'" in removal.reason


def test_inline_offer_is_allowed_during_focus_heavy_work(config: TactfulConfig) -> None:
    deep_work_at_limit = context(
        signals=[{"kind": "limit_reached", "limit": "storage", "usage": 0.97, "seconds_ago": 5}],
        activity={"focus_heavy": True, "stage": "mid_task"},
    )

    result = eligibility(situation(config, deep_work_at_limit))

    assert "storage_200" in result.eligible


def test_focus_allowance_follows_focus_max_level(config: TactfulConfig) -> None:
    rules = config.rules.model_copy(update={"focus_max_level": 1})

    result = eligibility(situation(config, focus_at_completion(), rules=rules))

    assert "team_invite" in result.eligible


# Rule 2: plan changes wait for a completion.


def test_plan_change_waits_for_a_completion_moment(config: TactfulConfig) -> None:
    limit_hit = context(
        signals=[{"kind": "limit_reached", "limit": "storage", "usage": 0.97, "seconds_ago": 5}]
    )

    result = eligibility(situation(config, limit_hit))

    removal = removal_of(result, "pro_plan")
    assert removal.code is RemovalCode.BIG_ASK_NOT_AT_COMPLETION
    assert_human_readable(removal)
    assert "limit_hit" in removal.reason


@pytest.mark.parametrize(
    ("moment", "activity", "signals"),
    [
        ("idle", {"stage": "idle"}, []),
        ("mid_task", {"stage": "mid_task"}, []),
        (
            "limit_hit",
            {"stage": "idle"},
            [{"kind": "limit_reached", "limit": "storage", "usage": 0.97, "seconds_ago": 5}],
        ),
    ],
)
def test_a_big_ask_away_from_a_completion_is_coded_for_what_the_rule_checks(
    config: TactfulConfig, moment: str, activity: dict[str, str], signals: list[dict[str, object]]
) -> None:
    result = eligibility(situation(config, context(activity=activity, signals=signals)))

    removal = removal_of(result, "pro_plan")
    assert removal.code.value == "big_ask_not_at_completion"
    assert f"now: {moment}" in removal.reason


def test_a_removal_stored_under_the_old_big_ask_code_still_reads() -> None:
    assert RemovalCode("big_ask_mid_task") is RemovalCode.BIG_ASK_NOT_AT_COMPLETION


def test_plan_change_is_allowed_at_a_completion_moment(config: TactfulConfig) -> None:
    result = eligibility(situation(config, completed_upload()))

    assert "pro_plan" in result.eligible


# Rule 3: relevance bar by interruptiveness.


def test_more_interruptive_format_needs_higher_relevance(config: TactfulConfig) -> None:
    banner = config.catalog()["team_invite"]
    modal = banner.model_copy(update={"format": "modal"})

    as_banner = eligibility(
        situation(config, half_strength_completion(), catalog=Catalog([banner], config.formats))
    )
    as_modal = eligibility(
        situation(config, half_strength_completion(), catalog=Catalog([modal], config.formats))
    )

    assert "team_invite" in as_banner.eligible
    removal = removal_of(as_modal, "team_invite")
    assert removal.code is RemovalCode.BELOW_RELEVANCE_BAR
    assert_human_readable(removal)
    assert "0.50" in removal.reason
    assert "0.85" in removal.reason


def test_relevance_exactly_at_the_bar_is_enough(config: TactfulConfig) -> None:
    rules = config.rules.model_copy(update={"relevance_bars": [0.5]})

    result = eligibility(situation(config, half_strength_completion(), rules=rules))

    assert "team_invite" in result.eligible


def test_offer_without_matching_intent_is_not_eligible(config: TactfulConfig) -> None:
    result = eligibility(situation(config, completed_upload()))

    removal = removal_of(result, "automation")
    assert removal.code is RemovalCode.BELOW_RELEVANCE_BAR
    assert_human_readable(removal)
    assert "0.00" in removal.reason


# Rule 4: "Not now" cooldowns.


def test_dismissed_offer_is_not_shown_again_within_cooldown(config: TactfulConfig) -> None:
    state = RespectState(dismissals=(Dismissal("storage_200", NOW - timedelta(hours=71)),))

    result = eligibility(situation(config, completed_upload(), state))

    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.OFFER_COOLDOWN
    assert_human_readable(removal)
    assert (NOW + timedelta(hours=1)).isoformat() in removal.reason


def test_dismissed_offer_returns_when_its_cooldown_ends(config: TactfulConfig) -> None:
    state = RespectState(dismissals=(Dismissal("storage_200", NOW - timedelta(hours=72)),))

    result = eligibility(situation(config, completed_upload(), state))

    assert "storage_200" in result.eligible


def test_cooldown_escalates_after_second_dismissal(config: TactfulConfig) -> None:
    state = RespectState(
        dismissals=(
            Dismissal("storage_200", NOW - timedelta(hours=300)),
            Dismissal("storage_200", NOW - timedelta(hours=100)),
        )
    )

    result = eligibility(situation(config, completed_upload(), state))

    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.OFFER_COOLDOWN
    assert_human_readable(removal)
    assert (NOW + timedelta(hours=44)).isoformat() in removal.reason


def test_offer_retires_after_n_dismissals(config: TactfulConfig) -> None:
    state = RespectState(
        dismissals=(
            Dismissal("storage_200", NOW - timedelta(days=365)),
            Dismissal("storage_200", NOW - timedelta(days=364)),
            Dismissal("storage_200", NOW - timedelta(days=363)),
        )
    )

    result = eligibility(situation(config, completed_upload(), state))

    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.RETIRED
    assert_human_readable(removal)
    assert "3 times" in removal.reason


def test_steeply_escalated_cooldown_keeps_the_offer_resting(config: TactfulConfig) -> None:
    rules = config.rules.model_copy(
        update={"cooldown_escalation": 10.0, "retire_after_dismissals": 50}
    )
    state = RespectState(
        dismissals=tuple(
            Dismissal("storage_200", NOW - timedelta(days=days)) for days in range(1, 13)
        )
    )

    result = eligibility(situation(config, completed_upload(), state, rules=rules))

    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.OFFER_COOLDOWN
    assert_human_readable(removal)


def test_global_cooldown_after_any_dismissal(config: TactfulConfig) -> None:
    state = RespectState(dismissals=(Dismissal("team_invite", NOW - timedelta(minutes=10)),))

    result = eligibility(situation(config, completed_upload(), state))

    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.GLOBAL_COOLDOWN
    assert_human_readable(removal)
    assert (NOW + timedelta(minutes=20)).isoformat() in removal.reason


def test_global_cooldown_ends_after_its_quiet_time(config: TactfulConfig) -> None:
    state = RespectState(dismissals=(Dismissal("team_invite", NOW - timedelta(minutes=30)),))

    result = eligibility(situation(config, completed_upload(), state))

    assert "storage_200" in result.eligible


def test_huge_global_cooldown_keeps_every_offer_quiet(config: TactfulConfig) -> None:
    rules = config.rules.model_copy(update={"global_cooldown_minutes": 1e12})
    state = RespectState(dismissals=(Dismissal("team_invite", NOW - timedelta(days=30)),))

    result = eligibility(situation(config, completed_upload(), state, rules=rules))

    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.GLOBAL_COOLDOWN
    assert_human_readable(removal)


# Rule 5: frequency caps.


def test_session_cap(config: TactfulConfig) -> None:
    state = RespectState(exposures=(Exposure("team_invite", SESSION, NOW - timedelta(minutes=5)),))

    result = eligibility(situation(config, completed_upload(), state))

    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.SESSION_CAP
    assert_human_readable(removal)


def test_session_cap_counts_only_this_session(config: TactfulConfig) -> None:
    state = RespectState(exposures=(Exposure("team_invite", "s0", NOW - timedelta(hours=2)),))

    result = eligibility(situation(config, completed_upload(), state))

    assert "storage_200" in result.eligible


def test_same_offer_never_twice_in_a_session(config: TactfulConfig) -> None:
    rules = config.rules.model_copy(update={"max_per_session": 5})
    state = RespectState(exposures=(Exposure("storage_200", SESSION, NOW - timedelta(minutes=5)),))

    result = eligibility(situation(config, completed_upload(), state, rules=rules))

    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.REPEAT_IN_SESSION
    assert_human_readable(removal)


def test_daily_cap(config: TactfulConfig) -> None:
    state = RespectState(
        exposures=(
            Exposure("team_invite", "s0", NOW - timedelta(hours=5)),
            Exposure("automation", "s00", NOW - timedelta(hours=2)),
        )
    )

    result = eligibility(situation(config, completed_upload(), state))

    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.DAILY_CAP
    assert_human_readable(removal)
    assert "2" in removal.reason


def test_daily_cap_forgets_offers_older_than_a_day(config: TactfulConfig) -> None:
    state = RespectState(
        exposures=(
            Exposure("team_invite", "s0", NOW - timedelta(hours=25)),
            Exposure("automation", "s00", NOW - timedelta(hours=2)),
        )
    )

    result = eligibility(situation(config, completed_upload(), state))

    assert "storage_200" in result.eligible


def test_weekly_cap(config: TactfulConfig) -> None:
    state = RespectState(
        exposures=tuple(
            Exposure("team_invite", f"s-{days}", NOW - timedelta(days=days)) for days in range(2, 7)
        )
    )

    result = eligibility(situation(config, completed_upload(), state))

    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.WEEKLY_CAP
    assert_human_readable(removal)
    assert "5" in removal.reason


def test_weekly_cap_forgets_offers_older_than_a_week(config: TactfulConfig) -> None:
    state = RespectState(
        exposures=tuple(
            Exposure("team_invite", f"s-{days}", NOW - timedelta(days=days))
            for days in (2, 3, 4, 5, 8)
        )
    )

    result = eligibility(situation(config, completed_upload(), state))

    assert "storage_200" in result.eligible


# Rule 6: opt-out.


def test_opted_out_user_gets_no_offers(config: TactfulConfig) -> None:
    result = eligibility(situation(config, completed_upload(), RespectState(opted_out=True)))

    assert result.eligible == (NO_OFFER,)
    assert {removal.offer_id for removal in result.removed} == set(config.catalog().offers)
    for removal in result.removed:
        assert removal.code is RemovalCode.OPTED_OUT
        assert_human_readable(removal)


def test_opting_back_in_restores_offers(config: TactfulConfig) -> None:
    opted_out = RespectState(opted_out=True)

    result = eligibility(situation(config, completed_upload(), replace(opted_out, opted_out=False)))

    assert "storage_200" in result.eligible


# Rule 7: "no offer".


def test_no_offer_is_always_eligible(config: TactfulConfig) -> None:
    worst = RespectState(
        opted_out=True,
        exposures=(Exposure("storage_200", SESSION, NOW),),
        dismissals=(Dismissal("storage_200", NOW),),
    )

    result = eligibility(situation(config, completed_upload(), worst, renderable=()))

    assert result.eligible == (NO_OFFER,)


def test_eligibility_without_no_offer_first_is_refused() -> None:
    with pytest.raises(ValueError, match=NO_OFFER):
        Eligibility(("storage_200", NO_OFFER))


# What the client can render, and where.


def test_not_renderable(config: TactfulConfig) -> None:
    result = eligibility(situation(config, completed_upload(), renderable={"storage_200"}))

    removal = removal_of(result, "team_invite")
    assert removal.code is RemovalCode.NOT_RENDERABLE
    assert_human_readable(removal)
    assert "storage_200" in result.eligible


def test_wrong_placement(config: TactfulConfig) -> None:
    dashboard_only = config.catalog()["storage_200"].model_copy(
        update={"placements": ["dashboard"]}
    )
    catalog = Catalog([dashboard_only], config.formats)

    result = eligibility(situation(config, completed_upload(), catalog=catalog))

    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.WRONG_PLACEMENT
    assert_human_readable(removal)
    assert "'editor'" in removal.reason


def test_offer_with_placements_is_shown_at_its_placement(config: TactfulConfig) -> None:
    editor_only = config.catalog()["storage_200"].model_copy(update={"placements": ["editor"]})
    catalog = Catalog([editor_only], config.formats)

    result = eligibility(situation(config, completed_upload(), catalog=catalog))

    assert result.eligible == (NO_OFFER, "storage_200")


def owning_storage() -> SessionContext:
    """A completed upload by an account that already has the storage add-on."""
    return context(
        signals=[{"kind": "upload_completed", "seconds_ago": 5}],
        activity={"focus_heavy": False, "stage": "completed"},
        account={"add_ons": ["storage_200"]},
    )


def test_an_offer_the_account_already_has_is_not_offered(config: TactfulConfig) -> None:
    owner = owning_storage()
    result = eligibility(situation(config, owner))
    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.ALREADY_OWNED
    assert_human_readable(removal)


def test_an_offer_the_user_said_yes_to_is_not_offered_again(config: TactfulConfig) -> None:
    state = RespectState(acceptances=(Acceptance("storage_200", NOW - timedelta(days=20)),))
    result = eligibility(situation(config, completed_upload(), state))
    removal = removal_of(result, "storage_200")
    assert removal.code is RemovalCode.ALREADY_ACCEPTED
    assert_human_readable(removal)


def test_a_repeatable_offer_may_be_offered_again_after_a_yes(config: TactfulConfig) -> None:
    catalog = config.catalog()
    top_up = catalog["storage_200"].model_copy(update={"repeatable": True})
    repeatable = Catalog([top_up, *(o for o in catalog if o.id != "storage_200")], catalog.formats)
    state = RespectState(acceptances=(Acceptance("storage_200", NOW - timedelta(days=20)),))
    owner = owning_storage()
    result = eligibility(situation(config, owner, state, catalog=repeatable))
    assert "storage_200" in result.eligible
