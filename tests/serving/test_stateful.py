"""The whole API as a state machine: random traffic, the respect rules checked after every step.

Hypothesis drives the real app in-process (``httpx.ASGITransport`` with the app's
lifespan, a SQLite file of the run's own, a clock the machine advances). Rules decide
for a small pool of users and sessions, post events (twice, after no-offer decisions,
for ids never issued), set preferences, move the clock by minutes to days, and
restart the service on the same database.

The machine keeps its own record of what happened (exposures, dismissals, opt-outs)
and checks every decision against it: the service's rules are not consulted, so a
rule the service forgot to apply, or state it forgot across a restart, shows up.

The store remembers exposures for 7 days (``EXPOSURE_MEMORY``), so a session id
reused after a week counts as a new session here, as it does in the service.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from bandit import TactfulConfig, parse_config
from bandit.catalog import Ambition
from bandit.respect import EXPOSURE_MEMORY
from features import Moment, is_completion
from serving.app import create_app
from serving.settings import Settings
from tests.builders import EXAMPLE_CONFIG, NOW

#: The example deployment, exploring on every decision (epsilon 1): the policy then picks
#: uniformly among whatever the rules left, so every eligible offer gets shown and a rule
#: the service forgot to apply is found quickly. Exploration must never cross a rule anyway.
SHIPPED_EXPLORATION = 'exploration = "epsilon"\nepsilon = 0.05'
EXPLORING = EXAMPLE_CONFIG.read_text(encoding="utf-8").replace(
    SHIPPED_EXPLORATION, 'exploration = "epsilon"\nepsilon = 1.0'
)
CONFIG: TactfulConfig = parse_config(EXPLORING)
assert CONFIG.policy.epsilon == 1.0, "the example config's exploration lines have changed"
RULES = CONFIG.rules
CATALOG = CONFIG.catalog()
LEVELS = {offer.id: CATALOG.level(offer) for offer in CATALOG}
OFFER_IDS = sorted(LEVELS)

USERS = ("ana", "bo")
SESSIONS = ("s1", "s2", "s3")
KINDS = ("shown", "accepted", "dismissed", "converted", "opted_out")
OFFER_EVENTS = frozenset({"shown", "accepted", "dismissed", "converted"})
OPPOSITE = {"accepted": "dismissed", "dismissed": "accepted"}

_STORAGE_FULL = {"kind": "limit_reached", "limit": "storage", "usage": 0.97, "seconds_ago": 5}
#: Named decision points; ``focus`` says whether the user is in focus-heavy work.
CONTEXTS: dict[str, dict[str, Any]] = {
    "upload_peak": {
        "placement": "editor",
        "signals": [
            {"kind": "upload_completed", "seconds_ago": 5},
            _STORAGE_FULL,
            {"kind": "task_completed", "seconds_ago": 5},
        ],
        "activity": {"focus_heavy": False, "stage": "completed"},
    },
    "solo_success_peak": {
        "placement": "editor",
        "signals": [
            {"kind": "solo_success", "seconds_ago": 2},
            {"kind": "task_completed", "seconds_ago": 2},
            {"kind": "limit_reached", "limit": "storage", "usage": 0.9, "seconds_ago": 30},
        ],
        "activity": {"focus_heavy": False, "stage": "completed"},
    },
    "repeated_action": {
        "placement": "editor",
        "signals": [{"kind": "action_repeated", "action": "format", "count": 4}],
        "activity": {"focus_heavy": False, "stage": "idle"},
    },
    "focus_mid_task": {
        "placement": "editor",
        "signals": [{"kind": "action_repeated", "action": "format", "count": 4, "seconds_ago": 10}],
        "activity": {"focus_heavy": True, "stage": "mid_task"},
    },
    "focus_storage_full": {
        "placement": "editor",
        "signals": [{"kind": "upload_completed", "seconds_ago": 1}, _STORAGE_FULL],
        "activity": {"focus_heavy": True, "stage": "mid_task"},
    },
    "focus_but_completed": {
        "placement": "editor",
        "signals": [
            {"kind": "task_completed", "seconds_ago": 1},
            {"kind": "solo_success", "seconds_ago": 1},
            _STORAGE_FULL,
        ],
        "activity": {"focus_heavy": True, "stage": "completed"},
    },
    "idle": {"placement": "home"},
}

#: Mostly no list (every offer renderable), sometimes the offers the client can render.
RENDERABLE = st.one_of(
    st.none(), st.none(), st.lists(st.sampled_from(OFFER_IDS), unique=True, max_size=4)
)
MINUTES = st.one_of(
    st.sampled_from([1, 29, 31, 61, 180, 24 * 60 + 1, 48 * 60, 72 * 60 + 1, 144 * 60 + 1]),
    st.integers(min_value=1, max_value=14 * 24 * 60),
)


class Clock:
    """The server's clock, moved only by the machine."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class UserRecord:
    """What the machine knows about one user's offers."""

    opted_out: bool = False
    exposures: list[tuple[str, str, datetime]] = field(default_factory=list)  # offer, session, at
    dismissals: list[tuple[str, datetime]] = field(default_factory=list)  # offer, at


