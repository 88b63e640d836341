"""Extraction: session context and offer history in, named features and fixed vectors out."""

from __future__ import annotations

import importlib
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given

from features import (
    Features,
    History,
    Moment,
    SessionContext,
    SharedNamespace,
    extract,
    to_matrix,
    to_vector,
)
from features.extract import history_features
from features.vector import DEFAULT_WIDTH, flat
from tests.builders import completed_upload, context, mid_task_focus
from tests.strategies import CONTEXTS, HISTORIES

NAMESPACES = {"moment", "intent", "activity", "account", "placement", "client", "history"}


def _names(features: Features) -> set[str]:
    return {f"{ns}/{name}" for ns, values in features.namespaces.items() for name in values}


def test_extraction_fills_every_namespace() -> None:
    assert set(extract(context()).namespaces) == NAMESPACES


def test_moment_namespace_is_one_hot_of_the_moment() -> None:
    features = extract(completed_upload())

    assert features.moment is Moment.PEAK
    assert dict(features.namespaces["moment"]) == {"moment=peak": 1.0}


def test_intent_namespace_carries_the_intent_strengths() -> None:
    features = extract(completed_upload())

    assert dict(features.namespaces["intent"]) == dict(features.intents)
    assert features.intents["limit_reached:storage"] > 0.9


def test_activity_namespace_describes_focus_and_stage() -> None:
    features = extract(mid_task_focus())

    assert dict(features.namespaces["activity"]) == {"focus_heavy": 1.0, "stage=mid_task": 1.0}


def test_account_plan_is_one_hot_and_sizes_are_log_compressed() -> None:
    features = extract(context(account={"plan": "pro", "seats": 9, "tenure_days": 99.0}))

    assert dict(features.namespaces["account"]) == {
        "plan=pro": 1.0,
        "seats": math.log(10),
        "tenure": math.log(100),
    }


def test_placement_is_one_hot() -> None:
    features = extract(context(placement="inbox"))

    assert dict(features.namespaces["placement"]) == {"placement=inbox": 1.0}


def test_client_features_are_prefixed_by_their_kind() -> None:
    features = extract(context(numeric={"docs_open": 3.0}, categorical={"theme": "dark"}))

    assert dict(features.namespaces["client"]) == {"num.docs_open": 3.0, "cat.theme=dark": 1.0}


def test_without_history_the_user_was_never_offered_or_dismissed() -> None:
    assert history_features(History()) == {
        "since_offer": 0.0,
        "since_dismissal": 0.0,
        "dismissals": 0.0,
        "offers_this_session": 0.0,
        "never_offered": 1.0,
        "never_dismissed": 1.0,
    }


def test_missing_history_is_the_same_as_an_empty_history() -> None:
    assert extract(context()) == extract(context(), History())


def test_elapsed_time_since_an_offer_is_log_compressed_in_minutes() -> None:
    values = history_features(
        History(seconds_since_last_offer=60.0, seconds_since_last_dismissal=120.0)
    )

    assert values["since_offer"] == pytest.approx(math.log(2))
    assert values["since_dismissal"] == pytest.approx(math.log(3))
    assert "never_offered" not in values
    assert "never_dismissed" not in values


def test_dismissal_count_is_capped_at_twenty() -> None:
    assert history_features(History(dismissals=500))["dismissals"] == 20.0


def test_offers_this_session_are_counted() -> None:
    assert history_features(History(offers_this_session=2))["offers_this_session"] == 2.0


def test_history_lands_in_the_history_namespace() -> None:
    features = extract(context(), History(dismissals=1, seconds_since_last_dismissal=0.0))

    assert features.namespaces["history"]["dismissals"] == 1.0
    assert "never_dismissed" not in features.namespaces["history"]


