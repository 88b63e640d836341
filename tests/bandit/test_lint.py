"""Dark-pattern lint: copy that pressures instead of serving is refused at load, by name."""

from __future__ import annotations

import json

import pytest

from bandit import ConfigError, Offer, TactfulConfig, parse_config
from bandit.lint import lint_offer
from tests.builders import OFFER_ID, offer_data

PATH = "deploy.toml"

TEXT_FIELDS = ["headline", "subtext", "before", "after", "commitment", "cta", "dismiss"]
FOLLOW_UP_FIELDS = ["confirmation", "revisit", "tip"]


def lint(**overrides: object) -> list[str]:
    """Lint messages of the offer, checked directly."""
    return lint_offer(Offer.model_validate(offer_data(**overrides)))


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


def toml_of(data: dict[str, object]) -> str:
    return "[[offers]]\n" + "".join(f"{key} = {_toml(value)}\n" for key, value in data.items())


def refusal(**overrides: object) -> str:
    """The ConfigError message of a deployment holding only this offer, loaded from TOML."""
    with pytest.raises(ConfigError) as caught:
        parse_config(toml_of(offer_data(**overrides)), PATH)
    return str(caught.value)


def located(message: str) -> str:
    """How a problem of the offer reads in the error: file, line of its id, offer id, message."""
    return f"{PATH}:2: offer '{OFFER_ID}': {message}"


# The base offer is honest


def test_the_base_offer_is_honest() -> None:
    assert lint() == []


def test_the_base_offer_loads_from_toml() -> None:
    config = parse_config(toml_of(offer_data()), PATH)

    assert OFFER_ID in config.catalog()


def test_every_offer_of_the_example_deployment_is_honest(config: TactfulConfig) -> None:
    assert {offer.id: lint_offer(offer) for offer in config.offers} == {
        offer.id: [] for offer in config.offers
    }


# Consent: nothing pre-checked, nothing added for the user


def test_pre_checked_option_is_refused() -> None:
    assert located("pre-checked option: preselected = true is refused") in refusal(preselected=True)


def test_auto_added_item_is_refused() -> None:
    assert located("auto-add: auto_add = true is refused") in refusal(auto_add=True)


def test_pre_checked_and_auto_added_offer_is_refused_for_both() -> None:
    messages = lint(preselected=True, auto_add=True)

    assert [m.split(":")[0] for m in messages] == ["pre-checked option", "auto-add"]


# A clear, neutral way out


@pytest.mark.parametrize("dismiss", [None, "", "   "], ids=["absent", "empty", "blank"])
def test_missing_dismiss_label_is_refused(dismiss: str | None) -> None:
    assert located("missing dismiss label") in refusal(dismiss=dismiss)


@pytest.mark.parametrize(
    ("label", "phrase"),
    [
        ("No, I don't like saving money", "No, I"),
        ("I'd rather lose my files", "I'd rather"),
        ("I don't want to save time", "I don't want"),
        ("I'm fine with losing my work", "I'm fine with losing"),
        ("Keep wasting money", "wasting money"),
        ("Stay stupid", "stupid"),
    ],
)
def test_confirm_shaming_dismiss_label_is_refused(label: str, phrase: str) -> None:
    message = refusal(dismiss=label)

    assert located(f"confirm-shaming in dismiss label: {phrase!r} in {label!r}") in message


@pytest.mark.parametrize(
    ("label", "phrase"),
    [
        ("I\u2019d rather lose my files", "I\u2019d rather"),
        ("I don\u2019t want it", "I don\u2019t want"),
    ],
    ids=["rather", "dont-want"],
)
def test_confirm_shaming_with_typographic_apostrophe_is_refused(label: str, phrase: str) -> None:
    assert f"confirm-shaming in dismiss label: {phrase!r}" in " ".join(lint(dismiss=label))


@pytest.mark.parametrize(
    "label", ["Not now", "No thanks", "Maybe later", "Remind me next week", "Close", "Skip"]
)
def test_neutral_dismiss_label_passes(label: str) -> None:
    assert lint(dismiss=label) == []


# No scarcity theatre or fear of missing out


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Only 2 left at this price", "Only 2 left"),
        ("Last chance for 200 GB", "Last chance"),
        ("Hurry, space is going", "Hurry"),
        ("Don't miss out on 200 GB", "Don't miss out"),
        ("A limited time price on 200 GB", "limited time"),
        ("200 GB for 4 USD; offer ends today", "offer ends today"),
        ("Act now for 200 GB", "Act now"),
        ("Get 200 GB before it's gone", "before it's gone"),
        ("Storage plans are selling fast", "selling fast"),
    ],
)
def test_scarcity_phrase_is_refused(text: str, phrase: str) -> None:
    assert located(f"scarcity or FOMO phrase in subtext: {phrase!r}") in refusal(subtext=text)


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_scarcity_phrase_is_refused_in_any_offer_field(field: str) -> None:
    message = refusal(**{field: "Last chance to add 200 GB"})

    assert located(f"scarcity or FOMO phrase in {field}: 'Last chance'") in message


