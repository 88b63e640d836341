"""Loading a deployment: the example loads, a bad file is refused with every reason at once."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bandit import (
    NO_OFFER,
    Catalog,
    ConfigError,
    Offer,
    RespectRules,
    RewardMapping,
    TactfulConfig,
    load_config,
    parse_config,
)
from tests.builders import EXAMPLE_CONFIG, offer_data

PATH = "deploy.toml"

offer = offer_data


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + " }"
    raise TypeError(value)


def deployment(*offers: dict[str, object], head: str = "") -> str:
    """TOML text of a deployment: an optional head (formats, rules...) then the offers."""
    blocks = [head] if head else []
    for data in offers:
        blocks.append(
            "[[offers]]\n" + "".join(f"{key} = {_toml(value)}\n" for key, value in data.items())
        )
    return "\n".join(blocks)


def refusal(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, PATH)
    return caught.value


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


# The example deployment


def test_example_deployment_loads(config: TactfulConfig) -> None:
    assert [o.id for o in config.offers] == ["storage_200", "automation", "team_invite", "pro_plan"]


def test_example_catalog_levels_follow_its_formats(catalog: Catalog) -> None:
    assert catalog.level(catalog["pro_plan"]) == 3
    assert catalog.level(catalog["storage_200"]) == 0


def test_example_rules_are_read_from_the_file(config: TactfulConfig) -> None:
    assert config.rules.relevance_bars == [0.2, 0.45, 0.65, 0.85]
    assert config.policy.seed == 7


def test_a_file_of_only_valid_offers_loads_with_defaults() -> None:
    config = parse_config(deployment(offer()), PATH)

    assert config.catalog()["storage_200"].price is not None
    assert config.rules == RespectRules()


def test_an_empty_file_is_a_deployment_without_offers() -> None:
    assert len(parse_config("").catalog()) == 0


# Refusals name the file, the line, the offer and the reason


def test_unknown_format_is_refused_with_file_line_offer_and_known_formats() -> None:
    text = deployment(offer(format="popup"))

    message = str(refusal(text))

    line = line_of(text, 'id = "storage_200"')
    assert f"{PATH}:{line}: offer 'storage_200': unknown format 'popup'" in message
    assert "(known: banner, inline, modal, post_action_summary)" in message


def test_missing_required_field_is_refused_naming_the_field() -> None:
    text = deployment(offer(headline=None))

    message = str(refusal(text))

    line = line_of(text, 'id = "storage_200"')
    assert f"{PATH}:{line}: offer 'storage_200' headline: Field required" in message


def test_missing_follow_up_text_is_refused_naming_the_nested_field() -> None:
    text = deployment(offer(follow_up={"confirmation": "Done.", "revisit": "Settings > Plan."}))

    assert "offer 'storage_200' follow_up.tip: Field required" in str(refusal(text))


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("headline", 42, "Input should be a valid string"),
        ("preselected", "maybe", "Input should be a valid boolean"),
        ("intents", "limit_reached", "Input should be a valid list"),
        ("ambition", "huge", "Input should be 'nudge', 'add_on' or 'plan_change'"),
    ],
)
def test_wrong_type_is_refused_naming_field_and_reason(
    field: str, value: object, reason: str
) -> None:
    text = deployment(offer(**{field: value}))

    assert f"offer 'storage_200' {field}: {reason}" in str(refusal(text))


def test_unknown_offer_field_is_refused() -> None:
    text = deployment(offer(discount=10))

    assert "offer 'storage_200' discount: Extra inputs are not permitted" in str(refusal(text))


def test_offer_without_an_id_is_named_by_its_position() -> None:
    text = deployment(offer(), offer(id=None))

    assert f"{PATH}: offer #2 id: Field required" in str(refusal(text))


def test_reserved_no_offer_id_is_refused() -> None:
    text = deployment(offer(id=NO_OFFER))

    message = str(refusal(text))

    line = line_of(text, 'id = "no_offer"')
    assert f"{PATH}:{line}: offer 'no_offer': the id 'no_offer' is reserved" in message


def test_duplicate_offer_id_is_refused() -> None:
    text = deployment(offer(), offer())

    assert "offer 'storage_200': duplicate offer id" in str(refusal(text))


def test_duplicate_is_reported_once_for_two_copies() -> None:
    error = refusal(deployment(offer(), offer()))

    assert [p.message for p in error.problems] == ["duplicate offer id"]


def test_falling_relevance_bars_are_refused() -> None:
    text = "[rules]\nrelevance_bars = [0.5, 0.3]\n"

    message = str(refusal(text))

    assert "rules.relevance_bars" in message
    assert "relevance bars must not fall as formats get more interruptive" in message


def test_level_relevance_bars_are_accepted() -> None:
    config = parse_config("[rules]\nrelevance_bars = [0.5, 0.5, 0.9]\n")

    assert config.rules.relevance_bars == [0.5, 0.5, 0.9]


def test_toml_syntax_error_is_refused_with_its_line() -> None:
    text = "[rules]\nfocus_max_level = 0\nmax_per_day = = 2\n"

    error = refusal(text)

    assert [(p.where, p.line) for p in error.problems] == [("toml", 3)]
    assert f"{PATH}:3: toml:" in str(error)


def test_unreadable_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"

    with pytest.raises(ConfigError, match="cannot read") as caught:
        load_config(missing)

    assert str(missing) in str(caught.value)


def test_load_config_names_the_file_it_read(tmp_path: Path) -> None:
    path = tmp_path / "deploy.toml"
    path.write_text(deployment(offer(format="popup")), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert f"{path}:2: offer 'storage_200': unknown format 'popup'" in str(caught.value)


def test_error_counts_its_problems() -> None:
    error = refusal(deployment(offer(format="popup")))

    assert str(error).startswith(f"{PATH}: 1 problem(s)\n")


# Every problem at once


def test_two_broken_offers_are_both_named() -> None:
    text = deployment(offer(id="first", headline=None), offer(id="second", ambition="huge"))

    message = str(refusal(text))

    assert "offer 'first' headline" in message
    assert "offer 'second' ambition" in message


def test_two_offers_with_unknown_formats_are_both_named() -> None:
    text = deployment(offer(id="first", format="popup"), offer(id="second", format="toast"))

    error = refusal(text)

    assert [p.where for p in error.problems] == ["offer 'first'", "offer 'second'"]


def test_one_offer_with_several_problems_reports_each() -> None:
    text = deployment(offer(format="popup", price=None, preselected=True))

    messages = [p.message.split(":")[0] for p in refusal(text).problems]

    assert messages == ["unknown format 'popup' (known", "pre-checked option", "hidden price"]


def test_schema_error_does_not_hide_another_offers_dark_pattern() -> None:
    text = deployment(offer(id="first", headline=None), offer(id="second", preselected=True))

    message = str(refusal(text))

    assert "offer 'first' headline: Field required" in message
    assert "offer 'second' preselected: pre-checked option" in message


def test_schema_error_in_rules_does_not_hide_an_offers_dark_pattern() -> None:
    text = deployment(offer(price=None), head="[rules]\nmax_per_day = -1\n")

    message = str(refusal(text))

    assert "rules.max_per_day" in message
    assert "offer 'storage_200' price: hidden price" in message


# Respect rules and rewards


@pytest.mark.parametrize(
    ("dismissals", "hours"), [(0, 72), (1, 72), (2, 144), (3, 288)], ids=lambda v: str(v)
)
def test_offer_cooldown_doubles_with_each_dismissal(dismissals: int, hours: int) -> None:
    assert RespectRules().offer_cooldown(dismissals) == timedelta(hours=hours)


def test_offer_cooldown_follows_the_configured_escalation() -> None:
    rules = RespectRules(offer_cooldown_hours=10, cooldown_escalation=3.0)

    assert rules.offer_cooldown(3) == timedelta(hours=90)


def test_escalation_of_one_keeps_the_cooldown_flat() -> None:
    rules = RespectRules(cooldown_escalation=1.0)

    assert rules.offer_cooldown(5) == rules.offer_cooldown(1)


def test_global_cooldown_is_in_minutes() -> None:
    assert RespectRules(global_cooldown_minutes=30).global_cooldown == timedelta(minutes=30)


@pytest.mark.parametrize(("level", "bar"), [(0, 0.2), (1, 0.4), (3, 0.85), (7, 0.85)])
def test_relevance_bar_by_level_and_the_last_bar_covers_higher_levels(
    level: int, bar: float
) -> None:
    assert RespectRules(relevance_bars=[0.2, 0.4, 0.6, 0.85]).bar(level) == bar


def test_summed_reward_bounds_add_all_gains_and_all_losses() -> None:
    assert RewardMapping().bounds() == (-1.1, 2.0)


def test_earliest_reward_bounds_are_the_single_extremes() -> None:
    assert RewardMapping(aggregation="earliest").bounds() == (-1.0, 1.0)


def test_reward_bounds_include_the_default() -> None:
    mapping = RewardMapping(accepted=0.0, converted=0.0, dismissed=0.0, opted_out=0.0, default=-0.5)

    assert mapping.bounds() == (-0.5, 0.0)


# Catalog version


def _catalog(*offers: dict[str, object]) -> Catalog:
    return Catalog([Offer.model_validate(data) for data in offers], {"inline": 0, "modal": 3})


def test_catalog_version_is_stable_for_the_same_content() -> None:
    assert _catalog(offer()).version == _catalog(offer()).version


def test_catalog_version_ignores_offer_order() -> None:
    first, second = offer(id="a"), offer(id="b")

    assert _catalog(first, second).version == _catalog(second, first).version


def test_catalog_version_changes_when_an_offer_text_changes() -> None:
    assert _catalog(offer()).version != _catalog(offer(cta="Add 200 GB for 5 USD a month")).version


def test_catalog_version_changes_when_a_price_changes() -> None:
    cheaper = offer(price={"amount": 3.0, "currency": "USD", "period": "month"})

    assert _catalog(offer()).version != _catalog(cheaper).version


def test_catalog_version_changes_when_an_offer_is_added() -> None:
    assert _catalog(offer()).version != _catalog(offer(), offer(id="other")).version


def test_catalog_version_changes_when_a_format_level_changes() -> None:
    offers = [Offer.model_validate(offer())]

    assert Catalog(offers, {"inline": 0}).version != Catalog(offers, {"inline": 1}).version


def test_example_catalog_version_is_twelve_hex_digits(catalog: Catalog) -> None:
    assert len(catalog.version) == 12
    assert set(catalog.version) <= set("0123456789abcdef")


def test_reloading_the_example_gives_the_same_catalog_version(catalog: Catalog) -> None:
    assert load_config(EXAMPLE_CONFIG).catalog().version == catalog.version


def test_a_catalog_knows_whether_any_offer_is_limited_to_named_placements() -> None:
    """When none is, the placement rule is never asked (see ``bandit.rules.CAN_REMOVE``)."""
    anywhere = offer(id="a")
    in_the_editor = offer(id="b", placements=["editor"])

    assert not _catalog(anywhere).names_placements
    assert _catalog(anywhere, in_the_editor).names_placements
