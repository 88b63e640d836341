"""The policy base class: shared decide/learn logic with one small hook per policy.

``Policy.decide`` is written once. A subclass only says how likely each eligible
action should be (``_pmf``) and how to update from one logged outcome
(``_learn``); it never samples. Sampling uses an RNG seeded from the decision id,
so any logged decision can be replayed exactly from its pmf. A policy that reads the
features as text also overrides ``_score`` and ``_learn_decision``, to log that text
with the decision and learn from it again (see ``Decision.renderings``).
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np
from numpy.typing import NDArray

from bandit.catalog import Catalog
from bandit.decision import Decision, Explanation, new_decision_id
from bandit.errors import IncompatibleModel, InvalidPolicyOutput
from bandit.rules import Eligibility
from features import Features

FloatArray = NDArray[np.float64]
#: What a policy's ``_pmf`` may return: an array, or a plain list when numpy would only slow it.
Weights = Sequence[float] | FloatArray
METADATA = "policy.json"
#: Tolerance on the sum of a policy's pmf before it is renormalised.
PMF_TOLERANCE = 1e-4


class Scored(NamedTuple):
    """What a policy makes of one decision point: the pmf, the scores behind it, and any text
    it rendered the features into, by format (logged as :attr:`Decision.renderings`)."""

    pmf: Weights
    scores: Weights
    renderings: Mapping[str, str]


def uniform_for(decision_id: str) -> float:
    """One uniform draw in [0, 1) seeded by the decision id alone: a decision replays exactly.

    A keyed hash is the whole generator here: seeding a numpy Generator to draw a single
    number would cost more than the rest of the sampling put together.
    """
    digest = hashlib.blake2b(decision_id.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / _TWO_TO_53


_TWO_TO_53 = float(1 << 53)


def sample(pmf: Sequence[float] | FloatArray, decision_id: str) -> int:
    """Draw one index from ``pmf``; an action with probability zero is never drawn."""
    u = uniform_for(decision_id)
    cumulative = 0.0
    last_positive = 0
    for index, probability in enumerate(pmf):
        if probability > 0:
            last_positive = index
            cumulative += probability
            if u < cumulative:
                return index
    return last_positive  # u fell in the rounding gap at the top: the last possible action


def _checked(pmf: Sequence[float] | FloatArray, n_actions: int) -> list[float]:
    """:func:`validated` in plain Python: a decision's handful of floats is faster without numpy.

    Two C-level passes (``fsum`` and ``min``) decide that a pmf is fine; only a pmf that is
    not gets the slower look that says what is wrong with it.
    """
    if isinstance(pmf, np.ndarray) and pmf.shape != (n_actions,):
        raise InvalidPolicyOutput(f"pmf has shape {pmf.shape}, expected ({n_actions},)")
    try:
        values = pmf.tolist() if isinstance(pmf, np.ndarray) else list(map(float, pmf))
    except (TypeError, ValueError) as exc:
        raise InvalidPolicyOutput(f"pmf must be a flat sequence of numbers: {exc}") from exc
    if len(values) != n_actions:
        raise InvalidPolicyOutput(f"pmf has shape ({len(values)},), expected ({n_actions},)")
    try:
        total = math.fsum(values)
    except (ValueError, OverflowError):  # inf - inf, or finite numbers too large to add
        total = math.nan
    # Written so that NaN, which fails every comparison, lands in the slow branch too.
    if not (values and min(values) >= 0.0 and abs(total - 1.0) <= PMF_TOLERANCE):
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise InvalidPolicyOutput(f"pmf must be finite and non-negative, got {values}")
        raise InvalidPolicyOutput(f"pmf must sum to 1, sums to {total}")
    return values if total == 1.0 else [v / total for v in values]


def validated(pmf: Sequence[float] | FloatArray, n_actions: int) -> FloatArray:
    """Check a policy's output is a distribution over the actions, and renormalise it."""
    return np.asarray(_checked(pmf, n_actions), dtype=np.float64)


def _checked_scores(scores: Weights) -> list[float]:
    return scores.tolist() if isinstance(scores, np.ndarray) else [float(v) for v in scores]


