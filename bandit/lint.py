"""Dark-pattern lint: an offer that pressures instead of serving is refused at load.

Each check yields :class:`Finding` s that name the field at fault and the rule it
breaks, and quote the offending phrase, so a product writer can fix the copy without
reading code (and the config loader can point at the field's own line).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bandit.catalog import PROMINENCE_RANK, FollowUp, Offer

# Apostrophes match straight or typographic (U+2019): editors often curl them in copy.
_SCARCITY = re.compile(
    r"""\b(
        only\s+\d+\s+(left|remaining|spots?|seats?|places?)
      | last\s+chance
      | hurry
      | don['\u2019]?t\s+miss\s+out | do\s+not\s+miss\s+out | miss\s+out
      | act\s+(now|fast)
      | limited[-\s]time
      | (offer\s+)?(ends|expires?|ending)\s+(soon|today|tonight|in\s+\d+)
      | before\s+it['\u2019]?s\s+(too\s+late|gone)
      | while\s+(supplies|stocks?)\s+last
      | selling\s+fast
      | almost\s+gone
      | now\s+or\s+never
      | fomo
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)

#: A decline that shames the user for declining, or makes them run themselves down.
_SHAMING = re.compile(
    r"""(
        \bi\s+(don['\u2019]?t|do\s+not)\s+(like|want|need|care|deserve|value)\b
      | \bi(['\u2019]d|\s+would)?\s+(rather|prefer)\b
      | \bi(['\u2019]m|\s+am)\s+(fine|ok|okay|happy|good|content)\s+(with\s+)?
        (losing|wasting|missing|paying|being|falling|staying|running|doing|struggling)
      | \bi\s+(like|love|enjoy)\b
      | \bi(['\u2019]ll|\s+will)\s+(just\s+)?(stay|remain|struggle|suffer|fall|keep\s+\w+ing)\b
      | \b(losing|lose|wasting|waste)\s+(my|money|time|files|work|space)
      | \bno,\s*i\b
      | \b(stupid|dumb|foolish|lazy|clueless|ignorant|mediocre|unproductive|inefficient)\b
      | \b(dis|un)organi[sz]ed\b
      | \bthe\s+hard\s+way\b
      | \bfall(ing)?\s+behind\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)

_NEGATORS = re.compile(
    r"\b(not|no|never|nothing|none|neither|nor|without|\w+n['\u2019]t|un(check|select|subscribe)\w*|opt[-\s]?out)\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[.,;:!?()\n]")
_FEATURE_FIRST = re.compile(r"^\s*(includes?|features?|comes\s+with|now\s+with|contains)\b", re.I)
_COY_CTA = re.compile(r"^\s*(learn|find\s+out|see|read)\s+more\b|^\s*(continue|next|ok)\s*$", re.I)

#: Words that report a purchase or an action as done: what a "yes" earns, never a "no".
_CONFIRMS = re.compile(
    r"""(
        ^\s*(all\s+)?done\b
      | \ball\s+set\b
      | \byou['\u2019]re\s+(all\s+)?(set|in|upgraded|subscribed)\b
      | \bwelcome\s+to\b
      | \bthank(s|\s+you)\s+for\s+(your\s+)?(purchase|order|upgrad\w*|subscri\w*|payment|buying)
      | \b(is|are)\s+(now\s+)?(active|live)\b
      | \b(added|sent|activated|enabled|upgraded|unlocked|purchased|bought|charged|billed
          |subscribed|confirmed|installed|invited)\b
      | \byou\s+now\s+have\b
      | \byour\s+(order|purchase|payment|receipt|invoice)\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)

#: Copy that puts mandatory charges outside the price: drip pricing.
_FEES_OUTSIDE = re.compile(
    r"""(
        (\bplus|\+|\bexcl(\.|uding)?|\bbefore|\bnot\s+including|\bexclusive\s+of)\s+
        (\w+\s+){0,2}?(fees?|charges?|surcharges?)\b
      | \b(fees?|charges?|surcharges?)\s+(may\s+)?apply\b
      | \badditional\s+(fees?|charges?)\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
#: A money amount in copy: ``4 USD``, ``USD 4.00`` or ``$4``.
_MONEY = re.compile(
    r"""(
        (?P<sym>[$\u20ac\u00a3])\s?(?P<a>\d+(\.\d+)?)
      | (?P<b>\d+(\.\d+)?)\s?(?P<cur>[A-Z]{3})\b
      | \b(?P<cur2>[A-Z]{3})\s?(?P<c>\d+(\.\d+)?)
    )""",
    re.VERBOSE,
)
_TRIAL = re.compile(
    r"""\b(
        free\s+trial | trial\s+period | \d+[-\s]day\s+(free\s+)?trial
      | try\s+(it\s+)?(for\s+)?free
      | free\s+for\s+(the\s+first\s+)?\d+\s+(days?|weeks?|months?)
      | (first|1st)\s+(\d+\s+)?(days?|weeks?|months?)\s+free
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
#: Where an offer states its price in words: the texts shown with the offer itself.
_PRICE_FIELDS = ("headline", "subtext", "after", "commitment", "cta")
_CENT = 0.005


@dataclass(frozen=True)
class Finding:
    """One dark pattern in an offer: the field it is in, the rule it breaks, and why."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return self.message


def _quote(match: re.Match[str]) -> str:
    return f"{match.group(0).strip()!r}"


def pre_checked(offer: Offer) -> Iterator[Finding]:
    """Consent is opt-in: nothing is pre-selected or added for the user."""
    if offer.preselected:
        yield Finding(
            "preselected",
            "pre_checked",
            "pre-checked option: preselected = true is refused; the user must opt in",
        )
    if offer.auto_add:
        yield Finding(
            "auto_add", "auto_add", "auto-add: auto_add = true is refused; the user must opt in"
        )


def dismiss_label(offer: Offer) -> Iterator[Finding]:
    """A clear, neutral way out, with no shame attached."""
    label = offer.dismiss.strip()
    if not label:
        yield Finding(
            "dismiss",
            "missing_decline",
            "missing dismiss label: every offer needs a clear 'no thanks' such as 'Not now' "
            "(EU DSA Art. 25(3)(a); CCPA regulations \u00a7 7004: symmetry in choice)",
        )
        return
    if match := _SHAMING.search(label):
        yield Finding(
            "dismiss",
            "confirm_shaming",
            f"confirm-shaming in dismiss label: {_quote(match)} in {label!r}",
        )


def symmetric_choice(offer: Offer) -> Iterator[Finding]:
    """Declining is as easy to see as accepting: at most one step less prominent."""
    gap = PROMINENCE_RANK[offer.cta_style] - PROMINENCE_RANK[offer.dismiss_style]
    if gap >= 2:
        yield Finding(
            "dismiss_style",
            "asymmetric_choice",
            f"decline far less prominent than the accept: dismiss_style "
            f"{offer.dismiss_style.value!r} under cta_style {offer.cta_style.value!r}; make "
            "the decline a button at most one step below the accept "
            "(EU DSA Art. 25(3)(a); CCPA regulations \u00a7 7004: symmetry in choice)",
        )


def scarcity(offer: Offer) -> Iterator[Finding]:
    """No scarcity theatre or fear of missing out, anywhere in the copy."""
    for field, text in offer.texts():
        for match in _SCARCITY.finditer(text):
            yield Finding(field, "scarcity", f"scarcity or FOMO phrase in {field}: {_quote(match)}")


def double_negative(offer: Offer) -> Iterator[Finding]:
    """Two negations in one clause make a choice easy to misread."""
    for field, text in offer.texts():
        for clause in _CLAUSE.split(text):
            negations = _NEGATORS.findall(clause)
            if len(negations) >= 2:
                yield Finding(
                    field, "double_negative", f"double negative in {field}: {clause.strip()!r}"
                )


def hidden_price(offer: Offer) -> Iterator[Finding]:
    """The price and its period are part of the offer, not the checkout."""
    if offer.price is None:
        yield Finding(
            "price", "hidden_price", "hidden price: declare price = { amount, currency, period }"
        )


def _amounts(text: str) -> Iterator[tuple[str, float]]:
    """Every money amount quoted in ``text``, with the phrase quoting it."""
    for match in _MONEY.finditer(text):
        number = match.group("a") or match.group("b") or match.group("c")
        yield match.group(0).strip(), float(number)


def drip_pricing(offer: Offer) -> Iterator[Finding]:
    """The price shown is the price paid: mandatory fees are in it, not added later.

    The UK's Digital Markets, Competition and Consumers Act 2024 bans drip pricing:
    a headline price that leaves out fees every buyer must pay.
    """
    for field, text in offer.texts():
        for match in _FEES_OUTSIDE.finditer(text):
            yield Finding(
                field,
                "drip_pricing",
                f"drip pricing in {field}: {_quote(match)} leaves mandatory fees out of the "
                "price; declare them in price.fees so the price shown is the total "
                "(UK DMCC Act 2024)",
            )
    price = offer.price
    if price is None or not price.fees:
        return
    fees = ", ".join(f"{fee.name} {fee.amount:.2f} {price.currency}" for fee in price.fees)
    for field in _PRICE_FIELDS:
        for phrase, amount in _amounts(str(getattr(offer, field))):
            if abs(amount - price.amount) < _CENT and abs(amount - price.total) >= _CENT:
                yield Finding(
                    field,
                    "drip_pricing",
                    f"drip pricing in {field}: {phrase!r} is the price before its mandatory "
                    f"fees ({fees}); quote the total, {price.total:.2f} {price.currency} "
                    "(UK DMCC Act 2024)",
                )


def trial_price(offer: Offer) -> Iterator[Finding]:
    """A free trial says what it costs once the trial ends."""
    if offer.trial is None:
        for field, text in offer.texts():
            if match := _TRIAL.search(text):
                yield Finding(
                    field,
                    "trial_price",
                    f"trial offer in {field} without a declared trial: {_quote(match)}; declare "
                    "trial = { days = N } and state the price after it",
                )
        return
    price = offer.price
    if price is None or price.total < _CENT:
        return  # a hidden price is refused on its own; a free offer costs nothing after
    stated = any(
        abs(amount - price.total) < _CENT
        for field in _PRICE_FIELDS
        for _, amount in _amounts(str(getattr(offer, field)))
    )
    if not stated:
        yield Finding(
            "trial",
            "trial_price",
            f"trial without the price after it: a {offer.trial.days}-day trial must say what "
            f"it costs when it ends, e.g. 'free for {offer.trial.days} days, then "
            f"{price.total:g} {price.currency} a {price.period.removeprefix('seat_')}' in the "
            "cta, subtext or commitment",
        )


def no_purchase_after_no(offer: Offer) -> Iterator[Finding]:
    """After "Not now" nothing was bought: the texts shown then must not say it was."""
    for name in FollowUp.AFTER_NO:
        text = str(getattr(offer.follow_up, name))
        for clause in _CLAUSE.split(text):
            match = _CONFIRMS.search(clause)
            if match and not _NEGATORS.search(clause):
                field = f"follow_up.{name}"
                yield Finding(
                    field,
                    "confirms_after_no",
                    f"{field} is shown after a no but confirms a purchase: {_quote(match)} in "
                    f"{clause.strip()!r}; acknowledge the choice instead (nothing was bought)",
                )


def outcome_first(offer: Offer) -> Iterator[Finding]:
    """Headlines lead with what the user achieves, and the CTA says what happens."""
    if match := _FEATURE_FIRST.search(offer.headline):
        yield Finding(
            "headline",
            "feature_first",
            f"headline leads with features, not the outcome: {_quote(match)}",
        )
    if match := _COY_CTA.search(offer.cta):
        yield Finding(
            "cta", "coy_cta", f"coy call to action hides what happens next: {_quote(match)}"
        )


CHECKS: tuple[Callable[[Offer], Iterator[Finding]], ...] = (
    pre_checked,
    dismiss_label,
    symmetric_choice,
    scarcity,
    double_negative,
    hidden_price,
    drip_pricing,
    trial_price,
    no_purchase_after_no,
    outcome_first,
)


def lint_offer(offer: Offer) -> list[Finding]:
    """Every dark-pattern problem of one offer (empty when the offer is honest)."""
    return [finding for check in CHECKS for finding in check(offer)]
