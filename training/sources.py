"""Where a training run reads its decisions: the store, or a DSJSON file already read.

Retraining reads every source the same way (:class:`TrainingSource`). What differs
is said by the source itself: how messages and the run name it, whether a model
trained from it may ever be promoted, and where in which database the online learner
resumes after such a model. :class:`StoreSource` is the one place training reads
the store; :class:`FileLog` holds the rows of a file (see :func:`training.logs.read_dsjson`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bandit.storage import DecisionRecord, SqlStore
from training.logs import Logged, LogSummary, learnable

Echo = Callable[[str], None]
#: Decisions read from the store per query: bounded memory however long the log is.
PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class LogPosition:
    """How far a model has read into which database's log.

    ``last_seq`` counts in the log of ``database_id``; ``(0, None)`` says the model
    read no stored log, so the online learner must not skip anything on its account.
    """

    last_seq: int
    database_id: str | None


class TrainingSource(Protocol):
    """The decisions a training run learns from, and what its model may become."""

    @property
    def name(self) -> str:
        """The source as messages name it."""

    @property
    def label(self) -> str:
        """The source as the run's ``data_source`` parameter records it."""

    @property
    def promotion_hold(self) -> str | None:
        """The gate's reason (``held: ...``) never to promote a model trained from here.

        ``None`` when the gate's own checks decide.
        """

    def read(self, echo: Echo) -> tuple[list[Logged], LogSummary]:
        """Every learnable decision, in log order, with counts of all seen; saying what is read."""

    def position_after(self, trained: Sequence[Logged]) -> LogPosition:
        """Where the online learner resumes after a model trained on ``trained``."""


# -- the store ---------------------------------------------------------------------------------


def closed_records(
    store: SqlStore, *, after_seq: int = 0, page_size: int = PAGE_SIZE
) -> Iterator[DecisionRecord]:
    """Every closed decision after ``after_seq``, in log order, one page in memory at a time."""
    cursor = after_seq
    while True:
        page = store.log.records(after_seq=cursor, limit=page_size)
        yield from page
        if len(page) < page_size:
            return
        cursor = page[-1].seq


def read_log(store: SqlStore, after_seq: int = 0) -> tuple[list[Logged], LogSummary]:
    """Every learnable decision in the store after ``after_seq``."""
    return learnable(closed_records(store, after_seq=after_seq))


@dataclass(frozen=True, slots=True)
class StoreSource:
    """The store's decision log, with its events: the source a model may be promoted from."""

    store: SqlStore

    @property
    def name(self) -> str:
        return "the decision log"

    @property
    def label(self) -> str:
        return "store"

    @property
    def promotion_hold(self) -> str | None:
        return None

    def read(self, echo: Echo) -> tuple[list[Logged], LogSummary]:
        echo("reading the decision log")
        return read_log(self.store)

    def position_after(self, trained: Sequence[Logged]) -> LogPosition:
        """The last trained row's place in this database's log (0 when nothing was trained)."""
        return LogPosition(trained[-1].seq if trained else 0, self.store.database_id)


# -- a file ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileLog:
    """Learnable rows read from a DSJSON file, to train on instead of the store.

    A file carries no events and no store positions, so a model trained from one is
    never promoted: its guardrails (dismiss and opt-out rates) would read as zero for
    every policy and pass unchecked, and its rows' ``seq`` (line numbers) tell the
    online learner nothing about which stored decisions the model has already seen.
    """

    path: Path
    rows: list[Logged]
    summary: LogSummary

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def label(self) -> str:
        return str(self.path)

    @property
    def promotion_hold(self) -> str | None:
        return "held: trained from a file: no events to check the guardrails against"

    def read(self, echo: Echo) -> tuple[list[Logged], LogSummary]:
        echo(f"reading decisions from {self.path}")
        return self.rows, self.summary

    def position_after(self, trained: Sequence[Logged]) -> LogPosition:
        return LogPosition(0, None)
