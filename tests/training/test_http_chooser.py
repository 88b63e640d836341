"""The simulator's HTTP client sends what its own hand-written rules would have shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bandit import NO_OFFER, Catalog, Decider, EventKind, InMemoryRespectStore, TactfulConfig
from features import SessionContext
from serving.demo.harness import running_server
from serving.settings import Settings
from tests.builders import EXAMPLE_CONFIG, completed_upload, context, mid_task_focus
from tests.serving.server import Server, json_of
from training.simulator import SimUser
from training.simulator.choosers import RulesPolicy
from training.simulator.http_chooser import (
    HttpChooser,
    SimClock,
    metric,
    rule_choice,
)
from training.simulator.population import Moment

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
#: A moment with no signal at all: the rules have nothing to match.
NOTHING_HAPPENED = context(activity={"stage": "idle"})


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real service for the chooser to call (it never learns: only the log is read)."""
    server = Server("chooser", tmp_path_factory.mktemp("chooser"), {"TACTFUL_LEARNER": "false"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    "moment",
    [completed_upload(), mid_task_focus(), NOTHING_HAPPENED],
    ids=["peak", "focus", "idle"],
)
def test_the_rule_choice_is_what_the_rules_show_when_every_offer_is_eligible(
    config: TactfulConfig, moment: SessionContext
) -> None:
    rules = RulesPolicy(config.catalog())
    # Nothing shown, nothing dismissed, every offer renderable; only the rules' own
    # moment checks can remove an offer, and the rules pick from the rest.
    decider = Decider(config, rules, InMemoryRespectStore(), clock=lambda: NOW)
    everything = decider.eligibility("u", "s", moment).eligible

    choice = rule_choice(rules, moment)

    assert choice in (NO_OFFER, *config.catalog().offers)
    if choice in everything:
        assert decider.decide("u", "s", moment, decision_id="d").chosen == choice


def test_the_rules_choose_an_offer_after_a_completed_upload(config: TactfulConfig) -> None:
    assert rule_choice(RulesPolicy(config.catalog()), completed_upload()) != NO_OFFER


def test_the_rules_choose_no_offer_when_nothing_happened(config: TactfulConfig) -> None:
    assert rule_choice(RulesPolicy(config.catalog()), NOTHING_HAPPENED) == NO_OFFER


def test_the_http_chooser_logs_what_its_rules_would_have_shown(
    shared_server: Server, catalog: Catalog
) -> None:
    client = shared_server.client
    rules = RulesPolicy(catalog)
    chooser = HttpChooser(client, SimClock(NOW), rules=rules)
    moment = Moment(completed_upload(), "peak")

    decision_id, _ = chooser.decide(SimUser("rules-user", frozenset()), "rules-s", moment, NOW)

    record = json_of(client.get(f"/v1/decisions/{decision_id}"))
    assert record["rule_choice"] == rule_choice(rules, moment.context) != NO_OFFER


def test_an_http_chooser_without_rules_logs_no_rule_choice(shared_server: Server) -> None:
    client = shared_server.client
    chooser = HttpChooser(client, SimClock(NOW))
    moment = Moment(completed_upload(), "peak")

    decision_id, _ = chooser.decide(SimUser("norules-user", frozenset()), "norules-s", moment, NOW)

    assert json_of(client.get(f"/v1/decisions/{decision_id}"))["rule_choice"] is None


def test_a_metric_is_read_from_the_metrics_page() -> None:
    page = (
        "# HELP tactful_learner_lag x\n# TYPE tactful_learner_lag gauge\ntactful_learner_lag 12.0\n"
        "tactful_learner_rounds_total 3.0\n"
    )

    assert metric(page, "tactful_learner_lag") == 12.0
    assert metric(page, "tactful_learner_rounds_total") == 3.0


def test_a_metrics_page_without_the_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="tactful_learner_lag"):
        metric("tactful_learned_total 3.0\n", "tactful_learner_lag")


def test_the_end_of_a_day_waits_until_the_learner_has_learned_every_closed_decision(
    tmp_path: Path,
) -> None:
    """The demo's day boundary: windows closed, then a whole learner round after that."""
    settings = Settings(
        config=EXAMPLE_CONFIG,
        database_url=f"sqlite:///{tmp_path / 'day.db'}",
        learner_poll_seconds=0.05,
        mlruns=None,
    )
    clock = SimClock(NOW)
    with running_server(settings, clock) as url, httpx.Client(base_url=url, timeout=30) as client:
        chooser = HttpChooser(client, clock)
        for i in range(30):
            user = SimUser(f"day-{i}", frozenset())
            decision_id, offer = chooser.decide(
                user, f"s-{i}", Moment(completed_upload(), "peak"), NOW
            )
            if offer is not None:  # only an offer the user saw has a reward to learn
                chooser.report(decision_id, EventKind.SHOWN, 0.0, NOW)
        before = metric(client.get("/metrics").text, "tactful_learner_rounds_total")

        chooser.end_of_day(NOW + timedelta(days=1))

        page = client.get("/metrics").text
        assert metric(page, "tactful_learner_rounds_total") >= before + 2
        assert metric(page, "tactful_learned_total") == 30
        assert metric(page, "tactful_learner_lag") == 0
