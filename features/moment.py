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
#: The moment a task's stage decides on its own, whatever the signals say.
_STAGE_MOMENTS = {
    TaskStage.STARTED: Moment.MID_TASK,
    TaskStage.MID_TASK: Moment.MID_TASK,
    TaskStage.COMPLETED: Moment.PEAK,
}
# Members bound once: on Python 3.11 reading a member off its enum class costs a lookup
# each time, and these are read on every decision.
_PEAK, _LIMIT_HIT, _IDLE = Moment.PEAK, Moment.LIMIT_HIT, Moment.IDLE
_LIMIT_REACHED = SignalKind.LIMIT_REACHED


def moment_of(context: SessionContext) -> Moment:
    """Classify the decision point.

    Active work wins over everything: a user mid-task is mid-task even if they
    finished something a minute ago, because interrupting them is what we avoid.
    A completion or success is a peak; a fresh limit hit is its own moment.
    """
    moment = _STAGE_MOMENTS.get(context.activity.stage)
    if moment is not None:
        return moment
    fresh = {s.kind for s in context.signals if s.seconds_ago <= FRESH_SECONDS}
    if fresh & _PEAK_SIGNALS:
        return _PEAK
    if _LIMIT_REACHED in fresh:
        return _LIMIT_HIT
    return _IDLE


def is_completion(moment: Moment) -> bool:
    """True at a completion or success moment: the only time for a big ask."""
    return moment is _PEAK
