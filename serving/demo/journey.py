"""A short, scripted session in-process: shows what tactful decides, and why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bandit import Decider, Decision, TactfulConfig, make_policy
from features import SessionContext

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
USER = "demo-user"


@dataclass(frozen=True)
class Step:
    """One decision point of the scripted journey, or an action the user takes."""

    label: str
    minutes: float
    session: str
    context: SessionContext | None = None
    dismiss_last: bool = False
    opt_out: bool | None = None


def _ctx(**fields: object) -> SessionContext:
    return SessionContext.model_validate({"placement": "editor", **fields})


JOURNEY: tuple[Step, ...] = (
    Step(
        "Deep in writing, repeating a formatting step",
        0,
        "s1",
        _ctx(
            signals=[{"kind": "action_repeated", "action": "format", "count": 4}],
            activity={"focus_heavy": True, "stage": "mid_task"},
        ),
    ),
    Step(
        "Upload finished; storage 97% full",
        5,
        "s1",
        _ctx(
            placement="files",
            signals=[
                {"kind": "upload_completed"},
                {"kind": "limit_reached", "limit": "storage", "usage": 0.97},
            ],
            activity={"stage": "completed"},
        ),
    ),
    Step(
        "Same session, another upload",
        9,
        "s1",
        _ctx(
            placement="files",
            signals=[
                {"kind": "upload_completed"},
                {"kind": "limit_reached", "limit": "storage", "usage": 0.99},
            ],
            activity={"stage": "completed"},
        ),
    ),
    Step("The user says 'Not now' to the offer", 10, "s1", dismiss_last=True),
    Step(
        "Next day: published a document alone",
        24 * 60,
        "s2",
        _ctx(
            signals=[{"kind": "solo_success"}, {"kind": "task_completed"}],
            activity={"stage": "completed"},
        ),
    ),
    Step(
        "Two days later: storage full again (any dismissed offer still rests)",
        3 * 24 * 60,
        "s3",
        _ctx(
            placement="files",
            signals=[{"kind": "limit_reached", "limit": "storage", "usage": 1.0}],
        ),
    ),
    Step("The user opts out of offers", 3 * 24 * 60 + 1, "s3", opt_out=True),
    Step(
        "Finished a task after opting out",
        3 * 24 * 60 + 30,
        "s4",
        _ctx(signals=[{"kind": "task_completed"}], activity={"stage": "completed"}),
    ),
)


def describe(decision: Decision) -> list[str]:
    """A decision and its explanation, as lines a person can read."""
    shown = decision.offer_id or "no offer"
    lines = [
        f"  -> {shown} (p={decision.probability:.3f}{', explored' if decision.explored else ''})",
        f"     moment: {decision.explanation.moment}; eligible: {', '.join(decision.actions)}",
    ]
    lines += [f"     removed {r.offer_id}: {r.reason}" for r in decision.explanation.removed]
    return lines


def run_journey(config: TactfulConfig, echo: Callable[[str], None] = print) -> list[Decision]:
    """Walk the scripted journey through a fresh in-process decider, printing each step."""
    clock = {"now": START}
    decider = Decider(config, make_policy(config), clock=lambda: clock["now"])
    decisions: list[Decision] = []
    last_offer: str | None = None
    for number, step in enumerate(JOURNEY, start=1):
        clock["now"] = START + timedelta(minutes=step.minutes)
        echo(f"{number}. {step.label}")
        if step.dismiss_last:
            if last_offer is None:
                echo("  (nothing was offered, so there is nothing to dismiss)")
            else:
                decider.dismissed(USER, last_offer)
                echo(f"  (recorded 'Not now' for {last_offer}: it cools down, quietly)")
        elif step.opt_out is not None:
            decider.set_opted_out(USER, step.opt_out)
            echo("  (recorded opt-out)")
        elif step.context is not None:
            decision = decider.decide(
                USER, step.session, step.context, decision_id=f"demo-{number}"
            )
            decisions.append(decision)
            last_offer = decision.offer_id or last_offer
            for line in describe(decision):
                echo(line)
    return decisions
