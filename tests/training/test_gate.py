"""The promotion gate, specified on hand-built reports.

A candidate is promoted only when its DR lower bound beats the incumbent's estimate,
no guardrail gets worse, the holdout is large enough and overlap is good enough.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.diagnostics import Overlap
from training.evaluate import Evaluation, PolicyReport
from training.gate import MIN_EVALUATION_ROWS, gate
from training.intervals import Estimate

THIN = "overlap between the logging and target policies is too thin to trust: (test)"


def policy_report(
    name: str,
    dr: tuple[float, float, float],
    *,
    dismiss: float = 0.1,
    opt_out: float = 0.01,
    warning: str | None = None,
) -> PolicyReport:
    """A report whose DR estimate is ``(value, low, high)``, with the given guardrails."""
    value, low, high = dr
    overlap = Overlap(
        n=500, effective_sample_size=200.0, max_weight=3.0, zero_support_share=0.0, warning=warning
    )
    evaluation = Evaluation({"dr": Estimate("dr", value, low, high)}, overlap)
    return PolicyReport(
        name,
        evaluation,
        dismiss_rate=Estimate("dr", dismiss, dismiss - 0.05, dismiss + 0.05),
        opt_out_rate=Estimate("dr", opt_out, opt_out - 0.01, opt_out + 0.01),
    )


INCUMBENT = policy_report("logging", (0.15, 0.10, 0.20))
BETTER = policy_report("candidate", (0.30, 0.20, 0.40))


def test_gate_promotes_when_the_dr_lower_bound_beats_the_incumbents_estimate() -> None:
    decision = gate(BETTER, INCUMBENT, rows=500)

    assert decision.promote
    assert len(decision.reasons) == 3
    assert all(reason.startswith("ok: ") for reason in decision.reasons)
    assert "candidate DR lower bound 0.2000 > logging DR estimate 0.1500" in decision.reasons[0]


@pytest.mark.parametrize(
    "dr",
    [
        pytest.param((0.30, 0.15, 0.45), id="lower-bound-equals-the-estimate"),
        pytest.param((0.30, 0.14, 0.46), id="better-estimate-but-wide-interval"),
        pytest.param((0.10, 0.05, 0.15), id="worse"),
    ],
)
def test_gate_holds_unless_the_lower_bound_is_strictly_above_the_incumbents_estimate(
    dr: tuple[float, float, float],
) -> None:
    decision = gate(policy_report("candidate", dr), INCUMBENT, rows=500)

    assert not decision.promote
    assert decision.reasons[0].startswith("held: candidate DR lower bound")
    assert "<= logging DR estimate 0.1500" in decision.reasons[0]


@pytest.mark.parametrize(
    ("guardrail", "label"),
    [("dismiss", "dismiss rate"), ("opt_out", "opt-out rate")],
)
def test_gate_holds_when_a_guardrail_gets_worse(guardrail: str, label: str) -> None:
    worse = {"dismiss": 0.1, "opt_out": 0.01, guardrail: 0.2}
    candidate = policy_report(
        "candidate", (0.30, 0.20, 0.40), dismiss=worse["dismiss"], opt_out=worse["opt_out"]
    )

    decision = gate(candidate, INCUMBENT, rows=500)

    assert not decision.promote
    held = [reason for reason in decision.reasons if reason.startswith("held: ")]
    assert held == [next(r for r in decision.reasons if label in r)]
    assert held[0].startswith(f"held: {label} 0.2000 vs ")


def test_gate_lets_guardrails_that_stay_equal_or_improve_pass() -> None:
    equal = policy_report("candidate", (0.30, 0.20, 0.40), dismiss=0.1 + 1e-12, opt_out=0.01)
    better = policy_report("candidate", (0.30, 0.20, 0.40), dismiss=0.0, opt_out=0.0)

    assert gate(equal, INCUMBENT, rows=500).promote
    assert gate(better, INCUMBENT, rows=500).promote


def test_gate_holds_on_thin_overlap_and_says_why() -> None:
    candidate = policy_report("candidate", (0.30, 0.20, 0.40), warning=THIN)

    decision = gate(candidate, INCUMBENT, rows=500)

    assert not decision.promote
    assert f"held: thin overlap: {THIN}" in decision.reasons


def test_gate_holds_with_too_few_evaluation_rows() -> None:
    held = gate(BETTER, INCUMBENT, rows=MIN_EVALUATION_ROWS - 1)

    assert not held.promote
    assert held.reasons[0] == (
        f"held: {MIN_EVALUATION_ROWS - 1} evaluation rows, fewer than {MIN_EVALUATION_ROWS}"
    )
    assert gate(BETTER, INCUMBENT, rows=MIN_EVALUATION_ROWS).promote


def test_gate_gives_every_reason_at_once() -> None:
    candidate = policy_report(
        "candidate", (0.10, 0.05, 0.15), dismiss=0.5, opt_out=0.5, warning=THIN
    )

    decision = gate(candidate, INCUMBENT, rows=3)

    assert not decision.promote
    assert len(decision.reasons) == 5
    assert all(reason.startswith("held: ") for reason in decision.reasons)
    for fragment in ("evaluation rows", "thin overlap", "DR lower bound", "dismiss", "opt-out"):
        assert any(fragment in reason for reason in decision.reasons), fragment


def test_a_held_gate_says_in_one_line_what_held_it() -> None:
    candidate = policy_report("candidate", (0.10, 0.05, 0.15))

    verdict = gate(candidate, INCUMBENT, rows=MIN_EVALUATION_ROWS).verdict

    assert verdict.startswith("gate held the candidate: candidate DR lower bound 0.0500")
    assert "\n" not in verdict


def test_a_passed_gate_says_in_one_line_why_it_passed() -> None:
    verdict = gate(BETTER, INCUMBENT, rows=MIN_EVALUATION_ROWS).verdict

    assert verdict.startswith("gate passed: candidate DR lower bound 0.2000 > logging")


unit = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
rate = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(
    low=unit,
    bar=unit,
    dismiss=st.tuples(rate, rate),
    opt_out=st.tuples(rate, rate),
    thin=st.booleans(),
    rows=st.integers(min_value=0, max_value=1000),
)
def test_gate_promotes_exactly_when_every_condition_holds(
    low: float,
    bar: float,
    dismiss: tuple[float, float],
    opt_out: tuple[float, float],
    thin: bool,
    rows: int,
) -> None:
    candidate = policy_report(
        "candidate",
        (low + 0.1, low, low + 0.2),
        dismiss=dismiss[0],
        opt_out=opt_out[0],
        warning=THIN if thin else None,
    )
    incumbent = policy_report(
        "champion", (bar, bar - 0.1, bar + 0.1), dismiss=dismiss[1], opt_out=opt_out[1]
    )

    decision = gate(candidate, incumbent, rows)

    expected = (
        rows >= MIN_EVALUATION_ROWS
        and not thin
        and low > bar
        and dismiss[0] <= dismiss[1] + 1e-9
        and opt_out[0] <= opt_out[1] + 1e-9
    )
    assert decision.promote is expected
    assert any(reason.startswith("held: ") for reason in decision.reasons) is not expected