@pytest.mark.parametrize("field", FOLLOW_UP_FIELDS)
def test_scarcity_phrase_is_refused_in_any_follow_up_text(field: str) -> None:
    message = refusal(**{f"follow_up_{field}": "Hurry: only 3 seats remaining."})

    assert located(f"scarcity or FOMO phrase in follow_up.{field}: 'Hurry'") in message
    assert located(f"scarcity or FOMO phrase in follow_up.{field}: 'only 3 seats'") in message


def test_scarcity_phrase_in_follow_up_tip_is_refused() -> None:
    message = refusal(follow_up_tip="Tip: only 2 left at this price.")

    assert located("scarcity or FOMO phrase in follow_up.tip: 'only 2 left'") in message


def test_scarcity_is_refused_whatever_the_letter_case() -> None:
    assert "scarcity or FOMO phrase in headline: 'LAST CHANCE'" in " ".join(
        lint(headline="LAST CHANCE for 200 GB")
    )


def test_scarcity_with_typographic_apostrophe_is_refused() -> None:
    messages = lint(subtext="Don\u2019t miss out on 200 GB")

    assert messages[0].startswith("scarcity or FOMO phrase in subtext:")


@pytest.mark.parametrize(
    "text",
    [
        "Cancel anytime",
        "Only you can edit",
        "Your plan renews each month",
        "Storage for every file you upload",
    ],
)
def test_honest_copy_is_not_mistaken_for_scarcity(text: str) -> None:
    assert lint(subtext=text) == []


# Double negatives


@pytest.mark.parametrize(
    "clause",
    [
        "Don't not miss your files",
        "You won't lose nothing",
        "Never without a backup",
        "You can\u2019t lose nothing",
    ],
)
def test_double_negative_is_refused(clause: str) -> None:
    message = refusal(subtext=clause)

    assert located(f"double negative in subtext: {clause!r}") in message


def test_double_negative_is_quoted_by_its_clause_only() -> None:
    messages = lint(commitment="Cancel anytime. You won't pay nothing extra")

    assert messages == ['double negative in commitment: "You won\'t pay nothing extra"']


@pytest.mark.parametrize(
    "text",
    [
        "No commitment, no card needed",
        "No thanks",
        "Not now",
        "No card needed; cancel anytime",
        "Nothing changes until you confirm",
    ],
)
def test_one_negation_per_clause_passes(text: str) -> None:
    assert lint(commitment=text) == []


# The price is part of the offer


def test_hidden_price_is_refused() -> None:
    assert located("hidden price: declare price = { amount, currency, period }") in refusal(
        price=None
    )


def test_a_free_price_is_a_declared_price() -> None:
    assert lint(price={"amount": 0.0, "currency": "USD", "period": "once"}) == []


# Outcome first, and a CTA that says what happens


@pytest.mark.parametrize(
    ("headline", "phrase"),
    [
        ("Includes workflow rules and audit logs", "Includes"),
        ("Features 1 TB of storage", "Features"),
        ("Comes with priority support", "Comes with"),
        ("Now with automated reviews", "Now with"),
    ],
)
def test_feature_first_headline_is_refused(headline: str, phrase: str) -> None:
    message = refusal(headline=headline)

    assert located(f"headline leads with features, not the outcome: {phrase!r}") in message


def test_feature_word_later_in_an_outcome_headline_passes() -> None:
    assert lint(headline="Publish faster: Pro includes automated reviews") == []


@pytest.mark.parametrize(
    ("cta", "phrase"),
    [
        ("Learn more", "Learn more"),
        ("Find out more", "Find out more"),
        ("See more", "See more"),
        ("Continue", "Continue"),
        ("OK", "OK"),
    ],
)
def test_coy_call_to_action_is_refused(cta: str, phrase: str) -> None:
    message = refusal(cta=cta)

    assert located(f"coy call to action hides what happens next: {phrase!r}") in message


@pytest.mark.parametrize(
    "cta", ["Add 200 GB for 4 USD a month", "Upgrade to Pro for 120 USD a year", "Continue to pay"]
)
def test_call_to_action_saying_what_happens_passes(cta: str) -> None:
    assert lint(cta=cta) == []


# Everything at once


def test_every_dark_pattern_of_an_offer_is_reported() -> None:
    messages = lint(
        preselected=True,
        dismiss="I'd rather lose my files",
        subtext="Only 2 left",
        commitment="You won't lose nothing",
        price=None,
        cta="Learn more",
    )

    assert [m.split(":")[0] for m in messages] == [
        "pre-checked option",
        "confirm-shaming in dismiss label",
        "scarcity or FOMO phrase in subtext",
        "double negative in commitment",
        "hidden price",
        "coy call to action hides what happens next",
    ]


def test_two_scarcity_phrases_in_one_text_are_both_quoted() -> None:
    messages = lint(subtext="Hurry, last chance")

    assert messages == [
        "scarcity or FOMO phrase in subtext: 'Hurry'",
        "scarcity or FOMO phrase in subtext: 'last chance'",
    ]
