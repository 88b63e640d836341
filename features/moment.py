"""The moment of a decision point: when attention is free, and when it is not."""

from __future__ import annotations

from enum import StrEnum

from features.context import SessionContext, SignalKind, TaskStage

#: A signal older than this no longer describes "the moment".
FRESH_SECONDS = 120.0


class Moment(StrEnum):
    """Coarse phases of a session, ordered from most to least receptive."""

    PEAK = "peak"
    LIMIT_HIT = "limit_hit"
    MID_TASK = "mid_task"
    IDLE = "idle"


_PEAK_SIGNALS = frozenset({SignalKind.TASK_COMPLETED, SignalKind.SOLO_SUCCESS})


def moment_of(context: SessionContext) -> Moment:
    """Classify the decision point.

    Active work wins over everything: a user mid-task is mid-task even if they
    finished something a minute ago, because interrupting them is what we avoid.
    A completion or success is a peak; a fresh limit hit is its own moment.
    """
    stage = context.activity.stage
    if stage is TaskStage.STARTED or stage is TaskStage.MID_TASK:
        return Moment.MID_TASK
    if stage is TaskStage.COMPLETED:
        return Moment.PEAK
    fresh = {s.kind for s in context.signals if s.seconds_ago <= FRESH_SECONDS}
    if fresh & _PEAK_SIGNALS:
        return Moment.PEAK
    if SignalKind.LIMIT_REACHED in fresh:
        return Moment.LIMIT_HIT
    return Moment.IDLE


def is_completion(moment: Moment) -> bool:
    """True at a completion or success moment: the only time for a big ask."""
    return moment is Moment.PEAK
