"""Pure extractors: session context and offer history in, named features out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from features.context import NO_HISTORY, History, SessionContext, TaskStage
from features.intents import intents_of
from features.moment import Moment, moment_of
from features.namespace import Namespace, SharedNamespace

Namespaces = Mapping[str, Mapping[str, float]]


def _frozen(namespaces: Mapping[str, Mapping[str, float]]) -> Namespaces:
    """A read-only mapping of read-only namespaces (those already read-only are kept)."""
    return MappingProxyType(
        {
            ns: values if isinstance(values, Namespace) else Namespace(values)
            for ns, values in namespaces.items()
        }
    )


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
            intents=Namespace({str(k): float(v) for k, v in intents.items()}),
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
    intents: Mapping[str, float] | None = None,
) -> dict[str, Namespace]:
    """Everything derived from the client's context, by namespace.

    ``moment`` and ``intents`` may be passed in when the caller has derived them already.
    Namespaces that can take only a few values (the moment, the activity, the placement)
    are shared instances, so whatever encodes them can remember its text.
    """
    moment = moment or moment_of(context)
    intents = intents if intents is not None else intents_of(context)
    account = context.account
    activity = context.activity
    if context.numeric or context.categorical:
        client = Namespace({f"num.{k}": float(v) for k, v in context.numeric.items()})
        if context.categorical:
            client = Namespace(
                client, **{f"cat.{k}={v}": 1.0 for k, v in context.categorical.items()}
            )
    else:
        client = _NO_CLIENT
    return {
        "moment": _MOMENTS[moment],
        "intent": intents if isinstance(intents, Namespace) else Namespace(intents),
        "activity": _ACTIVITIES[activity.focus_heavy, activity.stage],
        "account": Namespace(
            {
                f"plan={account.plan}": 1.0,
                "seats": round(math.log1p(account.seats), 6),
                "tenure": round(math.log1p(account.tenure_days), 6),
            }
        ),
        "placement": _placement(context.placement),
        "client": client,
    }


#: The shared namespaces of the enumerations, built once instead of on every decision.
_MOMENTS = {moment: SharedNamespace({f"moment={moment.value}": 1.0}) for moment in Moment}
_ACTIVITIES = {
    (focus, stage): SharedNamespace(
        {"focus_heavy": 1.0 if focus else 0.0, f"stage={stage.value}": 1.0}
    )
    for focus in (False, True)
    for stage in TaskStage
}
_NO_CLIENT = SharedNamespace()
#: The history namespace of a user with no offers and no dismissals yet (most decisions).
_NO_HISTORY = SharedNamespace(history_features(NO_HISTORY))


@lru_cache(maxsize=1024)
def _placement(placement: str) -> SharedNamespace:
    """One shared namespace per placement: a product has a handful of them."""
    return SharedNamespace({f"placement={placement}": 1.0})


def extract(context: SessionContext, history: History | None = None) -> Features:
    """Turn a decision point into features; the single entry point of this package."""
    moment = moment_of(context)
    intents = Namespace(intents_of(context))
    namespaces = context_features(context, moment, intents)
    namespaces["history"] = (
        _NO_HISTORY
        if history is None or history is NO_HISTORY
        else Namespace(history_features(history))
    )
    return Features(moment=moment, intents=intents, namespaces=MappingProxyType(namespaces))
