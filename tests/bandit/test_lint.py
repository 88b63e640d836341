"""Dark-pattern lint: copy that pressures instead of serving is refused at load, by name."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bandit import ConfigError, Offer, TactfulConfig, parse_config
from bandit.catalog import DEFAULT_ACKNOWLEDGEMENT, Price
from bandit.lint import lint_offer
from tests.builders import OFFER_ID, offer_data

PATH = "deploy.toml"

TEXT_FIELDS = ["headline", "subtext", "before", "after", "commitment", "cta", "dismiss"]
FOLLOW_UP_FIELDS = ["confirmation", "acknowledgement", "revisit", "tip"]


def lint(**overrides: object) -> list[str]:
    """Lint messages of the offer, checked directly."""
    return [str(finding) for finding in lint_offer(Offer.model_validate(offer_data(**overrides)))]


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


def located(message: str, field: str, **overrides: object) -> str:
    """How a problem reads in the error: file, the line of the field at fault, offer, field, why.

    A field the offer leaves out is reported at the offer's ``id`` line (line 2).
    """
    data = offer_data(**overrides)
    top = field.split(".")[0]
    line = line_of(toml_of(data), f"{top} = ") if top in data else 2
    return f"{PATH}:{line}: offer '{OFFER_ID}' {field}: {message}"


def line_of(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(start))


# The base offer is honest


def test_the_base_offer_is_honest() -> None:
    assert lint() == []


def test_the_base_offer_loads_from_toml() -> None:
    config = parse_config(toml_of(offer_data(follow_up_acknowledgement=None)), PATH)

    assert OFFER_ID in config.catalog()


def test_every_offer_of_the_example_deployment_is_honest(config: TactfulConfig) -> None:
    assert {offer.id: lint_offer(offer) for offer in config.offers} == {
        offer.id: [] for offer in config.offers
    }


# Consent: nothing pre-checked, nothing added for the user


def test_pre_checked_option_is_refused() -> None:
    assert located(
        "pre-checked option: preselected = true is refused", "preselected", preselected=True
    ) in refusal(preselected=True)


def test_auto_added_item_is_refused() -> None:
    assert located("auto-add: auto_add = true is refused", "auto_add", auto_add=True) in refusal(
        auto_add=True
    )


def test_pre_checked_and_auto_added_offer_is_refused_for_both() -> None:
    messages = lint(preselected=True, auto_add=True)

    assert [m.split(":")[0] for m in messages] == ["pre-checked option", "auto-add"]


# A clear, neutral way out


@pytest.mark.parametrize("dismiss", [None, "", "   "], ids=["absent", "empty", "blank"])
def test_missing_dismiss_label_is_refused(dismiss: str | None) -> None:
    assert located("missing dismiss label", "dismiss", dismiss=dismiss) in refusal(dismiss=dismiss)


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

    assert (
        located(
            f"confirm-shaming in dismiss label: {phrase!r} in {label!r}", "dismiss", dismiss=label
        )
        in message
    )


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
    assert located(
        f"scarcity or FOMO phrase in subtext: {phrase!r}", "subtext", subtext=text
    ) in refusal(subtext=text)


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_scarcity_phrase_is_refused_in_any_offer_field(field: str) -> None:
    message = refusal(**{field: "Last chance to add 200 GB"})

    assert located(f"scarcity or FOMO phrase in {field}: 'Last chance'", field) in message


@pytest.mark.parametrize("field", FOLLOW_UP_FIELDS)
def test_scarcity_phrase_is_refused_in_any_follow_up_text(field: str) -> None:
    message = refusal(**{f"follow_up_{field}": "Hurry: only 3 seats remaining."})

    assert (
        located(f"scarcity or FOMO phrase in follow_up.{field}: 'Hurry'", f"follow_up.{field}")
        in message
    )
    assert (
        located(
            f"scarcity or FOMO phrase in follow_up.{field}: 'only 3 seats'", f"follow_up.{field}"
        )
        in message
    )


def test_scarcity_phrase_in_follow_up_tip_is_refused() -> None:
    message = refusal(follow_up_tip="Tip: only 2 left at this price.")

    assert (
        located("scarcity or FOMO phrase in follow_up.tip: 'only 2 left'", "follow_up.tip")
        in message
    )


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

    assert located(f"double negative in subtext: {clause!r}", "subtext") in message


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
    assert located(
        "hidden price: declare price = { amount, currency, period }", "price", price=None
    ) in refusal(price=None)


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

    assert (
        located(f"headline leads with features, not the outcome: {phrase!r}", "headline") in message
    )


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

    assert located(f"coy call to action hides what happens next: {phrase!r}", "cta") in message


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


# Self-deprecating declines are confirm-shaming too


@pytest.mark.parametrize(
    ("label", "phrase"),
    [
        ("No thanks, I like wasting space", "I like"),
        ("I'll stay disorganized", "I'll stay"),
        ("I\u2019ll just struggle on my own", "I\u2019ll just struggle"),
        ("No, I enjoy doing things the hard way", "No, I"),
        ("I'm happy falling behind", "I'm happy falling"),
        ("I love paying more", "I love"),
        ("Keep me unproductive", "unproductive"),
        ("Stay unorganised", "unorganised"),
        ("Do it the hard way", "the hard way"),
    ],
)
def test_self_deprecating_decline_is_refused_at_the_dismiss_line(label: str, phrase: str) -> None:
    message = refusal(dismiss=label)

    expected = f"confirm-shaming in dismiss label: {phrase!r} in {label!r} [rule: confirm_shaming]"
    assert located(expected, "dismiss", dismiss=label) in message


@pytest.mark.parametrize(
    "label", ["I'll decide later", "Keep my current plan", "Stay on the free plan", "No thanks"]
)
def test_plain_first_person_declines_pass(label: str) -> None:
    assert lint(dismiss=label) == []


# A decline as easy to see as the accept (DSA Art. 25(3)(a); CCPA regs § 7004)


@pytest.mark.parametrize(
    ("cta_style", "dismiss_style"),
    [("primary", "link"), ("primary", "icon"), ("secondary", "icon")],
)
def test_a_decline_far_less_prominent_than_the_accept_is_refused_at_its_style_line(
    cta_style: str, dismiss_style: str
) -> None:
    styles = {"cta_style": cta_style, "dismiss_style": dismiss_style}

    message = refusal(**styles)

    assert located("decline far less prominent than the accept", "dismiss_style", **styles) in (
        message
    )
    assert "EU DSA Art. 25(3)(a); CCPA regulations \u00a7 7004" in message
    assert "[rule: asymmetric_choice]" in message


@pytest.mark.parametrize(
    ("cta_style", "dismiss_style"),
    [("primary", "secondary"), ("primary", "primary"), ("secondary", "link"), ("link", "link")],
)
def test_a_decline_at_most_one_step_below_the_accept_passes(
    cta_style: str, dismiss_style: str
) -> None:
    assert lint(cta_style=cta_style, dismiss_style=dismiss_style) == []


def test_a_missing_decline_cites_the_symmetry_rules() -> None:
    assert "DSA Art. 25(3)(a)" in refusal(dismiss=None)


# The price shown is the price paid: no drip pricing (UK DMCC Act 2024)

WITH_FEE = {
    "amount": 4.0,
    "currency": "USD",
    "period": "month",
    "fees": [{"name": "service fee", "amount": 1.0}],
}


def test_a_cta_quoting_the_price_before_its_mandatory_fees_is_refused_at_the_cta_line() -> None:
    message = refusal(price=WITH_FEE)  # the base offer's cta says "for 4 USD a month"

    expected = (
        "drip pricing in cta: '4 USD' is the price before its mandatory fees "
        "(service fee 1.00 USD); quote the total, 5.00 USD"
    )
    assert located(expected, "cta", price=WITH_FEE) in message
    assert "[rule: drip_pricing]" in message


def test_copy_quoting_the_total_with_fees_passes() -> None:
    assert lint(price=WITH_FEE, cta="Add 200 GB for 5 USD a month") == []


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("4 USD a month plus a service fee", "plus a service fee"),
        ("4 USD a month + fees", "+ fees"),
        ("4 USD a month, excluding booking fees", "excluding booking fees"),
        ("Fees may apply", "Fees may apply"),
        ("Additional charges at checkout", "Additional charges"),
    ],
)
def test_copy_that_leaves_fees_out_of_the_price_is_refused(text: str, phrase: str) -> None:
    assert located(f"drip pricing in subtext: {phrase!r}", "subtext", subtext=text) in refusal(
        subtext=text
    )


def test_no_extra_fees_is_honest_copy() -> None:
    assert lint(subtext="No extra fees, cancel anytime") == []


def test_the_price_label_is_the_total_with_its_fees_named() -> None:
    price = Price.model_validate(WITH_FEE)

    assert price.total == 5.0
    assert price.label() == "5.00 USD / month (includes service fee 1.00)"


# A trial says what it costs afterwards


def test_a_trial_that_does_not_state_the_price_after_it_is_refused_at_the_trial_line() -> None:
    overrides: dict[str, object] = {"trial": {"days": 14}, "cta": "Start your 14-day trial"}

    message = refusal(**overrides)

    assert located("trial without the price after it: a 14-day trial", "trial", **overrides) in (
        message
    )
    assert "[rule: trial_price]" in message


def test_a_trial_stating_the_price_after_it_passes() -> None:
    assert (
        lint(
            trial={"days": 14},
            cta="Try 200 GB free for 14 days",
            commitment="Then 4 USD a month; cancel anytime",
        )
        == []
    )


@pytest.mark.parametrize(
    ("field", "text", "phrase"),
    [
        ("subtext", "Start a free trial today", "free trial"),
        ("cta", "Try it free", "Try it free"),
        ("headline", "First month free: keep every upload", "First month free"),
    ],
)
def test_trial_copy_without_a_declared_trial_is_refused(field: str, text: str, phrase: str) -> None:
    expected = f"trial offer in {field} without a declared trial: {phrase!r}"

    assert located(expected, field, **{field: text}) in refusal(**{field: text})


# After a no, nothing was bought


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Invitations sent. Teammates get a link to join.", "sent"),
        ("Done: 200 GB added.", "Done"),
        ("Welcome to Pro.", "Welcome to"),
        ("Thanks for your purchase!", "Thanks for your purchase"),
        ("Automation is active for your workspace", "is active"),
    ],
)
def test_an_acknowledgement_that_confirms_a_purchase_is_refused(text: str, phrase: str) -> None:
    message = refusal(follow_up_acknowledgement=text)

    expected = f"follow_up.acknowledgement is shown after a no but confirms a purchase: {phrase!r}"
    assert located(expected, "follow_up.acknowledgement") in message
    assert "[rule: confirms_after_no]" in message


@pytest.mark.parametrize("field", ["revisit", "tip"])
def test_other_texts_shown_after_a_no_may_not_confirm_a_purchase_either(field: str) -> None:
    assert "[rule: confirms_after_no]" in refusal(**{f"follow_up_{field}": "Your seats are added."})


@pytest.mark.parametrize(
    "text",
    [
        "No invitations were sent.",
        "Okay: nothing was added, and you were not charged.",
        "You stay on your current plan.",
        "Tip: get more done with templates, at no cost.",
    ],
)
def test_an_acknowledgement_that_acknowledges_passes(text: str) -> None:
    assert lint(follow_up_acknowledgement=text) == []


def test_the_confirmation_after_a_yes_may_confirm() -> None:
    assert lint(follow_up_confirmation="Done: 200 GB added.") == []


def test_an_offer_without_an_acknowledgement_loads_with_a_neutral_one() -> None:
    """Catalogs written before the acknowledgement existed still load, and say nothing false."""
    config = parse_config(toml_of(offer_data(follow_up_acknowledgement=None)), PATH)

    follow_up = config.catalog()[OFFER_ID].follow_up
    assert follow_up.acknowledgement == DEFAULT_ACKNOWLEDGEMENT
    assert lint_offer(config.catalog()[OFFER_ID]) == []


@given(
    thing=st.sampled_from(["Invitations", "200 GB", "Pro", "Your seats", "Automation", "It"]),
    verb=st.sampled_from(["added", "sent", "activated", "upgraded", "unlocked", "charged"]),
)
def test_any_report_of_something_done_after_a_no_is_refused_and_its_denial_passes(
    thing: str, verb: str
) -> None:
    said = f"{thing} {verb}."
    denied = f"Nothing {verb}."

    assert any(
        finding.rule == "confirms_after_no"
        for finding in lint_offer(Offer.model_validate(offer_data(follow_up_acknowledgement=said)))
    )
    assert lint(follow_up_acknowledgement=denied) == []


# The line is the field's own, wherever the field is written

TABLES = """\
[[offers]]
id = "storage_200"
headline = "Keep every upload, with 200 GB more space"
subtext = "Your files stay in one place."
before = "15 GB, nearly full"
after = "215 GB for everything you upload"
commitment = "Cancel anytime"
cta = "Add 200 GB for 4 USD a month"
dismiss = "Not now"
dismiss_style = "link"
format = "inline"
ambition = "add_on"
intents = ["limit_reached:storage"]
[offers.price]
amount = 4.0
currency = "USD"
period = "month"
fees = [{ name = "service fee", amount = 1.0 }]
[offers.follow_up]
confirmation = "Done: 200 GB added."
acknowledgement = "Invitations sent."
revisit = "Storage options live under Settings > Plan."
tip = "Tip: emptying the trash frees space at no cost."
"""


def test_each_refusal_is_reported_at_its_fields_own_line_in_tables_too() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(TABLES, PATH)

    lines = {(p.where, p.line) for p in caught.value.problems}
    assert lines == {
        ("offer 'storage_200' dismiss_style", line_of(TABLES, "dismiss_style =")),
        ("offer 'storage_200' cta", line_of(TABLES, "cta =")),
        ("offer 'storage_200' follow_up.acknowledgement", line_of(TABLES, "acknowledgement =")),
    }


def test_the_second_offers_refusal_is_at_its_own_field_not_the_first_offers() -> None:
    text = toml_of(offer_data()) + toml_of(
        offer_data(id="second", dismiss="I'll stay disorganized")
    )

    with pytest.raises(ConfigError) as caught:
        parse_config(text, PATH)

    (problem,) = caught.value.problems
    assert problem.where == "offer 'second' dismiss"
    assert problem.line == text.splitlines().index('dismiss = "I\'ll stay disorganized"') + 1
