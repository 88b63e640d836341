"""Dark-pattern lint: an offer that pressures instead of serving is refused at load.

Each check returns plain messages that quote the offending phrase and the field
it is in, so a product writer can fix the copy without reading code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from bandit.catalog import Offer

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

_SHAMING = re.compile(
    r"""(
        \bi\s+(don['\u2019]?t|do\s+not)\s+(like|want|need|care|deserve|value)\b
      | \bi(['\u2019]d|\s+would)?\s+(rather|prefer)\b
      | \bi(['\u2019]m|\s+am)\s+(fine|ok|okay|happy)\s+(with\s+)?(losing|wasting|missing|paying)
      | \b(losing|lose|wasting|waste)\s+(my|money|time|files|work)
      | \bno,\s*i\b
      | \b(stupid|dumb|foolish)\b
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


def _quote(text: str, match: re.Match[str]) -> str:
    return f"{match.group(0).strip()!r}"


def pre_checked(offer: Offer) -> Iterator[str]:
    """Consent is opt-in: nothing is pre-selected or added for the user."""
    if offer.preselected:
        yield "pre-checked option: preselected = true is refused; the user must opt in"
    if offer.auto_add:
        yield "auto-add: auto_add = true is refused; the user must opt in"


def dismiss_label(offer: Offer) -> Iterator[str]:
    """A clear, neutral way out, with no shame attached."""
    label = offer.dismiss.strip()
    if not label:
        yield "missing dismiss label: every offer needs a clear 'no thanks' such as 'Not now'"
        return
    if match := _SHAMING.search(label):
        yield f"confirm-shaming in dismiss label: {_quote(label, match)} in {label!r}"


def scarcity(offer: Offer) -> Iterator[str]:
    """No scarcity theatre or fear of missing out, anywhere in the copy."""
    for field, text in offer.texts():
        for match in _SCARCITY.finditer(text):
            yield f"scarcity or FOMO phrase in {field}: {_quote(text, match)}"


def double_negative(offer: Offer) -> Iterator[str]:
    """Two negations in one clause make a choice easy to misread."""
    for field, text in offer.texts():
        for clause in _CLAUSE.split(text):
            negations = _NEGATORS.findall(clause)
            if len(negations) >= 2:
                yield f"double negative in {field}: {clause.strip()!r}"


def hidden_price(offer: Offer) -> Iterator[str]:
    """The price and its period are part of the offer, not the checkout."""
    if offer.price is None:
        yield "hidden price: declare price = { amount, currency, period }"


def outcome_first(offer: Offer) -> Iterator[str]:
    """Headlines lead with what the user achieves, and the CTA says what happens."""
    if match := _FEATURE_FIRST.search(offer.headline):
        yield f"headline leads with features, not the outcome: {_quote(offer.headline, match)}"
    if match := _COY_CTA.search(offer.cta):
        yield f"coy call to action hides what happens next: {_quote(offer.cta, match)}"


CHECKS: tuple[Callable[[Offer], Iterator[str]], ...] = (
    pre_checked,
    dismiss_label,
    scarcity,
    double_negative,
    hidden_price,
    outcome_first,
)


def lint_offer(offer: Offer) -> list[str]:
    """Every dark-pattern problem of one offer (empty when the offer is honest)."""
    return [message for check in CHECKS for message in check(offer)]
