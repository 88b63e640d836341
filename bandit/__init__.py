"""Respect rules and policies: which offer, if any, may and should be shown."""

from bandit.catalog import NO_OFFER, Ambition, Catalog, FollowUp, Offer, Price
from bandit.config import (
    PolicySettings,
    RespectRules,
    RewardMapping,
    TactfulConfig,
    load_config,
    parse_config,
)
from bandit.decider import Decider
from bandit.decision import Decision, Explanation, Removal, RemovalCode
from bandit.epsilon_greedy import EpsilonGreedy
from bandit.errors import (
    ConfigError,
    ContradictoryEvent,
    IncompatibleModel,
    InvalidPolicyOutput,
    Problem,
    TactfulError,
    UnknownDecision,
    UnknownOffer,
)
from bandit.factory import make_policy
from bandit.linucb import LinUCB
from bandit.never import NeverOffer
from bandit.policy import Policy
from bandit.respect import (
    Acceptance,
    Dismissal,
    Exposure,
    InMemoryRespectStore,
    RespectState,
    RespectStore,
)
from bandit.reward import EventKind, reward_of
from bandit.rules import Eligibility, Situation, eligibility
from bandit.uniform import Uniform
from bandit.vw.policy import VWPolicy

__all__ = [
    "NO_OFFER",
    "Acceptance",
    "Ambition",
    "Catalog",
    "ConfigError",
    "ContradictoryEvent",
    "Decider",
    "Decision",
    "Dismissal",
    "Eligibility",
    "EpsilonGreedy",
    "EventKind",
    "Explanation",
    "Exposure",
    "FollowUp",
    "InMemoryRespectStore",
    "IncompatibleModel",
    "InvalidPolicyOutput",
    "LinUCB",
    "NeverOffer",
    "Offer",
    "Policy",
    "PolicySettings",
    "Price",
    "Problem",
    "Removal",
    "RemovalCode",
    "RespectRules",
    "RespectState",
    "RespectStore",
    "RewardMapping",
    "Situation",
    "TactfulConfig",
    "TactfulError",
    "Uniform",
    "UnknownDecision",
    "UnknownOffer",
    "VWPolicy",
    "eligibility",
    "load_config",
    "make_policy",
    "parse_config",
    "reward_of",
]
