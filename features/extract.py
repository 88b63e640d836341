"""Pure extractors: session context and offer history in, named features out."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from features.context import (
    NO_HISTORY,
    Account,
    Activity,
    History,
    OfferHistory,
    SessionContext,
    TaskStage,
)
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


@dataclass(frozen=True, slots=True)
class Features:
    """Named features of one decision point, grouped by namespace.

    Categorical values are one-hot names (``plan=pro``: 1.0) so every feature is
    a name and a float; that is what VW namespaces and feature hashing both take.
    The moment and intents are kept as well because the respect rules read them.
    """

    moment: Moment
    intents: Mapping[str, float]
    namespaces: Namespaces = field(repr=False)
    #: Per offer id, this user's experience of that offer (see :func:`offer_features`):
    #: features of an action, not of the context. Offers the user has no history with
    #: are left out.
    offers: Mapping[str, Namespace] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form, stored with each logged decision for replay and training.

        A logged decision adds the text its policy read these features as (its
        ``renderings``) after these keys; :meth:`from_dict` leaves that to the decision.
        """
        data: dict[str, object] = {
            "moment": self.moment.value,
            "intents": dict(self.intents),
            "namespaces": {ns: dict(values) for ns, values in self.namespaces.items()},
        }
        if self.offers:
            data["offers"] = {offer: dict(values) for offer, values in self.offers.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Features:
        """Rebuild features from :meth:`to_dict` output (e.g. read back from the log)."""
        intents = data["intents"]
        namespaces = data["namespaces"]
        offers = data.get("offers", {})
        if not isinstance(intents, Mapping) or not isinstance(namespaces, Mapping):
            raise TypeError("features need 'intents' and 'namespaces' mappings")
        if not isinstance(offers, Mapping):
            raise TypeError("feature 'offers' must map offer ids to features")
        return cls(
            moment=Moment(str(data["moment"])),
            intents=Namespace({str(k): float(v) for k, v in intents.items()}),
            namespaces=_frozen(
                {
                    str(ns): {str(k): float(v) for k, v in vals.items()}
                    for ns, vals in namespaces.items()
                }
            ),
            offers={
                str(offer): Namespace({str(k): float(v) for k, v in vals.items()})
                for offer, vals in offers.items()
            },
        )


def _log_seconds(seconds: float | None) -> float:
    """Compress elapsed time so an hour and a day differ, but a month and a year barely do."""
    return 0.0 if seconds is None else math.log1p(seconds / 60.0)


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
    are shared instances, so whatever encodes them can remember its text. Each namespace
    has a builder of its own below, which an encoder may call directly (see
    :class:`ContextNamespaces`).
    """
    moment = moment or moment_of(context)
    intents = intents if intents is not None else intents_of(context)
    return {
        "moment": moment_namespace(moment),
        "intent": intents if isinstance(intents, Namespace) else Namespace(intents),
        "activity": activity_namespace(context.activity),
        "account": account_namespace(context.account),
        "placement": placement_namespace(context.placement),
        "client": client_namespace(context),
    }


def account_namespace(account: Account) -> Namespace:
    """The plan and each add-on the account has, one-hot; seats and tenure, log-compressed.

    The add-ons are how a product tells the policy what the user already owns.
    """
    values = {f"plan={account.plan}": 1.0, "seats": math.log1p(account.seats)}
    values["tenure"] = math.log1p(account.tenure_days)
    values.update((f"addon={add_on}", 1.0) for add_on in account.add_ons)
    return Namespace(values)


def offer_features(history: OfferHistory) -> Namespace:
    """One offer's experience as features of its action: "not again", "not to a yes".

    Counts are capped and log-compressed, so the third showing differs from the first
    more than the thirtieth from the twentieth.
    """
    values = {
        "shown": math.log1p(min(history.shown, 50)),
        "dismissed": float(min(history.dismissed, 10)),
        "since_shown": _log_seconds(history.seconds_since_shown),
    }
    if history.accepted:
        values["accepted"] = 1.0
    return Namespace(values)


def client_namespace(context: SessionContext) -> Namespace:
    """The client's own features: ``num.<name>`` values and ``cat.<name>=<value>`` one-hots."""
    if not context.numeric and not context.categorical:
        return _NO_CLIENT
    client = {f"num.{k}": float(v) for k, v in context.numeric.items()}
    for k, v in context.categorical.items():
        client[f"cat.{k}={v}"] = 1.0
    return Namespace(client)


def moment_namespace(moment: Moment) -> SharedNamespace:
    """The moment, one-hot."""
    return _MOMENTS[moment]


def activity_namespace(activity: Activity) -> SharedNamespace:
    """Focus-heavy work (a zero when not) and the task's stage, one-hot."""
    return _ACTIVITIES[activity.focus_heavy, activity.stage]


def placement_namespace(placement: str) -> SharedNamespace:
    """The placement, one-hot: one shared namespace each, a product has a handful of them."""
    namespace = _PLACEMENTS.get(placement)
    if namespace is None:
        if len(_PLACEMENTS) >= _PLACEMENTS_MAX:  # not a handful after all: start again
            _PLACEMENTS.clear()
        namespace = _PLACEMENTS[placement] = SharedNamespace({f"placement={placement}": 1.0})
    return namespace


_PLACEMENTS: dict[str, SharedNamespace] = {}
_PLACEMENTS_MAX = 1024


def history_namespace(history: History) -> Namespace:
    """:func:`history_features` as a namespace (shared for a user with no history yet)."""
    if history is NO_HISTORY:
        return _NO_HISTORY
    return Namespace(history_features(history))


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


class ContextNamespaces(Mapping[str, Namespace]):
    """The namespaces of one decision point, built from its context when first read.

    A decision rarely needs them as a mapping: the respect rules read the moment and the
    intents, and a policy's encoder may render its text straight from the context with
    the builders above (``bandit.vw.text`` does). The mapping is built once, when something
    reads it: the decision's log record, a linear policy, an equality check.
    """

    __slots__ = ("_built", "context", "history", "intents", "moment")

    def __init__(
        self, context: SessionContext, history: History, moment: Moment, intents: Namespace
    ) -> None:
        self.context = context
        self.history = history
        self.moment = moment
        self.intents = intents
        self._built: dict[str, Namespace] | None = None

    def _namespaces(self) -> dict[str, Namespace]:
        built = self._built
        if built is None:
            built = context_features(self.context, self.moment, self.intents)
            built["history"] = history_namespace(self.history)
            self._built = built
        return built

    def __getitem__(self, namespace: str) -> Namespace:
        return self._namespaces()[namespace]

    def __iter__(self) -> Iterator[str]:
        return iter(self._namespaces())

    def __len__(self) -> int:
        return len(self._namespaces())

    def __repr__(self) -> str:
        return f"ContextNamespaces({self._namespaces()!r})"


def extract(context: SessionContext, history: History | None = None) -> Features:
    """Turn a decision point into features; the single entry point of this package."""
    moment = moment_of(context)
    intents = Namespace(intents_of(context))
    history = history or NO_HISTORY
    namespaces = ContextNamespaces(context, history, moment, intents)
    offers = {offer: offer_features(h) for offer, h in history.offers.items()}
    return Features(moment=moment, intents=intents, namespaces=namespaces, offers=offers)
