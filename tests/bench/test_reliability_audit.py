"""The reliability run's log audit: the respect rules and logged propensities, re-checked.

The audit is what declares a load run safe, so each rule it re-checks is pinned
here on a tiny hand-made log with exactly one violation of that kind.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bandit import TactfulConfig
from bench.reliability.audit import (
    LoggedDecision,
    LoggedEvent,
    Rules,
    propensity_problems,
    respect_violations,
)

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def rules(config: TactfulConfig) -> Rules:
    """The example deployment's rules: 1 per session, 2 a day, 5 a week, 30 min quiet."""
    return Rules.of(config)


class Log:
    """Builds a one-user log: offers and events at minutes after T0, in seq order."""

    def __init__(self, user: str = "u") -> None:
        self.user = user
        self.decisions: list[LoggedDecision] = []
        self.events: list[LoggedEvent] = []

    def offer(
        self, offer: str | None, minutes: float, session: str = "", focus: bool = False
    ) -> str:
        decision_id = f"d{len(self.decisions)}"
        self.decisions.append(
            LoggedDecision(
                seq=len(self.decisions) + 1,
                decision_id=decision_id,
                user_key=self.user,
                session_id=session or f"s{len(self.decisions)}",
                at=T0 + timedelta(minutes=minutes),
                offer_id=offer,
                focus_heavy=focus,
            )
        )
        return decision_id

    def event(self, decision_id: str, kind: str, minutes: float) -> None:
        self.events.append(
            LoggedEvent(decision_id, self.user, kind, T0 + timedelta(minutes=minutes))
        )

    def codes(self, rules: Rules) -> list[str]:
        return [v.code for v in respect_violations(self.decisions, self.events, rules)]


def test_a_log_that_keeps_every_rule_has_no_violations(rules: Rules) -> None:
    log = Log()
    log.offer("storage_200", 0)
    log.offer(None, 1)
    log.offer("automation", 60 * 25)  # the next day
    assert log.codes(rules) == []


def test_a_second_offer_in_one_session_breaks_the_session_cap(rules: Rules) -> None:
    log = Log()
    log.offer("storage_200", 0, session="s")
    log.offer("automation", 1, session="s")
    assert log.codes(rules) == ["session_cap"]


def test_the_same_offer_twice_in_a_session_is_a_repeat(rules: Rules) -> None:
    relaxed = Rules(**{**rules.__dict__, "max_per_session": 5})
    log = Log()
    log.offer("storage_200", 0, session="s")
    log.offer("storage_200", 1, session="s")
    assert log.codes(relaxed) == ["repeat_in_session"]


def test_a_third_offer_in_a_day_breaks_the_daily_cap(rules: Rules) -> None:
    log = Log()
    for hour in (0, 2, 4):
        log.offer("storage_200", 60 * hour)
    assert log.codes(rules) == ["daily_cap"]


def test_a_sixth_offer_in_a_week_breaks_the_weekly_cap(rules: Rules) -> None:
    log = Log()
    for day in range(6):
        log.offer("storage_200", 60 * 24 * day)
    assert log.codes(rules) == ["weekly_cap"]


def test_an_offer_inside_its_cooldown_after_not_now_is_flagged(rules: Rules) -> None:
    log = Log()
    first = log.offer("storage_200", 0)
    log.event(first, "dismissed", 1)
    log.offer("storage_200", 60 * 25)  # past the quiet time, inside the 72 h rest
    assert log.codes(rules) == ["offer_cooldown"]


def test_any_offer_in_the_quiet_time_after_a_dismissal_is_flagged(rules: Rules) -> None:
    log = Log()
    first = log.offer("storage_200", 0)
    log.event(first, "dismissed", 1)
    log.offer("automation", 10)
    assert log.codes(rules) == ["global_cooldown"]


def test_an_offer_after_the_last_allowed_dismissal_is_retired(rules: Rules) -> None:
    log = Log()
    day = 60 * 24
    for start in (0, 4 * day, 11 * day):
        decision = log.offer("storage_200", start)
        log.event(decision, "dismissed", start + 1)
    log.offer("storage_200", 60 * day)
    assert log.codes(rules) == ["retired"]


def test_an_offer_after_opting_out_is_flagged(rules: Rules) -> None:
    log = Log()
    quiet = log.offer(None, 0)
    log.event(quiet, "opted_out", 1)
    log.offer("storage_200", 5)
    assert log.codes(rules) == ["opted_out"]


def test_an_interruptive_offer_during_focus_heavy_work_is_flagged(rules: Rules) -> None:
    log = Log()
    log.offer("storage_200", 0, focus=True)  # inline: allowed during focus
    log.offer("pro_plan", 60 * 25, focus=True)  # a modal: never during focus
    assert log.codes(rules) == ["interrupts_focus"]


def test_users_are_audited_apart(rules: Rules) -> None:
    a, b = Log("a"), Log("b")
    a.offer("storage_200", 0, session="s")
    b.offer("storage_200", 1, session="s")
    assert respect_violations([*a.decisions, *b.decisions], [], rules) == []


def _decision(**fields: object) -> LoggedDecision:
    base: dict[str, object] = {
        "seq": 1,
        "decision_id": "d",
        "user_key": "u",
        "session_id": "s",
        "at": T0,
        "offer_id": "storage_200",
        "focus_heavy": False,
        "chosen": "storage_200",
        "probability": 0.75,
        "pmf": {"no_offer": 0.25, "storage_200": 0.75},
        "eligible": ("no_offer", "storage_200"),
    }
    base.update(fields)
    return LoggedDecision(**base)  # type: ignore[arg-type]


def test_sound_propensities_pass() -> None:
    assert propensity_problems([_decision()]) == []


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"pmf": {"storage_200": 1.0}, "probability": 1.0}, "no_offer missing"),
        ({"pmf": {"no_offer": 0.5, "storage_200": 0.75}}, "sums to"),
        ({"chosen": "automation"}, "not in the pmf"),
        ({"probability": 0.5}, "!= pmf[chosen]"),
        ({"eligible": ("no_offer", "storage_200", "automation")}, "!= eligible"),
        ({"pmf": {"no_offer": 1.0, "storage_200": 0.0}, "probability": 0.0}, "not positive"),
    ],
)
def test_each_kind_of_bad_propensity_is_named(fields: dict[str, object], fragment: str) -> None:
    problems = propensity_problems([_decision(**fields)])
    assert any(fragment in p for p in problems), problems
