"""The Vowpal Wabbit policy: a contextual bandit over the eligible offers.

It owns the ``cost = -reward`` convention, the VW command line built from the settings,
the action lines of the current catalog, and the saved model with its digest. The text
it scores is :mod:`bandit.vw.text`'s; the native calls into VW are
:class:`bandit.vw.workspace.NativeWorkspace`'s.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from bandit.catalog import Catalog
from bandit.config import PolicySettings
from bandit.decision import Decision
from bandit.policy import Policy, Scored, Weights
from bandit.vw.text import (
    SHARED_LINE_FORMAT,
    Label,
    action_line,
    example_lines,
    experience_segment,
    logged_shared_line,
    shared_line,
)
from bandit.vw.workspace import NativeWorkspace
from features import Features

MODEL_FILE = "model.vw"
#: SHA-256 of the saved model, checked on load.
DIGEST_FILE = "model.vw.sha256"
#: The pmf (and score) of a decision with one eligible action: VW is not asked.
_CERTAIN = (1.0,)


def vw_arguments(settings: PolicySettings, cost_range: tuple[float, float]) -> str:
    """The VW command line for a policy's settings."""
    exploration = {
        "epsilon": f"--epsilon {settings.epsilon}",
        "softmax": f"--softmax --lambda {settings.softmax_lambda}",
        "bag": f"--bag {settings.bag} --epsilon {settings.epsilon}",
        "cover": f"--cover {settings.cover}",
        "regcb": "--regcbopt",
        "squarecb": f"--squarecb --gamma_scale {settings.squarecb_gamma_scale}",
    }[settings.exploration]
    low, high = cost_range
    args = [
        "--cb_explore_adf",
        exploration,
        f"--cb_type {settings.cb_type}",
        f"-b {settings.bits}",
        f"-l {settings.learning_rate}",
        f"--power_t {settings.power_t}",
        f"--random_seed {settings.seed}",
        *(f"-q {pair}" for pair in settings.interactions if len(pair) == 2),
        *(f"--cubic {triple}" for triple in settings.interactions if len(triple) == 3),
        "--quiet",
    ]
    if settings.exploration in ("regcb", "squarecb"):
        args.append(f"--cb_min_cost {low} --cb_max_cost {high}")
    return " ".join(args)


def _experienced(features: Features, actions: tuple[str, ...]) -> bool:
    """Whether any of these actions carries the user's experience (most decisions: none)."""
    offers = features.offers
    return bool(offers) and any(action in offers for action in actions)