def test_feature_names_are_exactly_the_vocabulary_of_the_context() -> None:
    ctx = context(
        account={"plan": "team", "seats": 4, "tenure_days": 30.0},
        categorical={"theme": "dark"},
        numeric={"docs_open": 2.0},
        signals=[{"kind": "limit_reached", "limit": "storage", "usage": 0.9}],
    )

    assert _names(extract(ctx)) == {
        "moment/moment=limit_hit",
        "intent/limit_reached",
        "intent/limit_reached:storage",
        "activity/focus_heavy",
        "activity/stage=idle",
        "account/plan=team",
        "account/seats",
        "account/tenure",
        "placement/placement=editor",
        "client/num.docs_open",
        "client/cat.theme=dark",
        "history/since_offer",
        "history/since_dismissal",
        "history/dismissals",
        "history/offers_this_session",
        "history/never_offered",
        "history/never_dismissed",
    }


def test_exact_seat_count_and_tenure_never_appear_raw() -> None:
    features = extract(context(account={"seats": 4821, "tenure_days": 1234.5}))

    values = [v for ns in features.namespaces.values() for v in ns.values()]
    assert 4821.0 not in values
    assert 1234.5 not in values


def test_features_cannot_be_changed_after_extraction() -> None:
    features = extract(context())

    with pytest.raises(TypeError):
        features.namespaces["client"]["num.x"] = 1.0  # type: ignore[index]
    with pytest.raises(TypeError):
        features.namespaces["client"] = {}  # type: ignore[index]


def test_extracted_namespaces_are_built_once_whenever_first_read() -> None:
    features = extract(completed_upload())

    account = features.namespaces["account"]

    assert features.namespaces["account"] is account
    assert set(features.namespaces) == NAMESPACES
    assert len(features.namespaces) == len(NAMESPACES)
    assert "account" in repr(features.namespaces)


@given(CONTEXTS, HISTORIES)
def test_extracted_features_equal_the_same_features_built_eagerly(
    ctx: SessionContext, history: History
) -> None:
    features = extract(ctx, history)
    eager = Features(
        moment=features.moment,
        intents=features.intents,
        namespaces={ns: dict(values) for ns, values in features.namespaces.items()},
    )

    assert features == eager
    assert eager == features


def test_enumerated_namespaces_are_shared_between_decision_points() -> None:
    """The moment, activity, placement and an empty history take few values: one instance
    each, so an encoder renders them once (``features.SharedNamespace``)."""
    base = completed_upload().model_dump()
    first = extract(context(**{**base, "numeric": {"docs_open": 1.0}}))
    second = extract(context(**{**base, "account": {"seats": 7}, "numeric": {"docs_open": 2.0}}))

    for name in ("moment", "activity", "placement", "history"):
        assert isinstance(first.namespaces[name], SharedNamespace), name
        assert first.namespaces[name] is second.namespaces[name], name
    for name in ("intent", "account", "client"):
        assert not isinstance(first.namespaces[name], SharedNamespace), name
        assert first.namespaces[name] is not second.namespaces[name], name


def test_a_history_with_offers_gets_a_namespace_of_its_own() -> None:
    history = History(seconds_since_last_offer=90.0, offers_this_session=1)

    namespace = extract(context(), history).namespaces["history"]

    assert not isinstance(namespace, SharedNamespace)
    assert namespace == history_features(history)


def test_a_context_without_client_features_shares_the_empty_client_namespace() -> None:
    bare = context(numeric={}, categorical={})

    assert extract(bare).namespaces["client"] is extract(bare).namespaces["client"]
    assert extract(bare).namespaces["client"] == {}


def test_to_dict_is_json_ready() -> None:
    data = extract(completed_upload()).to_dict()

    assert json.loads(json.dumps(data)) == data


def test_from_dict_rebuilds_what_to_dict_wrote() -> None:
    features = extract(completed_upload(), History(dismissals=2))

    assert Features.from_dict(features.to_dict()) == features


def test_from_dict_reads_back_through_json() -> None:
    features = extract(mid_task_focus())

    assert Features.from_dict(json.loads(json.dumps(features.to_dict()))) == features


@pytest.mark.parametrize(
    "data",
    [
        {"moment": "idle", "intents": [], "namespaces": {}},
        {"moment": "idle", "intents": {}, "namespaces": "client"},
    ],
    ids=["intents", "namespaces"],
)
def test_from_dict_refuses_data_that_is_not_a_mapping(data: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="mappings"):
        Features.from_dict(data)


