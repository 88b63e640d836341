"""Session context in, features out: the vocabulary every other package speaks."""

from features.context import (
    NO_HISTORY,
    Account,
    Activity,
    History,
    OfferHistory,
    SessionContext,
    Signal,
    SignalKind,
    TaskStage,
)
from features.extract import Features, extract, offer_features
from features.intents import adjacency, intents_of
from features.moment import Moment, is_completion, moment_of
from features.namespace import Namespace, SharedNamespace
from features.vector import to_matrix, to_vector

__all__ = [
    "NO_HISTORY",
    "Account",
    "Activity",
    "Features",
    "History",
    "Moment",
    "Namespace",
    "OfferHistory",
    "SessionContext",
    "SharedNamespace",
    "Signal",
    "SignalKind",
    "TaskStage",
    "adjacency",
    "extract",
    "intents_of",
    "is_completion",
    "moment_of",
    "offer_features",
    "to_matrix",
    "to_vector",
]
