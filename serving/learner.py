"""The online learner: one per deployment, elected through a lease in the database.

The holder closes due reward windows, learns from finished decisions in log
order and checkpoints the model with the log position it has reached. Every
other process only decides, and swaps in the holder's checkpoints as they come.
A new holder starts from the last checkpoint and replays what came after it, so
each finished decision is learned exactly once by the model that serves.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bandit import EventKind
from bandit.storage import Checkpoint, Finished
from serving.model import ForeignModel
from serving.service import Service

if TYPE_CHECKING:  # MLflow is imported only when a registry exists: it takes seconds
    from training.tracking import Tracking

log = logging.getLogger("tactful.learner")
LEASE = "learner"
BATCH = 500


@dataclass
class Rolling:
    """Counts over the decisions learned since the last snapshot."""

    decisions: int = 0
    reward: float = 0.0
    no_offer: int = 0
    shown: int = 0
    accepted: int = 0
    dismissed: int = 0
    opted_out: int = 0

    def add(self, finished: Finished) -> None:
        """Count one learned decision."""
        self.decisions += 1
        self.reward += finished.reward or 0.0
        self.no_offer += finished.decision.offer_id is None
        self.shown += EventKind.SHOWN in finished.kinds
        self.accepted += EventKind.ACCEPTED in finished.kinds
        self.dismissed += EventKind.DISMISSED in finished.kinds
        self.opted_out += EventKind.OPTED_OUT in finished.kinds

    def metrics(self) -> dict[str, float]:
        """Rates a person can compare across snapshots."""
        shown = max(self.shown, 1)
        return {
            "rolling.reward_per_decision": self.reward / max(self.decisions, 1),
            "rolling.no_offer_share": self.no_offer / max(self.decisions, 1),
            "rolling.acceptance_per_impression": self.accepted / shown,
            "rolling.dismissals_per_impression": self.dismissed / shown,
            "rolling.opt_outs_per_impression": self.opted_out / shown,
            "rolling.decisions": float(self.decisions),
        }


class Learner:
    """Runs in a background thread of each server process; at most one is active."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.model = service.serving
        self.settings = service.settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.active = False
        self.cursor = 0
        self.learned_since_checkpoint = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_refresh = 0.0
        self._renewed = 0.0
        self._last_champion_poll = 0.0
        self.champion_version: str | None = None
        self.rolling = Rolling()
        #: This tenure's MLflow run (online metrics), while a registry exists.
        self.online_run: str | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background loop."""
        self._thread = threading.Thread(target=self._run, name="tactful-learner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop, checkpoint what was learned and hand the lease back."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.active:
            self.checkpoint()
            self.service.store.models.release_lease(LEASE, self.holder)
            self.active = False
            self._end_online_run("FINISHED")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the loop must survive a store outage; it retries next tick
                log.exception("learner tick failed")
            self._stop.wait(self.settings.learner_poll_seconds)

    # -- one round ------------------------------------------------------------------------------

    def _holds_lease(self) -> bool:
        """Take or renew the lease; a holder renews only once a third of it has passed.

        Renewing is a write, and on SQLite every write makes decisions wait.
        """
        now = time.monotonic()
        if self.active and now - self._renewed < self.settings.lease_seconds / 3:
            return True
        ttl = timedelta(seconds=self.settings.lease_seconds)
        held = self.settings.learner and self.service.store.models.try_lease(
            LEASE, self.holder, ttl
        )
        if held:
            self._renewed = now
        return bool(held)

    def tick(self) -> int:
        """Hold or seek the lease, then learn (holder) or refresh the model (others)."""
        if self._holds_lease():
            if not self.active:
                self._take_over()
            self.service.metrics.learner_active.set(1)
            self.poll_champion()
            return self.step()
        if self.active:
            log.warning("learner lease lost; this process now only decides")
            self.active = False
            self._end_online_run("KILLED")
        self.service.metrics.learner_active.set(0)
        now = time.monotonic()
        if now - self._last_refresh >= self.settings.checkpoint_poll_seconds:
            self._last_refresh = now
            self.model.refresh()
        return 0

    def _take_over(self) -> None:
        """Become the learner: resume from the last good checkpoint (or a fresh model)."""
        checkpoint = self.model.load()
        self.cursor = checkpoint.last_seq if checkpoint is not None else 0
        self.active = True
        self.learned_since_checkpoint = 0
        log.info("learner active", extra={"fields": {"holder": self.holder, "cursor": self.cursor}})
        self._start_online_run()

    # -- the tenure's MLflow run ---------------------------------------------------------------

    def _tracking(self) -> Tracking | None:
        """The MLflow registry, when one exists (tracking is opt-in: no folder, no MLflow)."""
        root = self.settings.mlruns
        if root is None or not (root / "mlflow.db").exists():
            return None
        from training.tracking import Tracking

        return Tracking(root)

    def _start_online_run(self) -> None:
        """Open this tenure's run, first ending as ``KILLED`` those of learners that died.

        Holding the lease means no other learner of this database is alive, so its runs
        still ``RUNNING`` were left by a process that crashed or was killed.
        """
        tracking = self._tracking()
        if tracking is None or self.online_run is not None:
            return
        database_id = self.service.store.database_id
        try:
            abandoned = tracking.end_abandoned_online_runs(database_id)
            if abandoned:
                log.warning(
                    "marked the online runs of a learner that died KILLED",
                    extra={"fields": {"runs": abandoned}},
                )
            self.online_run = tracking.start_online_run(
                f"learner-{self.holder}", self.holder, database_id
            )
        except Exception:  # tracking is an observer: it must never stop learning
            log.exception("could not start the online MLflow run")

    def _end_online_run(self, status: str) -> None:
        """End this tenure's run (``FINISHED`` on a clean stop, ``KILLED`` if cut short)."""
        tracking, run_id = self._tracking(), self.online_run
        self.online_run = None
        if tracking is None or run_id is None:
            return
        try:
            tracking.end_online_run(run_id, status)
        except Exception:
            log.exception("could not end the online MLflow run")

    # -- the offline champion -------------------------------------------------------------------

    def poll_champion(self, force: bool = False) -> bool:
        """Adopt a newly promoted offline champion as the base of online learning.

        The champion was trained on the log up to some seq; adopting it rewinds the
        cursor there, so everything after is learned once, by this model. Replicas
        receive it through the checkpoint written here. A champion trained on another
        database (or on a file) is refused with one log line: its seq counts in another
        log, and adopting it would skip that many of this database's decisions unlearned.
        """
        now = time.monotonic()
        tracking = self._tracking()
        if tracking is None:
            return False
        if not force and now - self._last_champion_poll < self.settings.champion_poll_seconds:
            return False
        self._last_champion_poll = now
        version = tracking.champion_version()
        if version is None or version == self.champion_version:
            return False
        try:
            champion = tracking.champion(self.service.config)
            if champion is None:
                return False
            adopted = self.model.adopt(champion.policy, champion.database_id)
        except ForeignModel as foreign:
            self._refuse_champion(version, str(foreign), logging.WARNING)
            return False
        except Exception as error:  # a broken registry entry must not stop serving
            self._refuse_champion(version, str(error), logging.ERROR)
            return False
        self.champion_version = version
        if not adopted:
            return False
        self.cursor = champion.last_seq
        self.checkpoint()
        log.info(
            "adopted champion",
            extra={"fields": {"version": version, "cursor": self.cursor}},
        )
        return True

    def _refuse_champion(self, version: str, reason: str, level: int) -> None:
        """One log line per refused champion version; it is not tried again."""
        self.service.metrics.model_swaps.labels(result="refused").inc()
        log.log(level, "refused champion", extra={"fields": {"version": version, "reason": reason}})
        self.champion_version = version

    def step(self) -> int:
        """Close due windows and learn every finished decision after the cursor."""
        service = self.service
        service.close_windows(force=False)
        learned = 0
        while True:
            batch = service.store.log.finished(self.cursor, limit=BATCH, now=service.clock())
            policy = self.model.policy
            for finished in batch:
                if finished.reward is not None:
                    policy.learn(finished.decision, finished.reward)
                    learned += 1
                    self.learned_since_checkpoint += 1
                    self.rolling.add(finished)
                self.cursor = finished.seq
                if self.learned_since_checkpoint >= self.settings.checkpoint_every:
                    self.checkpoint()
            if len(batch) < BATCH:
                break
        service.metrics.learned.inc(learned)
        service.metrics.learner_lag.set(service.store.log.closed_after(self.cursor))
        service.metrics.learner_rounds.inc()  # last: a finished round has set the lag
        return learned

    def snapshot(self) -> None:
        """Log rolling online metrics to this tenure's MLflow run, when a registry exists."""
        if not self.rolling.decisions:
            return
        self._start_online_run()  # the registry may have appeared since the take-over
        tracking = self._tracking()
        if tracking is None or self.online_run is None:
            return
        try:
            tracking.log_online(self.online_run, self.rolling.metrics(), self.cursor)
        except Exception:  # tracking is an observer: it must never stop learning
            log.exception("could not log online metrics")
        self.rolling = Rolling()

    def checkpoint(self) -> Checkpoint:
        """Save the serving model with the cursor it has learned up to."""
        saved = self.model.save(self.cursor)
        self.learned_since_checkpoint = 0
        self.snapshot()
        log.info(
            "checkpoint saved",
            extra={
                "fields": {"checkpoint": saved.id, "cursor": self.cursor, "version": saved.version}
            },
        )
        return saved