def test_from_dict_refuses_an_unknown_moment() -> None:
    with pytest.raises(ValueError, match="euphoria"):
        Features.from_dict({"moment": "euphoria", "intents": {}, "namespaces": {}})


@given(CONTEXTS, HISTORIES)
def test_round_trip_holds_for_any_context(ctx: SessionContext, history: History) -> None:
    features = extract(ctx, history)

    assert Features.from_dict(json.loads(json.dumps(features.to_dict()))) == features


@given(CONTEXTS, HISTORIES)
def test_every_feature_value_is_finite(ctx: SessionContext, history: History) -> None:
    features = extract(ctx, history)

    assert all(math.isfinite(v) for ns in features.namespaces.values() for v in ns.values())


@given(CONTEXTS)
def test_client_features_are_named_only_by_what_the_client_sent(ctx: SessionContext) -> None:
    client = set(extract(ctx).namespaces["client"])

    assert client == {f"num.{k}" for k in ctx.numeric} | {
        f"cat.{k}={v}" for k, v in ctx.categorical.items()
    }


def test_flat_features_are_namespaced_with_a_bias() -> None:
    flattened = flat(extract(context(numeric={"seats": 7.0})))

    assert flattened["bias"] == 1.0
    assert flattened["client/num.seats"] == 7.0
    assert "account/seats" in flattened


def test_vector_has_the_default_width() -> None:
    assert to_vector(extract(completed_upload())).shape == (DEFAULT_WIDTH,)


@pytest.mark.parametrize("width", [8, 64, 1024])
def test_vector_has_the_requested_width(width: int) -> None:
    assert to_vector(extract(completed_upload()), width).shape == (width,)


def test_new_client_features_do_not_widen_the_vector() -> None:
    many = {f"f{i}": 1.0 for i in range(64)}

    assert to_vector(extract(context(numeric=many))).shape == (DEFAULT_WIDTH,)


def test_same_features_give_the_same_vector() -> None:
    first = to_vector(extract(completed_upload()))
    second = to_vector(extract(completed_upload()))

    assert np.array_equal(first, second)


def test_vector_does_not_depend_on_the_order_client_features_were_sent() -> None:
    forward = extract(context(numeric={"a": 1.0, "b": 2.0}))
    backward = extract(context(numeric={"b": 2.0, "a": 1.0}))

    assert np.array_equal(to_vector(forward), to_vector(backward))


def test_different_moments_give_different_vectors() -> None:
    assert not np.array_equal(
        to_vector(extract(completed_upload())), to_vector(extract(mid_task_focus()))
    )


def test_matrix_rows_are_the_vectors_of_each_decision_point() -> None:
    rows = [extract(completed_upload()), extract(mid_task_focus())]

    matrix = to_matrix(rows, 32)

    assert matrix.shape == (2, 32)
    assert np.array_equal(matrix[0], to_vector(rows[0], 32))
    assert np.array_equal(matrix[1], to_vector(rows[1], 32))


def test_matrix_of_no_rows_is_empty_with_the_fixed_width() -> None:
    assert to_matrix([], 16).shape == (0, 16)


def test_matrix_is_float64() -> None:
    assert to_matrix([extract(context())]).dtype == np.float64


def test_placement_namespaces_stay_bounded_and_correct(monkeypatch: pytest.MonkeyPatch) -> None:
    # The module, not the function of the same name that the package exports.
    extraction = importlib.import_module("features.extract")
    monkeypatch.setattr(extraction, "_PLACEMENTS_MAX", 2)
    monkeypatch.setattr(extraction, "_PLACEMENTS", {})

    namespaces = [extraction.placement_namespace(f"panel{i}") for i in range(5)]

    assert [dict(ns) for ns in namespaces] == [{f"placement=panel{i}": 1.0} for i in range(5)]
    assert len(extraction._PLACEMENTS) <= 2
    assert extraction.placement_namespace("panel4") is namespaces[4]
