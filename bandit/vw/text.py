"""VW's text example format: the shared (context) line, the action lines, and the label.

Pure functions of the features and the catalog, pinned as golden strings in
``tests/bandit/test_vw.py``. The policy scores this text, the log keeps its shared line
(see :func:`logged_shared_line`), and the DSJSON export is read back from it, so every
path that teaches VW teaches it the same text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bandit.catalog import Catalog, Offer
from bandit.decision import Decision
from features import Features, SharedNamespace
from features.extract import (
    ContextNamespaces,
    account_namespace,
    activity_namespace,
    client_namespace,
    history_namespace,
    moment_namespace,
    placement_namespace,
)

#: Feature namespace -> VW namespace letter. Interactions in the config use these letters.
NAMESPACE_LETTERS: Mapping[str, str] = {
    "moment": "M",
    "intent": "I",
    "activity": "T",
    "account": "A",
    "history": "H",
    "placement": "P",
    "client": "C",
}
OFFER_LETTER = "O"
#: The namespace of the user's experience of an offer, on that offer's action line.
EXPERIENCE_LETTER = "E"
#: Key of the shared line among a decision's renderings (:attr:`Decision.renderings`). Bump
#: the number whenever :func:`shared_line`'s output changes: lines logged in the old format
#: are then ignored and rendered afresh (``tests/bandit/test_vw.py`` pins the format).
SHARED_LINE_FORMAT = "vw-shared/1"
#: A labelled example's label: the chosen action's index, its cost (``-reward``) and the
#: probability it was chosen with.
Label = tuple[int, float, float]

_UNSAFE = re.compile(r"[\s:|]")


def _name(name: str) -> str:
    """Make a feature name safe for VW's text format (no spaces, colons or bars).

    Remembered: the same few hundred names recur on every example, in serving and
    training. A plain dict, not ``lru_cache``: a hit is a tenth of the work.
    """
    safe = _SAFE_NAMES.get(name)
    if safe is None:
        if len(_SAFE_NAMES) >= _NAMES_MAX:
            _SAFE_NAMES.clear()
        safe = _SAFE_NAMES[name] = _UNSAFE.sub("_", name)
    return safe


_SAFE_NAMES: dict[str, str] = {}
_NAMES_MAX = 65536


def number_text(value: float) -> str:
    """A number as the text format writes a label's: six significant digits."""
    return f"{value:.6g}"


def shared_line(features: Features) -> str:
    """The shared (context) line of a multi-line example, namespace by namespace."""
    namespaces = features.namespaces
    if type(namespaces) is ContextNamespaces:
        return _render_from_context(namespaces)
    segments = ["shared"]
    for namespace, values in namespaces.items():
        segment = _remembered(namespace, values)
        if segment:
            segments.append(segment)
    return " ".join(segments)


def logged_shared_line(decision: Decision) -> str:
    """The shared line logged with a decision, or its features' line rendered afresh.

    Decisions a VW policy made carry the very text it scored; the online learner, offline
    training and exports read that back instead of rendering every row again (rendering is
    the bulk of turning a logged row into a VW example). Other policies log none.
    """
    line = decision.renderings.get(SHARED_LINE_FORMAT)
    return shared_line(decision.features) if line is None else line


def _render_from_context(source: ContextNamespaces) -> str:
    """:func:`shared_line` of freshly extracted features, without building their mapping.

    Each namespace comes from its own builder in ``features.extract``, in the order
    ``context_features`` lists them, and the account's three features are written in one
    step. That is most of the work of a decision's features; ``test_vw`` pins this to
    the generic rendering for any context and history.
    """
    context = source.context
    segments = (
        "shared",
        _remembered("moment", moment_namespace(source.moment)),
        _segment("intent", source.intents),
        _remembered("activity", activity_namespace(context.activity)),
        _segment("account", account_namespace(context.account)),
        _remembered("placement", placement_namespace(context.placement)),
        _remembered("client", client_namespace(context)),
        _remembered("history", history_namespace(source.history)),
    )
    return " ".join(filter(None, segments))  # empty segments left out, in C


def _remembered(namespace: str, values: Mapping[str, float]) -> str:
    """:func:`_segment`, remembered by a namespace that many decisions share."""
    if type(values) is not SharedNamespace:
        return _segment(namespace, values)
    segment = values.renderings.get(SHARED_LINE_FORMAT)
    if segment is None:
        segment = values.renderings[SHARED_LINE_FORMAT] = _segment(namespace, values)
    return segment


def _segment(namespace: str, values: Mapping[str, float]) -> str:
    """``|L name name:value ...``, names sorted, zeros left out; empty if nothing is left."""
    body = _features(values)
    return f"|{NAMESPACE_LETTERS.get(namespace, 'C')} {body}" if body else ""


def _features(values: Mapping[str, float]) -> str:
    """``name name:value ...``: names sorted, a value of 1 left implicit, zeros left out."""
    return " ".join(
        [_name(k) if v == 1.0 else f"{_name(k)}:{v:.6g}" for k, v in sorted(values.items()) if v]
    )


def offer_line(offer: Offer | None, offer_id: str, level: int | None = None) -> str:
    """The action line of one offer; an offer no longer in the catalog is described by id."""
    if offer is None:
        return f"|{OFFER_LETTER} id={_name(offer_id)}"
    intents = " ".join(f"intent={_name(i)}" for i in sorted(offer.intents))
    return (
        f"|{OFFER_LETTER} id={_name(offer.id)} format={_name(offer.format)} level={level} "
        f"ambition={offer.ambition.value} {intents}"
    )


def action_line(catalog: Catalog | None, offer_id: str) -> str:
    """:func:`offer_line` of an offer as the catalog describes it (by id if it holds none)."""
    if catalog is not None and offer_id in catalog:
        offer = catalog[offer_id]
        return offer_line(offer, offer_id, catalog.level(offer))
    return offer_line(None, offer_id)


def experience_segment(features: Features, offer_id: str) -> str:
    """`` |E shown:0.69 ...``: this user's experience of the offer, or nothing if none."""
    experience = features.offers.get(offer_id)
    body = _features(experience) if experience else ""
    return f" |{EXPERIENCE_LETTER} {body}" if body else ""


def example_lines(
    shared: str, action_lines: Sequence[str], label: Label | None = None
) -> list[str]:
    """The lines of a multi-line example: the shared line, then one line per action.

    ``label`` marks the chosen action's line with ``0:cost:probability``, the numbers
    written with six significant digits. VW parses the lines joined by newlines.
    """
    lines = [shared, *action_lines]
    if label is not None:
        chosen, cost, probability = label
        # The numbers as number_text writes them, inlined: this runs once per training row.
        lines[chosen + 1] = f"0:{cost:.6g}:{probability:.6g} {lines[chosen + 1]}"
    return lines
