"""Respect rules and policies: which offer, if any, may and should be shown.

What a user of the library needs: the config and its catalog, the ``Decider`` and the
``Decision`` it returns, the policies, the errors, the respect store interface with its
in-memory store, and the reward mapping. Everything else is imported from its own module
(the rules from ``bandit.rules``, the respect history from ``bandit.respect``, ...).
"""

from bandit.catalog import NO_OFFER, Catalog, Offer
from bandit.config import (
    PolicySettings,
    RespectRules,
    RewardMapping,
    TactfulConfig,
    load_config,
    parse_config,
)
from bandit.decider import Decider
from bandit.decision import Decision
from bandit.epsilon_greedy import EpsilonGreedy
from bandit.errors import (
    ConfigError,
    ContradictoryEvent,
    IncompatibleModel,
    InvalidPolicyOutput,
    TactfulError,
    UnknownDecision,
    UnknownOffer,
)
from bandit.factory import make_policy
from bandit.linucb import LinUCB
from bandit.never import NeverOffer
from bandit.policy import Policy
from bandit.respect import InMemoryRespectStore, RespectStore
from bandit.reward import EventKind, reward_of
from bandit.uniform import Uniform
from bandit.vw.policy import VWPolicy

__all__ = [
    "NO_OFFER",
    "Catalog",
    "ConfigError",
    "ContradictoryEvent",
    "Decider",
    "Decision",
    "EpsilonGreedy",
    "EventKind",
    "InMemoryRespectStore",
    "IncompatibleModel",
    "InvalidPolicyOutput",
    "LinUCB",
    "NeverOffer",
    "Offer",
    "Policy",
    "PolicySettings",
    "RespectRules",
    "RespectStore",
    "RewardMapping",
    "TactfulConfig",
    "TactfulError",
    "Uniform",
    "UnknownDecision",
    "UnknownOffer",
    "VWPolicy",
    "load_config",
    "make_policy",
    "parse_config",
    "reward_of",
]
