"""Pure extractors: session context and offer history in, named features out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from features.context import NO_HISTORY, History, SessionContext, TaskStage
from features.intents import intents_of
from features.moment import Moment, moment_of

Namespaces = Mapping[str, Mapping[str, float]]


def _frozen(namespaces: dict[str, dict[str, float]]) -> Namespaces:
    """Read-only views of freshly built dicts (callers hand over ownership; no copies)."""
    return MappingProxyType({ns: MappingProxyType(values) for ns, values in namespaces.items()})


@dataclass(frozen=True)
class Features:
    """Named features of one decision point, grouped by namespace.

    Categorical values are one-hot names (``plan=pro``: 1.0) so every feature is
    a name and a float; that is what VW namespaces and feature hashing both take.
    The moment and intents are kept as well because the respect rules read them.
    """

    moment: Moment
    intents: Mapping[str, float]
    namespaces: Namespaces = field(repr=False)
    #: Encodings of these features made by a policy (VW's text line, say), keyed by the
    #: encoder and its format version. A policy fills it the first time it encodes the
    #: features; it is stored with the logged decision, so the online learner and offline
    #: training reuse the exact text the policy read instead of encoding every row again.
    #: A cache of what ``namespaces`` already says: not part of equality.
    renderings: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form, stored with each logged decision for replay and training."""
        data: dict[str, object] = {
            "moment": self.moment.value,
            "intents": dict(self.intents),
            "namespaces": {ns: dict(values) for ns, values in self.namespaces.items()},
        }
        if self.renderings:
            data["renderings"] = dict(self.renderings)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Features:
        """Rebuild features from :meth:`to_dict` output (e.g. read back from the log)."""
        intents = data["intents"]
        namespaces = data["namespaces"]
        renderings = data.get("renderings", {})
        if not isinstance(intents, Mapping) or not isinstance(namespaces, Mapping):
            raise TypeError("features need 'intents' and 'namespaces' mappings")
        if not isinstance(renderings, Mapping) or not all(
            isinstance(v, str) for v in renderings.values()
        ):
            raise TypeError("feature 'renderings' must map encoder names to text")
        return cls(
            moment=Moment(str(data["moment"])),
            intents=MappingProxyType({str(k): float(v) for k, v in intents.items()}),
            namespaces=_frozen(
                {
                    str(ns): {str(k): float(v) for k, v in vals.items()}
                    for ns, vals in namespaces.items()
                }
            ),
            renderings={str(k): v for k, v in renderings.items()},
        )


def _log_seconds(seconds: float | None) -> float:
    """Compress elapsed time so an hour and a day differ, but a month and a year barely do."""
    return 0.0 if seconds is None else round(math.log1p(seconds / 60.0), 6)


def history_features(history: History) -> dict[str, float]:
    """How the user has experienced offers lately."""
    values = {
        "since_offer": _log_seconds(history.seconds_since_last_offer),
        "since_dismissal": _log_seconds(history.seconds_since_last_dismissal),
        "dismissals": float(min(history.dismissals, 20)),
        "offers_this_session": float(history.offers_this_session),
    }
    if history.seconds_since_last_offer is None:
        values["never_offered"] = 1.0
    if history.seconds_since_last_dismissal is None:
        values["never_dismissed"] = 1.0
    return values


def context_features(
    context: SessionContext,
    moment: Moment | None = None,
    intents: dict[str, float] | None = None,
) -> dict[str, dict[str, float]]:
    """Everything derived from the client's context, by namespace.

    ``moment`` and ``intents`` may be passed in when the caller has derived them already.
    """
    moment = moment or moment_of(context)
    intents = intents if intents is not None else intents_of(context)
    account = context.account
    activity = context.activity
    client: dict[str, float] = {f"num.{k}": float(v) for k, v in context.numeric.items()}
    if context.categorical:
        client.update({f"cat.{k}={v}": 1.0 for k, v in context.categorical.items()})
    return {
        "moment": {_MOMENT_NAMES[moment]: 1.0},
        "intent": intents,
        "activity": {
            "focus_heavy": 1.0 if activity.focus_heavy else 0.0,
            _STAGE_NAMES[activity.stage]: 1.0,
        },
        "account": {
            f"plan={account.plan}": 1.0,
            "seats": round(math.log1p(account.seats), 6),
            "tenure": round(math.log1p(account.tenure_days), 6),
        },
        "placement": {f"placement={context.placement}": 1.0},
        "client": client,
    }


#: One-hot feature names of the enumerations, spelled once instead of on every decision.
_MOMENT_NAMES = {moment: f"moment={moment.value}" for moment in Moment}
_STAGE_NAMES = {stage: f"stage={stage.value}" for stage in TaskStage}


def extract(context: SessionContext, history: History | None = None) -> Features:
    """Turn a decision point into features; the single entry point of this package."""
    moment, intents = moment_of(context), intents_of(context)
    namespaces = context_features(context, moment, intents)
    namespaces["history"] = history_features(history or NO_HISTORY)
    return Features(
        moment=moment,
        intents=MappingProxyType(intents),
        namespaces=_frozen(namespaces),
    )
