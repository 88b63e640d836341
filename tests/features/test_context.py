"""SessionContext: what the client may send, and what it may not."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from features import Account, Activity, History, SessionContext, Signal, TaskStage
from features.context import MAX_CLIENT_FEATURES, MAX_SIGNALS
from tests.builders import context


def _field_names(model: type[BaseModel]) -> set[str]:
    """Every field name of a model and of the models nested in it."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        for candidate in (annotation, *args):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                names |= _field_names(candidate)
    return names


def test_a_placement_alone_is_a_complete_context() -> None:
    ctx = SessionContext(placement="editor")

    assert ctx.signals == []
    assert ctx.activity == Activity(focus_heavy=False, stage=TaskStage.IDLE)
    assert ctx.account == Account(plan="free", seats=1, tenure_days=0.0)


def test_placement_is_required() -> None:
    with pytest.raises(ValidationError, match="placement"):
        SessionContext.model_validate({})


@pytest.mark.parametrize("field", ["user_id", "email", "ip_address"])
def test_unknown_top_level_field_is_refused(field: str) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        context(**{field: "u-123"})


@pytest.mark.parametrize(
    "fields",
    [
        {"account": {"plan": "pro", "user_id": "u-123"}},
        {"activity": {"stage": "idle", "document_id": "d-9"}},
        {"signals": [{"kind": "task_completed", "user_id": "u-123"}]},
    ],
    ids=["account", "activity", "signal"],
)
def test_unknown_nested_field_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        context(**fields)


def test_no_field_anywhere_in_the_context_names_a_user() -> None:
    names = _field_names(SessionContext)

    assert {"placement", "kind", "stage", "tenure_days"} <= names  # nested models were walked
    assert not {name for name in names if "user" in name or name.endswith("id")}


def test_history_has_no_user_field_either() -> None:
    assert not {name for name in History.model_fields if "user" in name or name.endswith("id")}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_client_numeric_feature_is_refused(value: float) -> None:
    with pytest.raises(ValidationError, match="score"):
        context(numeric={"score": value})


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_account_tenure_is_refused(value: float) -> None:
    with pytest.raises(ValidationError):
        context(account={"tenure_days": value})


def test_finite_client_numeric_features_are_kept() -> None:
    ctx = context(numeric={"docs_open": 3.0, "ratio": -0.5})

    assert ctx.numeric == {"docs_open": 3.0, "ratio": -0.5}


def test_as_many_signals_as_the_limit_are_accepted() -> None:
    ctx = context(signals=[{"kind": "task_completed"}] * MAX_SIGNALS)

    assert len(ctx.signals) == MAX_SIGNALS


def test_one_signal_over_the_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match="signals"):
        context(signals=[{"kind": "task_completed"}] * (MAX_SIGNALS + 1))


@pytest.mark.parametrize("field", ["numeric", "categorical"])
def test_one_client_feature_over_the_limit_is_refused(field: str) -> None:
    value: float | str = 1.0 if field == "numeric" else "x"
    features = {f"f{i}": value for i in range(MAX_CLIENT_FEATURES + 1)}

    with pytest.raises(ValidationError, match=field):
        context(**{field: features})


@pytest.mark.parametrize("field", ["numeric", "categorical"])
def test_as_many_client_features_as_the_limit_are_accepted(field: str) -> None:
    value: float | str = 1.0 if field == "numeric" else "x"
    features = {f"f{i}": value for i in range(MAX_CLIENT_FEATURES)}

    assert len(getattr(context(**{field: features}), field)) == MAX_CLIENT_FEATURES


@pytest.mark.parametrize(
    "name",
    ["", "a" * 65, "has space", "semi;colon", "slash/name", "pipe|name"],
    ids=["empty", "too-long", "space", "semicolon", "slash", "pipe"],
)
def test_malformed_name_is_refused_as_placement(name: str) -> None:
    with pytest.raises(ValidationError, match="placement"):
        context(placement=name)


@pytest.mark.parametrize("name", ["a", "a" * 64, "limit:storage", "docs.v2", "new-doc_1"])
def test_well_formed_name_is_accepted_as_placement(name: str) -> None:
    assert context(placement=name).placement == name


def test_malformed_categorical_value_is_refused() -> None:
    with pytest.raises(ValidationError, match="categorical"):
        context(categorical={"team": "has space"})


def test_unknown_signal_kind_is_refused() -> None:
    with pytest.raises(ValidationError, match="kind"):
        context(signals=[{"kind": "clicked_buy"}])


@pytest.mark.parametrize(
    "signal",
    [
        {"kind": "task_completed", "seconds_ago": -1},
        {"kind": "limit_reached", "usage": -0.1},
        {"kind": "action_repeated", "count": -1},
    ],
    ids=["negative-age", "negative-usage", "negative-count"],
)
def test_negative_signal_measure_is_refused(signal: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Signal.model_validate(signal)


def test_usage_given_as_a_percentage_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="usage") as caught:
        Signal.model_validate({"kind": "limit_reached", "limit": "storage", "usage": 97})

    assert "less than or equal to 1" in str(caught.value)


@given(usage=st.floats(min_value=0.0, max_value=1.0))
def test_any_share_of_the_limit_from_0_to_1_is_accepted(usage: float) -> None:
    assert Signal.model_validate({"kind": "limit_reached", "usage": usage}).usage == usage


@given(usage=st.floats(min_value=1.0, exclude_min=True, allow_nan=False, allow_infinity=False))
def test_any_usage_past_1_is_refused(usage: float) -> None:
    with pytest.raises(ValidationError):
        Signal.model_validate({"kind": "limit_reached", "usage": usage})


def test_the_usage_schema_states_the_limit_it_enforces() -> None:
    usage = Signal.model_json_schema()["properties"]["usage"]["anyOf"][0]
    description = Signal.model_json_schema()["properties"]["usage"]["description"]

    assert (usage["minimum"], usage["maximum"]) == (0.0, 1.0)
    assert "from 0 (none) to 1 (all of it)" in description


def test_negative_seat_count_is_refused() -> None:
    with pytest.raises(ValidationError, match="seats"):
        context(account={"seats": -1})


def test_context_is_immutable() -> None:
    ctx = context()

    with pytest.raises(ValidationError, match="frozen"):
        ctx.placement = "inbox"  # type: ignore[misc]


def test_negative_history_count_is_refused() -> None:
    with pytest.raises(ValidationError, match="dismissals"):
        History(dismissals=-1)


@pytest.mark.parametrize("key", ["user_id", "email", "id", "account-id", "session", "device.uuid"])
def test_client_feature_named_like_an_identifier_is_refused(key: str) -> None:
    with pytest.raises(ValidationError, match="looks like an identifier"):
        SessionContext.model_validate({"placement": "editor", "categorical": {key: "x"}})


@pytest.mark.parametrize("key", ["plan_tier", "team.size", "video", "paid"])
def test_client_feature_with_a_behavioural_name_is_accepted(key: str) -> None:
    context = SessionContext.model_validate({"placement": "editor", "numeric": {key: 1.0}})

    assert context.numeric == {key: 1.0}