@dataclass
class DecisionRecord:
    """One decision the service issued, and the events it has accepted for it."""

    user: str
    offer: str | None
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> first response


def _problems(user: UserRecord, offer: str, session: str, focus: bool, now: datetime) -> list[str]:
    """Every respect rule an offer to ``user`` right now would break (by the machine's record)."""
    problems = []
    recent = [e for e in user.exposures if e[2] >= now - EXPOSURE_MEMORY]
    in_session = [e for e in recent if e[1] == session]
    if user.opted_out:
        problems.append("offer to an opted-out user")
    if any(e[0] == offer for e in in_session):
        problems.append("same offer twice in a session")
    if len(in_session) >= RULES.max_per_session:
        problems.append("session cap broken")
    if len([e for e in recent if e[2] >= now - timedelta(days=1)]) >= RULES.max_per_day:
        problems.append("daily cap broken")
    if len(recent) >= RULES.max_per_week:
        problems.append("weekly cap broken")
    if focus and LEVELS[offer] > RULES.focus_max_level:
        problems.append(f"interruptive format (level {LEVELS[offer]}) during focus-heavy work")
    own = sorted(at for dismissed, at in user.dismissals if dismissed == offer)
    if len(own) >= RULES.retire_after_dismissals:
        problems.append("retired offer shown again")
    elif own and now < own[-1] + RULES.offer_cooldown(len(own)):
        problems.append("offer shown within its cooldown after a dismissal")
    if user.dismissals and now < max(at for _, at in user.dismissals) + RULES.global_cooldown:
        problems.append("offer shown within the global cooldown")
    return problems


