"""The serving model: the one owner of the policy that decides, its checkpoint and its swaps.

Every decision reads the policy from here (the decider keeps no copy), the learner
learns on it and saves it from here, and every change of model (a newer checkpoint,
an offline champion, a take-over) goes through :meth:`ServingModel.swap` under one
lock. A checkpoint is served only once it has passed :meth:`ServingModel.verify`, so
no decision is ever answered by a refused one.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from bandit import NO_OFFER, IncompatibleModel, Policy, TactfulConfig, make_policy
from bandit.artifact import dump_policy, load_policy
from bandit.rules import Eligibility
from bandit.storage import Checkpoint, SqlStore, checksum
from features import SessionContext, extract
from serving.metrics import Metrics

#: The service's logger: swaps and refused checkpoints have always been logged there.
log = logging.getLogger("tactful.service")


class ForeignModel(Exception):
    """A model whose log cursor belongs to another database; the message says why."""


def foreign_cursor(trained_on: str | None, serving: str) -> str | None:
    """Why a model's log cursor cannot be used on the ``serving`` database, or ``None``.

    A cursor is a decision seq, a position in one database's log: the same number in
    another database points at unrelated decisions, and a learner resuming there
    would silently skip every decision before it.
    """
    if trained_on == serving:
        return None
    if trained_on is None:
        return (
            "it records no database (trained from a file, or registered before models "
            f"recorded one), so its log position means nothing in database {serving}; "
            "train a model on this database to replace it"
        )
    return (
        f"it was trained on database {trained_on}, not this one ({serving}), so its log "
        "position means nothing here; train a model on this database to replace it"
    )


@dataclass(frozen=True, slots=True)
class Served:
    """A policy with the checkpoint it is saved as (``None``: fresh, or not saved yet).

    Replaced whole on every change, so a reader always sees a matching pair.
    """

    policy: Policy
    checkpoint_id: int | None


class ServingModel:
    """The policy that answers decisions, where it came from, and how it is replaced."""

    def __init__(self, config: TactfulConfig, store: SqlStore, metrics: Metrics) -> None:
        self.config = config
        self.catalog = config.catalog()
        self.store = store
        self.metrics = metrics
        self._lock = threading.Lock()
        self._refused: set[int] = set()
        policy, checkpoint = self._latest()
        self._served = Served(policy, checkpoint.id if checkpoint is not None else None)

    # -- what is serving ------------------------------------------------------------------------

    @property
    def served(self) -> Served:
        """The policy and its checkpoint, read together."""
        return self._served

    @property
    def policy(self) -> Policy:
        """The policy the next decision uses."""
        return self._served.policy

    @property
    def checkpoint_id(self) -> int | None:
        """The checkpoint the serving policy is saved as, if it is saved."""
        return self._served.checkpoint_id

    # -- loading and checking -------------------------------------------------------------------

    def _latest(self) -> tuple[Policy, Checkpoint | None]:
        """The start-up rule: the latest sound checkpoint, else a fresh policy."""
        checkpoint = self.store.models.latest_checkpoint()
        policy = self.verify(checkpoint) if checkpoint is not None else None
        if policy is None or checkpoint is None:
            return make_policy(self.config), None
        return policy, checkpoint

    def load(self) -> Checkpoint | None:
        """Serve the latest sound checkpoint, else a fresh policy; return that checkpoint.

        What a process that becomes the learner starts from: ``None`` means a fresh
        policy, which has learned nothing of the log.
        """
        policy, checkpoint = self._latest()
        self.swap(policy, checkpoint.id if checkpoint is not None else None)
        return checkpoint

    def verify(self, checkpoint: Checkpoint) -> Policy | None:
        """Load a checkpoint only if its checksum holds and it makes one sane prediction."""
        try:
            if checksum(checkpoint.data) != checkpoint.checksum:
                raise IncompatibleModel("checksum mismatch")
            policy = load_policy(checkpoint.data, self.catalog)
            self.trial(policy)
        except IncompatibleModel as error:
            self._refused.add(checkpoint.id)
            self.metrics.model_swaps.labels(result="refused").inc()
            log.error(
                "refused checkpoint",
                extra={"fields": {"checkpoint": checkpoint.id, "reason": str(error)}},
            )
            return None
        return policy

    def trial(self, policy: Policy) -> None:
        """One prediction over the whole catalog; raise :class:`IncompatibleModel` if it fails."""
        actions = (NO_OFFER, *self.catalog.offers)
        features = extract(SessionContext(placement="trial"))
        try:
            policy.decide(features, Eligibility(actions), decision_id="trial")
        except Exception as error:
            raise IncompatibleModel(f"trial prediction failed: {error}") from error

    # -- replacing it ---------------------------------------------------------------------------

    def swap(self, policy: Policy, checkpoint_id: int | None) -> None:
        """Serve ``policy`` from now on; requests in flight finish on the old one."""
        with self._lock:
            self._served = Served(policy, checkpoint_id)
        self._swapped(policy, checkpoint_id)

    def _swapped(self, policy: Policy, checkpoint_id: int | None) -> None:
        self.metrics.model_swaps.labels(result="swapped").inc()
        log.info(
            "serving model swapped",
            extra={"fields": {"policy_version": policy.version, "checkpoint": checkpoint_id}},
        )

    def _newer(self, checkpoint_id: int) -> bool:
        """Whether checkpoint ``checkpoint_id`` is newer than the serving one (or none is)."""
        serving = self._served.checkpoint_id
        return serving is None or checkpoint_id > serving

    def refresh(self) -> bool:
        """Swap in the newest checkpoint if it is newer and sound; keep the old one otherwise."""
        checkpoint = self.store.models.latest_checkpoint()
        if checkpoint is None or checkpoint.id in self._refused:
            return False
        if not self._newer(checkpoint.id):
            return False
        policy = self.verify(checkpoint)
        if policy is None:
            return False
        with self._lock:  # another swap may have come first while this one loaded
            if not self._newer(checkpoint.id):
                return False
            self._served = Served(policy, checkpoint.id)
        self._swapped(policy, checkpoint.id)
        return True

    def adopt(self, policy: Policy, trained_on: str | None) -> bool:
        """Serve an offline champion, trained on database ``trained_on``, as the base to learn on.

        Raises :class:`ForeignModel` for a champion of another database (or of a file)
        and :class:`IncompatibleModel` for one that cannot predict here; either way the
        serving model stays. ``False``: this champion's lineage is serving already.
        """
        foreign = foreign_cursor(trained_on, self.store.database_id)
        if foreign is not None:
            raise ForeignModel(foreign)
        self.trial(policy)
        if policy.model_id_ == self._served.policy.model_id_:
            return False  # already serving this champion's lineage (e.g. after a restart)
        self.swap(policy, None)
        return True

    def save(self, cursor: int) -> Checkpoint:
        """Save the serving policy as a checkpoint that has learned the log up to ``cursor``.

        Saved outside the lock (a write can be slow); the checkpoint becomes the serving
        one only if no swap replaced the policy meanwhile.
        """
        policy = self._served.policy
        saved = self.store.models.save_checkpoint(policy.version, cursor, dump_policy(policy))
        with self._lock:
            if self._served.policy is policy:
                self._served = Served(policy, saved.id)
        return saved
