"""A decision, as it is returned, logged and later learned from, with the removals behind it.

The removal types live here, not with the rules that make them: a decision carries its
removals, and the rules (which read the respect state) build on decisions, not the reverse.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from bandit.catalog import NO_OFFER
from features import Features


def new_decision_id() -> str:
    """128 random bits as 32 hex digits: the shape of ``uuid4().hex``, at a fifth of its cost.

    ``os.urandom`` is what ``secrets.token_hex`` calls, without its two wrappers.
    """
    return os.urandom(16).hex()


class RemovalCode(StrEnum):
    """Why an offer was not eligible, as a stable machine-readable code."""

    OPTED_OUT = "opted_out"
    NOT_RENDERABLE = "not_renderable"
    WRONG_PLACEMENT = "wrong_placement"
    ALREADY_OWNED = "already_owned"
    ALREADY_ACCEPTED = "already_accepted"
    RETIRED = "retired"
    OFFER_COOLDOWN = "offer_cooldown"
    GLOBAL_COOLDOWN = "global_cooldown"
    SESSION_CAP = "session_cap"
    REPEAT_IN_SESSION = "repeat_in_session"
    DAILY_CAP = "daily_cap"
    WEEKLY_CAP = "weekly_cap"
    INTERRUPTS_FOCUS = "interrupts_focus"
    BIG_ASK_NOT_AT_COMPLETION = "big_ask_not_at_completion"
    BELOW_RELEVANCE_BAR = "below_relevance_bar"

    @classmethod
    def _missing_(cls, value: object) -> RemovalCode | None:
        """Read codes stored under an earlier name as the code that checks the same thing.

        ``big_ask_mid_task`` was given at every moment but a completion, idle included;
        decisions logged with it still load.
        """
        return _RENAMED.get(str(value))


#: Earlier names of codes, by the code now given for the same check.
_RENAMED = {"big_ask_mid_task": RemovalCode.BIG_ASK_NOT_AT_COMPLETION}


class Removal(NamedTuple):
    """An offer the rules removed, with a code for machines and a reason for people."""

    offer_id: str
    code: RemovalCode
    reason: str


class Explanation(NamedTuple):
    """Why this decision: what was eligible, what was removed and why, how each action scored.

    A named tuple rather than a frozen dataclass, as ``Removal`` is: one is built on every
    decision, and a tuple is built in a single step where a frozen dataclass sets each field.
    """

    eligible: tuple[str, ...]
    removed: tuple[Removal, ...]
    scores: Mapping[str, float]
    moment: str
    intents: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision: the chosen action with its exact probability, and how it came about.

    ``pmf`` covers exactly the eligible actions (``NO_OFFER`` first), so the
    logged propensity is the real one and off-policy evaluation can trust it.
    """

    decision_id: str
    chosen: str
    probability: float
    pmf: Mapping[str, float]
    explored: bool
    policy_version: str
    features: Features = field(repr=False)
    explanation: Explanation = field(repr=False)
    #: The text the policy read the features as, by format and its version (a VW policy's
    #: shared line, under ``vw-shared/1``); empty for policies that read the features
    #: directly. Logged with the decision, so that the online learner, offline training and
    #: exports reuse the very text the policy scored. A rendering of ``features``, which
    #: already take part in equality: this does not.
    renderings: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def offer_id(self) -> str | None:
        """The offer to show, or ``None`` for no offer."""
        return None if self.chosen == NO_OFFER else self.chosen

    @property
    def actions(self) -> tuple[str, ...]:
        """The eligible actions, in the order the policy saw them."""
        return tuple(self.pmf)

    @property
    def chosen_index(self) -> int:
        """Position of the chosen action among :attr:`actions`."""
        return self.actions.index(self.chosen)


def decision_to_record(decision: Decision) -> dict[str, Any]:
    """A JSON-ready record of a decision: what the log stores and training replays."""
    return {
        "decision_id": decision.decision_id,
        "chosen": decision.chosen,
        "probability": decision.probability,
        "pmf": dict(decision.pmf),
        "explored": decision.explored,
        "policy_version": decision.policy_version,
        "features": _features_record(decision),
        "explanation": {
            "eligible": list(decision.explanation.eligible),
            "removed": [
                {"offer_id": r.offer_id, "code": r.code.value, "reason": r.reason}
                for r in decision.explanation.removed
            ],
            "scores": dict(decision.explanation.scores),
            "moment": decision.explanation.moment,
            "intents": dict(decision.explanation.intents),
        },
    }


def _features_record(decision: Decision) -> dict[str, object]:
    """The features' record, with the decision's renderings under ``"renderings"``.

    The renderings are logged inside the features' record, after the features' own keys:
    where logs and stores have always kept them, so records read and write as they did.
    """
    data = decision.features.to_dict()
    if decision.renderings:
        data["renderings"] = dict(decision.renderings)
    return data


def _renderings(features: Mapping[str, Any]) -> dict[str, str]:
    """The renderings logged in a features' record (see :func:`_features_record`)."""
    renderings = features.get("renderings", {})
    if not isinstance(renderings, Mapping) or not all(
        isinstance(v, str) for v in renderings.values()
    ):
        raise TypeError("feature 'renderings' must map encoder names to text")
    return {str(k): v for k, v in renderings.items()}


def decision_from_record(record: Mapping[str, Any]) -> Decision:
    """Rebuild a decision from :func:`decision_to_record` output."""
    explanation = record["explanation"]
    return Decision(
        decision_id=str(record["decision_id"]),
        chosen=str(record["chosen"]),
        probability=float(record["probability"]),
        pmf={str(k): float(v) for k, v in record["pmf"].items()},
        explored=bool(record["explored"]),
        policy_version=str(record["policy_version"]),
        features=Features.from_dict(record["features"]),
        explanation=Explanation(
            eligible=tuple(explanation["eligible"]),
            removed=tuple(
                Removal(r["offer_id"], RemovalCode(r["code"]), r["reason"])
                for r in explanation["removed"]
            ),
            scores={str(k): float(v) for k, v in explanation["scores"].items()},
            moment=str(explanation["moment"]),
            intents={str(k): float(v) for k, v in explanation["intents"].items()},
        ),
        renderings=_renderings(record["features"]),
    )