class ApiMachine(RuleBasedStateMachine):
    """Random traffic against one service and its database; restarts keep the database."""

    decisions = Bundle("decisions")

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="tactful-stateful-"))
        self.clock = Clock(NOW)
        config = self.directory / "tactful.toml"
        config.write_text(EXPLORING, encoding="utf-8")
        self.settings = Settings(
            config=config,
            database_url=f"sqlite:///{self.directory / 'tactful.db'}",
            learner=False,
            checkpoint_poll_seconds=3600,
            mlruns=None,
            user_key_secret="stateful-suite-secret-0123456789",  # noqa: S106
            log_level="ERROR",
        )
        self.runner = asyncio.Runner()
        self.stack: AsyncExitStack | None = None
        self.client: httpx.AsyncClient | None = None
        self.users: dict[str, UserRecord] = {name: UserRecord() for name in USERS}
        self.issued: dict[str, DecisionRecord] = {}
        self.no_offer_ids: list[str] = []
        self.offer_ids: list[str] = []
        self.restarts = 0
        self.sessions = 0

    # -- plumbing -------------------------------------------------------------------------------

    async def _open(self) -> None:
        app: FastAPI = create_app(self.settings, clock=self.clock)
        stack = AsyncExitStack()
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        self.client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://tactful")
        )
        self.stack = stack

    async def _close(self) -> None:
        if self.stack is not None:
            stack, self.stack, self.client = self.stack, None, None
            await stack.aclose()

    def call(self, method: str, url: str, body: object | None = None) -> httpx.Response:
        """One request; never a server error, always a JSON body."""

        async def send() -> httpx.Response:
            assert self.client is not None
            return await self.client.request(method, url, json=body)

        response = self.runner.run(send())
        assert response.status_code < 500, (method, url, body, response.text)
        assert response.headers["content-type"].startswith("application/json"), response.headers
        return response

    def teardown(self) -> None:
        try:
            self.runner.run(self._close())
        finally:
            self.runner.close()
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- rules ----------------------------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        self.runner.run(self._open())

    @rule(
        target=decisions,
        user=st.sampled_from(USERS),
        session=st.sampled_from(SESSIONS),
        name=st.sampled_from(sorted(CONTEXTS)),
        renderable=RENDERABLE,
    )
    def decide(self, user: str, session: str, name: str, renderable: list[str] | None) -> str:
        """A decision point anywhere, for anyone."""
        return self._decide(user, session, name, renderable)

    @rule(
        target=decisions,
        user=st.sampled_from(USERS),
        session=st.sampled_from(SESSIONS),
        name=st.sampled_from(sorted(name for name in CONTEXTS if "focus" in name)),
    )
    def decide_during_focus(self, user: str, session: str, name: str) -> str:
        """Focus-heavy work: only the least interruptive formats may appear."""
        return self._decide(user, session, name, None)

    @rule(
        target=decisions,
        user=st.sampled_from(USERS),
        session=st.none() | st.sampled_from(SESSIONS),
        name=st.sampled_from(["upload_peak", "solo_success_peak"]),
    )
    def decide_at_a_peak(self, user: str, session: str | None, name: str) -> str:
        """A completion moment, where every offer is relevant: the caps and cooldowns decide.

        ``None`` is a new session, so the session cap does not hide an offer's cooldown.
        """
        if session is None:
            self.sessions += 1
            session = f"fresh-{self.sessions}"
        return self._decide(user, session, name, None)

    @rule(
        target=decisions,
        user=st.sampled_from(USERS),
        minutes=st.integers(1, 29) | st.integers(31, 72 * 60 - 1) | st.integers(72 * 60, 200 * 60),
        only_it=st.booleans(),
        name=st.sampled_from(["upload_peak", "solo_success_peak"]),
    )
    def come_back_after_a_dismissal(self, user: str, minutes: int, only_it: bool, name: str) -> str:
        """A new session soon after a "Not now": inside the quiet time or the offer's cooldown.

        With ``only_it`` the client can render only the dismissed offer, so it is the
        policy's one choice besides "no offer" whenever the rules let it through.
        """
        self.sessions += 1
        session = f"fresh-{self.sessions}"
        dismissals = self.users[user].dismissals
        if not dismissals:
            return self._decide(user, session, name, None)
        offer, at = dismissals[-1]
        self.clock.now = max(self.clock.now, at + timedelta(minutes=minutes))
        return self._decide(user, session, name, [offer] if only_it else None)

    @rule(
        target=decisions,
        user=st.sampled_from(USERS),
        name=st.sampled_from(["upload_peak", "solo_success_peak"]),
    )
    def same_session_again(self, user: str, name: str) -> str:
        """Another decision in the session of the user's last offer, for any other offer."""
        exposures = self.users[user].exposures
        if not exposures:
            return self._decide(user, SESSIONS[0], name, None)
        offer, session, _ = exposures[-1]
        return self._decide(user, session, name, [o for o in OFFER_IDS if o != offer])

    def _decide(self, user: str, session: str, name: str, renderable: list[str] | None) -> str:
        context = CONTEXTS[name]
        body: dict[str, Any] = {"user_id": user, "session_id": session, "context": context}
        if renderable is not None:
            body["renderable"] = renderable
        answer = self.call("POST", "/v1/decisions", body)
        assert answer.status_code == 200, answer.text
        decision = answer.json()
        offer = decision["offer"]
        offer_id = offer["id"] if offer is not None else None
        assert 0.0 < decision["probability"] <= 1.0
        if offer_id is not None:
            record = self.users[user]
            focus = bool(context.get("activity", {}).get("focus_heavy", False))
            broken = _problems(record, offer_id, session, focus, self.clock.now)
            assert not broken, (broken, name, offer_id, record)
            assert offer_id in decision["explanation"]["eligible"]
            assert renderable is None or offer_id in renderable
            if offer["ambition"] == Ambition.PLAN_CHANGE.value:
                assert is_completion(Moment(decision["explanation"]["moment"]))
            record.exposures.append((offer_id, session, self.clock.now))
            self.offer_ids.append(decision["decision_id"])
        else:
            self.no_offer_ids.append(decision["decision_id"])
        self.issued[decision["decision_id"]] = DecisionRecord(user, offer_id)
        event(f"decision: {'offer' if offer_id else 'no offer'}")
        for removal in decision["explanation"]["removed"]:
            event(f"removed: {removal['code']}")
        decision_id: str = decision["decision_id"]
        return decision_id

    def _post(self, decision_id: str, kind: str, value: float) -> httpx.Response:
        return self.call(
            "POST", f"/v1/decisions/{decision_id}/events", {"kind": kind, "value": value}
        )

    def _expected_status(self, record: DecisionRecord, kind: str) -> int:
        if kind in OFFER_EVENTS and record.offer is None:
            return 409
        if kind in OPPOSITE and OPPOSITE[kind] in record.events:
            return 409
        return 200

    @rule(
        decision_id=decisions,
        kind=st.sampled_from(KINDS),
        value=st.floats(min_value=0.0, max_value=1e6),  # the retry adds 1: stay under the 1e9 cap
        twice=st.booleans(),
    )
    def post_event(self, decision_id: str, kind: str, value: float, twice: bool) -> None:
        record = self.issued[decision_id]
        before = self.call("GET", f"/v1/decisions/{decision_id}").json()
        first = self._post(decision_id, kind, value)
        expected = self._expected_status(record, kind)
        assert first.status_code == expected, (kind, record, first.text)
        if expected != 200:
            after = self.call("GET", f"/v1/decisions/{decision_id}").json()
            assert after == before, "a refused event changed the record"
            return
        answer = first.json()
        assert answer["duplicate"] is (kind in record.events)
        if kind in record.events:
            assert answer["at"] == record.events[kind]["at"]
        else:
            record.events[kind] = answer
            self._remember(record, kind)
        if twice:
            stored = self.call("GET", f"/v1/decisions/{decision_id}").json()
            second = self._post(decision_id, kind, value + 1.0)
            assert second.status_code == 200, second.text
            again = second.json()
            assert again["duplicate"] is True
            assert {k: v for k, v in again.items() if k != "duplicate"} == {
                k: v for k, v in record.events[kind].items() if k != "duplicate"
            }
            assert self.call("GET", f"/v1/decisions/{decision_id}").json() == stored

    def _remember(self, record: DecisionRecord, kind: str) -> None:
        user = self.users[record.user]
        if kind == "dismissed" and record.offer is not None:
            user.dismissals.append((record.offer, self.clock.now))
        if kind == "opted_out":
            user.opted_out = True

    # Which decisions showed an offer depends on the policy's random draws, not on Hypothesis'
    # data, so these rules pick by index (a precondition on them would make generation flaky).

    @rule(index=st.integers(0, 2), kind=st.sampled_from(["dismissed", "dismissed", "accepted"]))
    def answer_an_offer(self, index: int, kind: str) -> None:
        """Answer a recent offer: dismissals start the cooldowns the machine then checks."""
        if self.offer_ids:
            recent = self.offer_ids[-3:]
            self.post_event(recent[index % len(recent)], kind, 0.0, twice=False)

    @rule(index=st.integers(0, 1000), kind=st.sampled_from(["accepted", "dismissed"]))
    def answer_a_no_offer_decision(self, index: int, kind: str) -> None:
        """Accepted or dismissed after "no offer" contradicts the record: 409."""
        if not self.no_offer_ids:
            return
        decision_id = self.no_offer_ids[index % len(self.no_offer_ids)]
        response = self._post(decision_id, kind, 0.0)
        assert response.status_code == 409, response.text
        assert response.json()["error"] == "event contradicts the decision"

    @rule(
        decision_id=st.text("0123456789abcdef", min_size=32, max_size=32),
        kind=st.sampled_from(KINDS),
        malformed=st.sampled_from(["x" * 65, "bad!id", "a b", "%00", "..", "-"]),
    )
    def unknown_decision(self, decision_id: str, kind: str, malformed: str) -> None:
        """Ids never issued are 404; ids that cannot be ours are refused without a lookup."""
        if decision_id not in self.issued:
            posted = self._post(decision_id, kind, 0.0)
            assert posted.status_code == 404, posted.text
            assert posted.json()["error"] == "unknown decision"
            fetched = self.call("GET", f"/v1/decisions/{decision_id}")
            assert fetched.status_code == 404, fetched.text
        refused = self._post(malformed, kind, 0.0)
        assert refused.status_code in (404, 422), refused.text

    @rule(decision_id=decisions)
    def audit(self, decision_id: str) -> None:
        record = self.issued[decision_id]
        response = self.call("GET", f"/v1/decisions/{decision_id}")
        assert response.status_code == 200, response.text
        view = response.json()
        assert view["chosen"] == (record.offer or "no_offer")
        assert sorted(e["kind"] for e in view["events"]) == sorted(record.events)
        for stored in view["events"]:
            assert stored["at"] == record.events[stored["kind"]]["at"]

    @rule(user=st.sampled_from(USERS), opted_out=st.sampled_from([False, False, True]))
    def set_preferences(self, user: str, opted_out: bool) -> None:
        response = self.call("PUT", f"/v1/users/{user}/preferences", {"opted_out": opted_out})
        assert response.status_code == 200, response.text
        assert response.json() == {"opted_out": opted_out}
        self.users[user].opted_out = opted_out

    @rule(minutes=MINUTES)
    def advance_clock(self, minutes: int) -> None:
        self.clock.now += timedelta(minutes=minutes)

    @rule()
    def restart(self) -> None:
        self.runner.run(self._close())
        self.runner.run(self._open())
        self.restarts += 1

    @invariant()
    def sessions_stay_within_their_cap(self) -> None:
        """Over the whole history the service produced: no session ever over its cap."""
        for user in self.users.values():
            for offer, session, at in user.exposures:
                same = [
                    e
                    for e in user.exposures
                    if e[1] == session
                    and at - EXPOSURE_MEMORY < e[2] <= at
                    and e != (offer, session, at)
                ]
                assert len(same) < RULES.max_per_session, (session, user.exposures)


def test_api_state_machine_respects_the_rules_through_restarts() -> None:
    run_state_machine_as_test(
        ApiMachine,
        settings=settings(
            max_examples=10,
            stateful_step_count=40,
            deadline=None,
            # The policy explores with its own randomness, so a failing run does not replay
            # step for step: shrinking would chase it for minutes. The failure is reported as found.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