class VWPolicy(Policy):
    """Contextual bandit over eligible offers with VW's ``cb_explore_adf``.

    Parameters
    ----------
    settings:
        Exploration and learning settings (see :class:`bandit.config.PolicySettings`).
    cost_range:
        Smallest and largest cost (``-reward``) an outcome can have; RegCB and
        SquareCB need it to scale their confidence bounds.
    catalog:
        Describes offers by format, ambition and intents, so what is learned about
        one offer generalises to similar ones.
    """

    kind: ClassVar[str] = "vw"
    needs_catalog: ClassVar[bool] = True

    def __init__(
        self,
        settings: PolicySettings | Mapping[str, Any] | None = None,
        cost_range: tuple[float, float] | list[float] = (-1.0, 1.0),
        catalog: Catalog | None = None,
    ) -> None:
        super().__init__()
        self.settings = PolicySettings.model_validate(settings or {})
        self.cost_range = (float(cost_range[0]), float(cost_range[1]))
        self.catalog = catalog
        self._vw = NativeWorkspace.start(self.arguments)
        #: Each offer's action line, for the catalog version in :attr:`_lines_version`.
        self._lines: dict[str, str] = {}
        self._lines_version: str | None = None

    @property
    def arguments(self) -> str:
        """The VW command line this policy runs with."""
        return vw_arguments(self.settings, self.cost_range)

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (the catalog is bound at load time, not saved)."""
        return {"settings": self.settings.model_dump(), "cost_range": list(self.cost_range)}

    # --- the text VW reads ------------------------------------------------------------------

    def _fresh(self) -> None:
        """Forget the action lines, and VW's parsed copies of them, when the catalog changed."""
        version = self.catalog.version if self.catalog is not None else None
        if version != self._lines_version:
            # Lines first: an action set parsed meanwhile from the old lines is then forgotten.
            self._lines, self._lines_version = {}, version
            self._vw.forget_kept()

    def _action_line(self, offer_id: str) -> str:
        """Per-offer lines are built once per catalog version, then reused."""
        line = self._lines.get(offer_id)
        if line is None:
            line = self._lines[offer_id] = action_line(self.catalog, offer_id)
        return line

    def _action_block(self, actions: tuple[str, ...]) -> str:
        """The action lines of an example without experience, joined (what VW keeps parsed)."""
        return "\n".join([self._action_line(action) for action in actions])

    def examples(
        self,
        features: Features,
        actions: tuple[str, ...],
        label: Label | None = None,
        *,
        shared: str | None = None,
    ) -> list[str]:
        """The lines of the multi-line VW example of a decision point: every path to VW
        builds its example here.

        ``label`` is (chosen index, cost, probability); ``shared`` is the shared line
        logged with a decision, rendered from ``features`` when not given.
        """
        self._fresh()
        return self._example(features, actions, label, shared)

    def _example(
        self,
        features: Features,
        actions: tuple[str, ...],
        label: Label | None,
        shared: str | None,
    ) -> list[str]:
        """:meth:`examples` for a caller that has checked the catalog (:meth:`_fresh`)."""
        if shared is None:
            shared = shared_line(features)
        line = self._action_line
        if _experienced(features, actions):
            lines = [line(action) + experience_segment(features, action) for action in actions]
        else:
            lines = [line(action) for action in actions]
        return example_lines(shared, lines, label)

    def example_text(
        self,
        features: Features,
        actions: tuple[str, ...],
        label: Label | None = None,
        *,
        shared: str | None = None,
    ) -> str:
        """:meth:`examples` joined: the text VW parses."""
        return "\n".join(self.examples(features, actions, label, shared=shared))

    def labelled_texts(self, examples: Iterable[tuple[Decision, Label]]) -> Iterator[str]:
        """The labelled example of each logged decision, from the shared line it logged.

        :meth:`example_text` of each, with the catalog checked once: a training file's loop.
        """
        self._fresh()
        example = self._example
        for decision, label in examples:
            lines = example(
                decision.features, decision.actions, label, logged_shared_line(decision)
            )
            yield "\n".join(lines)

    # --- deciding and learning --------------------------------------------------------------

    def _score(self, features: Features, actions: tuple[str, ...]) -> Scored:
        """VW's probabilities, and the shared line they came from (logged with the decision)."""
        shared = shared_line(features)
        renderings = {SHARED_LINE_FORMAT: shared}
        if len(actions) == 1:  # not needed to decide, but logged: the learner reads it
            return Scored(_CERTAIN, _CERTAIN, renderings)
        if _experienced(features, actions):
            pmf = self._vw.predict(self.example_text(features, actions, shared=shared))
        else:
            pmf = self._predict(shared, actions)
        if self.settings.exploration == "regcb":
            # RegCB-Opt marks every action tied at the optimistic bound with 1: split evenly.
            total = math.fsum(pmf)
            pmf = [p / total for p in pmf]
        return Scored(pmf, pmf, renderings)

    def _pmf(self, features: Features, actions: tuple[str, ...]) -> tuple[Weights, Weights]:
        pmf, scores, _renderings = self._score(features, actions)
        return pmf, scores

    def _predict(self, shared: str, actions: tuple[str, ...]) -> list[float]:
        """VW's probabilities for a decision without experience, parsing only its shared line."""
        self._fresh()
        return self._vw.predict_kept(shared, actions, self._action_block)

    def _learn(
        self,
        features: Features,
        actions: tuple[str, ...],
        chosen: int,
        probability: float,
        reward: float,
        *,
        shared: str | None = None,
    ) -> None:
        if len(actions) == 1 and not self.settings.learn_lone_decisions:
            return  # nothing to choose between (see PolicySettings.learn_lone_decisions)
        label = (chosen, -reward, probability)
        self._vw.learn(self.example_text(features, actions, label, shared=shared))

    def _learn_decision(self, decision: Decision, reward: float) -> None:
        """:meth:`_learn` from the shared line logged with the decision."""
        self._learn(
            decision.features,
            decision.actions,
            decision.chosen_index,
            decision.probability,
            reward,
            shared=logged_shared_line(decision),
        )

    # --- the model --------------------------------------------------------------------------

    def fit_file(self, path: Path, passes: int = 1) -> VWPolicy:
        """Train from a file of labelled multi-line examples with VW's own driver loop.

        Much faster than one ``learn`` call per example from Python; the file is what
        :meth:`labelled_texts` writes, one blank line between examples. Replaces the model.
        """
        args = [*self.arguments.split(), "--data", str(path), "--passes", str(passes)]
        if passes > 1:
            args += ["--cache_file", f"{path}.cache", "--kill_cache", "--holdout_off"]
        self._vw.fit_file(args)
        return self

    def _save_state(self, directory: Path) -> None:
        self._vw.save(directory / MODEL_FILE)
        digest = hashlib.sha256((directory / MODEL_FILE).read_bytes()).hexdigest()
        (directory / DIGEST_FILE).write_text(digest + "\n")

    def _load_state(self, directory: Path) -> None:
        model = directory / MODEL_FILE
        if not model.is_file():
            raise ValueError(f"missing {MODEL_FILE}")
        # VW reads a truncated model without complaint and decides differently; the digest won't.
        expected = (directory / DIGEST_FILE).read_text().strip()
        if hashlib.sha256(model.read_bytes()).hexdigest() != expected:
            raise ValueError(f"{MODEL_FILE} does not match {DIGEST_FILE}: truncated or altered")
        self._vw.load(model)
