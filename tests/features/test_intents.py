"""Intent strengths: which needs the user just revealed, and how strongly."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from features import SessionContext, Signal, SignalKind, adjacency, intents_of
from features.intents import HALF_LIFE_SECONDS, intent_names
from tests.builders import context

NAME_CHARS = "abcXYZ019_.:-"
NAMES = st.text(alphabet=NAME_CHARS, min_size=1, max_size=16)
SIGNALS = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(list(SignalKind)),
        "seconds_ago": st.floats(min_value=0.0, max_value=365 * 86400),
    },
    optional={
        "limit": NAMES,
        "usage": st.floats(min_value=0.0, max_value=1.0),
        "action": NAMES,
        "count": st.integers(min_value=0, max_value=1_000_000),
    },
)
CONTEXTS = st.lists(SIGNALS, max_size=8).map(
    lambda signals: SessionContext.model_validate({"placement": "editor", "signals": signals})
)


def _strengths(*signals: dict[str, Any]) -> dict[str, float]:
    return intents_of(context(signals=list(signals)))


def test_no_signals_reveal_no_intents() -> None:
    assert intents_of(context()) == {}


def test_a_signal_just_now_has_full_strength() -> None:
    assert _strengths({"kind": "upload_completed", "seconds_ago": 0}) == {"upload_completed": 1.0}


def test_strength_halves_after_one_half_life() -> None:
    strengths = _strengths({"kind": "upload_completed", "seconds_ago": HALF_LIFE_SECONDS})

    assert strengths["upload_completed"] == 0.5


def test_strength_quarters_after_two_half_lives() -> None:
    strengths = _strengths({"kind": "upload_completed", "seconds_ago": 2 * HALF_LIFE_SECONDS})

    assert strengths["upload_completed"] == 0.25


def test_older_signal_is_weaker() -> None:
    fresh = _strengths({"kind": "task_completed", "seconds_ago": 10})
    stale = _strengths({"kind": "task_completed", "seconds_ago": 1000})

    assert stale["task_completed"] < fresh["task_completed"]


def test_limit_hit_names_its_limit_as_well() -> None:
    strengths = _strengths({"kind": "limit_reached", "limit": "storage", "seconds_ago": 0})

    assert strengths == {"limit_reached": 1.0, "limit_reached:storage": 1.0}


def test_limit_hit_without_a_limit_name_reveals_only_the_kind() -> None:
    assert _strengths({"kind": "limit_reached"}) == {"limit_reached": 1.0}


def test_limit_strength_follows_usage() -> None:
    strengths = _strengths({"kind": "limit_reached", "limit": "storage", "usage": 0.9})

    assert strengths["limit_reached:storage"] == 0.9


def test_low_usage_limit_hit_keeps_a_floor_strength() -> None:
    strengths = _strengths({"kind": "limit_reached", "limit": "storage", "usage": 0.1})

    assert strengths["limit_reached:storage"] == 0.25


def test_a_full_limit_is_full_strength() -> None:
    strengths = _strengths({"kind": "limit_reached", "limit": "storage", "usage": 1.0})

    assert strengths["limit_reached:storage"] == 1.0


def test_repeated_action_is_named_by_its_action() -> None:
    strengths = _strengths({"kind": "action_repeated", "action": "format", "count": 3})

    assert strengths == {"repeated_action": 1.0, "repeated_action:format": 1.0}


@pytest.mark.parametrize(
    ("count", "strength"), [(0, 0.0), (1, 1 / 3), (2, 2 / 3), (3, 1.0), (30, 1.0)]
)
def test_repetition_strength_grows_with_count_up_to_three(count: int, strength: float) -> None:
    strengths = _strengths({"kind": "action_repeated", "count": count})

    assert strengths["repeated_action"] == strength


def test_repeated_action_without_a_count_has_full_strength() -> None:
    assert _strengths({"kind": "action_repeated"}) == {"repeated_action": 1.0}


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        (SignalKind.TASK_COMPLETED, ("task_completed",)),
        (SignalKind.UPLOAD_COMPLETED, ("upload_completed",)),
        (SignalKind.SOLO_SUCCESS, ("solo_success",)),
        (SignalKind.COLLABORATION_STARTED, ("collaboration_started",)),
    ],
)
def test_plain_signal_reveals_the_intent_of_its_kind(
    kind: SignalKind, names: tuple[str, ...]
) -> None:
    assert intent_names(Signal(kind=kind)) == names


def test_usage_matters_only_for_a_limit_hit() -> None:
    strengths = _strengths({"kind": "task_completed", "usage": 0.1})

    assert strengths == {"task_completed": 1.0}


def test_strongest_signal_of_an_intent_wins() -> None:
    strengths = _strengths(
        {"kind": "task_completed", "seconds_ago": HALF_LIFE_SECONDS},
        {"kind": "task_completed", "seconds_ago": 0},
    )

    assert strengths == {"task_completed": 1.0}


def test_adjacency_is_the_strongest_matching_intent() -> None:
    intents = {"limit_reached:storage": 0.9, "upload_completed": 0.4}

    assert adjacency(["upload_completed", "limit_reached:storage"], intents) == 0.9


def test_adjacency_without_a_matching_intent_is_zero() -> None:
    assert adjacency(["repeated_action"], {"limit_reached:storage": 0.9}) == 0.0


def test_adjacency_of_an_offer_without_intents_is_zero() -> None:
    assert adjacency([], {"task_completed": 1.0}) == 0.0


def test_offer_declaring_a_named_limit_ignores_other_limits() -> None:
    intents = _strengths({"kind": "limit_reached", "limit": "seats", "usage": 1.0})

    assert adjacency(["limit_reached:storage"], intents) == 0.0


def test_offer_declaring_the_bare_kind_matches_any_named_limit() -> None:
    intents = _strengths({"kind": "limit_reached", "limit": "seats", "usage": 1.0})

    assert adjacency(["limit_reached"], intents) == 1.0


@given(CONTEXTS)
def test_every_intent_strength_is_between_zero_and_one(ctx: SessionContext) -> None:
    assert all(0.0 <= strength <= 1.0 for strength in intents_of(ctx).values())


@given(CONTEXTS)
def test_every_signal_reveals_its_kind_or_repeated_action(ctx: SessionContext) -> None:
    revealed = set(intents_of(ctx))

    for signal in ctx.signals:
        base = "repeated_action" if signal.kind is SignalKind.ACTION_REPEATED else signal.kind
        assert base in revealed


@given(CONTEXTS, st.lists(NAMES, max_size=4))
def test_adjacency_is_between_zero_and_one(ctx: SessionContext, offer_intents: list[str]) -> None:
    assert 0.0 <= adjacency(offer_intents, intents_of(ctx)) <= 1.0
