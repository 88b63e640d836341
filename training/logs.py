"""The decision log as training and evaluation read it: learnable rows in log order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bandit import NO_OFFER, Decision, EventKind
from bandit.storage import DecisionRecord, SqlStore
from training.export import closed_records


@dataclass(frozen=True)
class Logged:
    """One learnable decision: what was chosen among which eligible actions, and its reward."""

    seq: int
    decision: Decision
    reward: float
    dismissed: bool = False
    opted_out: bool = False
    rule_choice: str | None = None


@dataclass(frozen=True)
class LogSummary:
    """Counts that say what a training run saw."""

    decisions: int
    learnable: int
    skipped: int
    no_offer: int
    events: int
    first_seq: int
    last_seq: int


def learnable(records: Iterable[DecisionRecord]) -> tuple[list[Logged], LogSummary]:
    """Closed decisions with a reward, plus counts of everything seen."""
    rows: list[Logged] = []
    decisions = skipped = no_offer = events = 0
    first_seq = last_seq = 0
    for record in records:
        decisions += 1
        events += len(record.events)
        first_seq = first_seq or record.seq
        last_seq = record.seq
        if record.decision.chosen == NO_OFFER:
            no_offer += 1
        if record.reward is None:
            skipped += 1
            continue
        kinds = {event.kind for event in record.events if event.in_window}
        rows.append(
            Logged(
                record.seq,
                record.decision,
                record.reward,
                dismissed=EventKind.DISMISSED in kinds,
                opted_out=EventKind.OPTED_OUT in kinds,
                rule_choice=record.rule_choice,
            )
        )
    summary = LogSummary(decisions, len(rows), skipped, no_offer, events, first_seq, last_seq)
    return rows, summary


def read_log(store: SqlStore, after_seq: int = 0) -> tuple[list[Logged], LogSummary]:
    """Every learnable decision in the store after ``after_seq``."""
    return learnable(closed_records(store, after_seq=after_seq))


def rewards(rows: Sequence[Logged]) -> NDArray[np.float64]:
    """Logged rewards as an array."""
    return np.array([row.reward for row in rows], dtype=np.float64)


def pscores(rows: Sequence[Logged]) -> NDArray[np.float64]:
    """Logged propensities of the logged actions."""
    return np.array([row.decision.probability for row in rows], dtype=np.float64)


def split(rows: Sequence[Logged], holdout: float) -> tuple[list[Logged], list[Logged]]:
    """Train on the older part of the log, evaluate on the newer: no peeking at the future."""
    if not 0.0 < holdout < 1.0:
        raise ValueError("holdout must be between 0 and 1")
    cut = round(len(rows) * (1.0 - holdout))
    return list(rows[:cut]), list(rows[cut:])


def indicators(rows: Sequence[Logged], kind: EventKind) -> NDArray[np.float64]:
    """1.0 where the event happened inside the window (guardrail metrics: dismissals, opt-outs)."""
    field = {EventKind.DISMISSED: "dismissed", EventKind.OPTED_OUT: "opted_out"}[kind]
    return np.array([1.0 if getattr(row, field) else 0.0 for row in rows], dtype=np.float64)
