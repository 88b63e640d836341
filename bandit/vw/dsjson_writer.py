"""Decisions as Decision Service JSON (DSJSON): one line per decision, as VW's ``--dsjson``
reads it.

VW's own tools (and anyone else's) can then train, evaluate off-policy or audit from
tactful's log. The features are read back from the very text lines the policy learns from
(:mod:`bandit.vw.text`), so an export cannot drift from what the policy scored.
:mod:`bandit.vw.dsjson_reader` reads these lines back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bandit.catalog import Catalog
from bandit.decision import Decision
from bandit.vw.text import action_line, experience_segment, logged_shared_line, number_text
from features import Features

#: The DSJSON schema version VW's ``--dsjson`` reader and the Decision Service write.
DSJSON_VERSION = "1"
#: VW's JSON reader treats keys starting with this as metadata, never as features.
JSON_RESERVED = "_"


def text_namespaces(line: str) -> dict[str, dict[str, float]]:
    """The namespaces of one line of VW text, as ``{letter: {feature: value}}``.

    DSJSON features are read back from the very text lines the policy learns from,
    so an export cannot drift from :mod:`bandit.vw.text`'s shared and action lines:
    names are already sanitised (no spaces, colons or bars) and values already
    rounded exactly as VW sees them. Two groups with one letter merge, as VW does.
    """
    namespaces: dict[str, dict[str, float]] = {}
    for group in line.split("|")[1:]:
        letter, *tokens = group.split()
        values = namespaces.setdefault(letter, {})
        for token in tokens:
            name, _, value = token.partition(":")
            if name.startswith(JSON_RESERVED):
                raise ValueError(f"feature {name!r}: VW's JSON reader would drop it silently")
            values[name] = float(value) if value else 1.0
    return namespaces


def _action_namespaces(
    catalog: Catalog | None, offer_id: str, features: Features
) -> dict[str, dict[str, float]]:
    """One action's features, exactly as the policy describes it: the catalog's view of
    the offer, and the user's experience of it."""
    return text_namespaces(action_line(catalog, offer_id) + experience_segment(features, offer_id))


def _rounded(value: float) -> float:
    """A label number rounded as the text format writes it, so both formats teach the same."""
    return float(number_text(value))


def _timestamp(at: datetime) -> str:
    """UTC in the Decision Service's ``...Z`` form."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dsjson_ranking(chosen: int, n_actions: int) -> list[int]:
    """DSJSON's ``a``: 1-based action ids, the chosen one first, then the rest in logged order."""
    return [chosen + 1, *(i + 1 for i in range(n_actions) if i != chosen)]


def dsjson_record(
    decision: Decision,
    reward: float | None,
    catalog: Catalog | None,
    *,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """The DSJSON object of one closed decision (see :func:`dsjson_line`)."""
    actions = decision.actions
    chosen = decision.chosen_index
    ranking = dsjson_ranking(chosen, len(actions))
    probabilities = [_rounded(decision.pmf[actions[i - 1]]) for i in ranking]
    record: dict[str, Any] = {}
    if reward is None:
        record["_skipLearn"] = True
    else:
        record["_label_cost"] = _rounded(-reward)
        record["_label_probability"] = probabilities[0]
        record["_label_Action"] = chosen + 1
        record["_labelIndex"] = chosen
    if timestamp is not None:
        record["Timestamp"] = _timestamp(timestamp)
    shared: dict[str, Any] = dict(text_namespaces(logged_shared_line(decision)))
    shared["_multi"] = [
        _action_namespaces(catalog, action, decision.features) for action in actions
    ]
    record.update(
        {
            "Version": DSJSON_VERSION,
            "EventId": decision.decision_id,
            "a": ranking,
            "c": shared,
            "p": probabilities,
            "VWState": {"m": decision.policy_version},
        }
    )
    return record


def dsjson_line(
    decision: Decision,
    reward: float | None,
    catalog: Catalog | None,
    *,
    timestamp: datetime | None = None,
) -> str:
    """One line of Decision Service JSON, as VW's ``--dsjson --cb_explore_adf`` reads it.

    VW's own tools (and anyone else's) can then train, evaluate off-policy or audit
    from tactful's log. The features are those :class:`bandit.vw.policy.VWPolicy` learns from:
    ``c`` holds the shared namespaces, ``_multi`` one object per eligible action in
    logged order. The label follows the policy's convention (``cost = -reward``,
    ``_labelIndex`` 0-based, ``_label_Action`` 1-based); ``a`` and ``p`` list the
    actions chosen-first with their probabilities, as the Decision Service does.

    A decision without a reward (its offer was never shown) carries no label but
    ``"_skipLearn": true``: VW learns nothing from it, as the learner does, while
    the log stays complete. Only features leave: no user key, session or raw context.
    """
    record = dsjson_record(decision, reward, catalog, timestamp=timestamp)
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