class Policy(ABC):
    """Base of every policy. Hyperparameters are constructor arguments; learned state is private.

    Subclasses implement :meth:`_pmf` and :meth:`_learn`, and :meth:`_save_state` /
    :meth:`_load_state` for persistence. ``n_learned_`` counts learned outcomes.
    """

    kind: ClassVar[str]
    #: Whether the constructor takes the catalog (to describe offers by their attributes).
    needs_catalog: ClassVar[bool] = False
    _registry: ClassVar[dict[str, type[Policy]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            Policy._registry[cls.kind] = cls

    def __init__(self) -> None:
        self.n_learned_ = 0
        self.model_id_ = uuid.uuid4().hex[:8]

    @property
    def version(self) -> str:
        """Identifies the exact model state: kind, lineage and how much it has learned."""
        return f"{self.kind}-{self.model_id_}+{self.n_learned_}"

    @abstractmethod
    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable (scikit-learn style)."""

    @abstractmethod
    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[Weights, Weights]:
        """Probabilities over ``actions`` (``NO_OFFER`` first) and the scores behind them."""

    @abstractmethod
    def _learn(
        self,
        features: Features,
        actions: tuple[str, ...],
        chosen: int,
        probability: float,
        reward: float,
    ) -> None:
        """Update from one logged outcome (a higher reward is better)."""

    def _score(self, features: Features, actions: tuple[str, ...]) -> Scored:
        """:meth:`_pmf`, with the renderings to log with the decision (none, here).

        A policy that reads the features as text (VW) overrides this: the text is rendered
        once, scored, and logged, so that learning from the decision reads it back.
        """
        pmf, scores = self._pmf(features, actions)
        return Scored(pmf, scores, {})

    def _learn_decision(self, decision: Decision, reward: float) -> None:
        """:meth:`_learn` from a logged decision's parts.

        A policy that logs renderings with its decisions overrides this to learn from them.
        """
        self._learn(
            decision.features,
            decision.actions,
            decision.chosen_index,
            decision.probability,
            reward,
        )

    def probabilities(self, features: Features, actions: tuple[str, ...]) -> FloatArray:
        """The validated pmf over ``actions`` without sampling (for off-policy evaluation)."""
        raw, _scores = self._pmf(features, actions)
        return validated(raw, len(actions))

    def decide(
        self, features: Features, eligibility: Eligibility, *, decision_id: str | None = None
    ) -> Decision:
        """Choose among the eligible actions, sampling once from the policy's pmf."""
        decision_id = decision_id or new_decision_id()
        actions = eligibility.eligible
        raw, scores, renderings = self._score(features, actions)
        pmf = _checked(raw, len(actions))
        index = sample(pmf, decision_id)
        top = max(pmf)
        by_action = dict(zip(actions, pmf, strict=True))
        return Decision(
            decision_id=decision_id,
            chosen=actions[index],
            probability=pmf[index],
            pmf=by_action,
            explored=pmf[index] != top or pmf.count(top) > 1,
            policy_version=self.version,
            features=features,
            explanation=Explanation(
                eligible=actions,
                removed=eligibility.removed,
                # A policy whose scores are its probabilities shows them validated, as the pmf.
                scores=by_action
                if scores is raw
                else dict(zip(actions, _checked_scores(scores), strict=True)),
                moment=features.moment,  # a StrEnum is its value; `.value` costs a call
                intents=features.intents,  # read-only already: shared, not copied
            ),
            renderings=renderings,
        )

    def learn(self, decision: Decision, reward: float) -> Self:
        """Learn from a logged decision and the reward its outcome earned."""
        if not np.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward}")
        if not 0.0 < decision.probability <= 1.0:
            raise ValueError(f"logged probability must be in (0, 1], got {decision.probability}")
        self._learn_decision(decision, float(reward))
        self.n_learned_ += 1
        return self

    def save(self, directory: Path | str) -> Path:
        """Write the policy to a directory: ``policy.json`` plus the subclass's state files."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._save_state(directory)
        meta = {
            "kind": self.kind,
            "params": self.get_params(),
            "n_learned": self.n_learned_,
            "model_id": self.model_id_,
        }
        (directory / METADATA).write_text(json.dumps(meta, indent=2, sort_keys=True))
        return directory

    @abstractmethod
    def _save_state(self, directory: Path) -> None:
        """Write learned state into ``directory``."""

    @abstractmethod
    def _load_state(self, directory: Path) -> None:
        """Read learned state written by :meth:`_save_state`."""

    @staticmethod
    def load(directory: Path | str, catalog: Catalog | None = None) -> Policy:
        """Load any saved policy, binding the current catalog where the policy uses one."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / METADATA).read_text())
            cls = Policy._registry[meta["kind"]]
            bind = {"catalog": catalog} if cls.needs_catalog else {}
            policy = cls(**meta["params"], **bind)
            policy._load_state(directory)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IncompatibleModel(f"cannot load a policy from {directory}: {exc}") from exc
        policy.n_learned_ = int(meta["n_learned"])
        policy.model_id_ = str(meta["model_id"])
        return policy


class StatelessPolicy(Policy):
    """A policy with nothing to learn or save: fixed rules and baselines.

    Subclasses only say how likely each action is.
    """

    def get_params(self) -> dict[str, Any]:
        """No hyperparameters."""
        return {}

    def _learn(
        self,
        features: Features,
        actions: tuple[str, ...],
        chosen: int,
        probability: float,
        reward: float,
    ) -> None:
        """Nothing to learn."""

    def _save_state(self, directory: Path) -> None:
        """Nothing to save."""

    def _load_state(self, directory: Path) -> None:
        """Nothing to load."""
