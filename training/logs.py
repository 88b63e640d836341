"""The decision log as training and evaluation read it: learnable rows in log order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bandit import NO_OFFER, Decision, EventKind
from bandit.decision import Explanation
from bandit.storage import DecisionRecord
from bandit.vw.dsjson_reader import ParsedDsjson, parse_dsjson_line


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


def rewards(rows: Sequence[Logged]) -> NDArray[np.float64]:
    """Logged rewards as an array."""
    return np.array([row.reward for row in rows], dtype=np.float64)


def pscores(rows: Sequence[Logged]) -> NDArray[np.float64]:
    """Logged propensities of the logged actions."""
    return np.array([row.decision.probability for row in rows], dtype=np.float64)


def split(rows: Sequence[Logged], holdout: float) -> tuple[list[Logged], list[Logged]]:
    """Train on the older part of the log; evaluate on the newest decisions that had a choice.

    ``holdout`` is the share of decisions with more than one eligible action kept for
    evaluation, taken from the end. Decisions where "no offer" was the only option are
    worth the same under every policy: in the holdout they would only pull every estimate
    towards the default reward, and a log's tail (when offers have saturated) can be
    almost nothing else. They are still trained on when they come before the cut.
    """
    if not 0.0 < holdout < 1.0:
        raise ValueError("holdout must be between 0 and 1")
    choices = [at for at, row in enumerate(rows) if len(row.decision.actions) > 1]
    kept = round(len(choices) * holdout)
    if kept == 0:
        return list(rows), []
    cut = choices[-kept]
    return list(rows[:cut]), [rows[at] for at in choices[-kept:]]


def indicators(rows: Sequence[Logged], kind: EventKind) -> NDArray[np.float64]:
    """1.0 where the event happened inside the window (guardrail metrics: dismissals, opt-outs)."""
    field = {EventKind.DISMISSED: "dismissed", EventKind.OPTED_OUT: "opted_out"}[kind]
    return np.array([1.0 if getattr(row, field) else 0.0 for row in rows], dtype=np.float64)


class LogFileError(ValueError):
    """A line of a decision-log file that cannot be trained from: ``FILE:LINE: reason``.

    The file and line come first, as compilers print them, so an editor or a
    terminal can jump to the line and the reason says what to fix there.
    """

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


def dsjson_decision(parsed: ParsedDsjson) -> Decision:
    """The decision a DSJSON line describes, with as much explanation as the line carries.

    The line holds what was eligible and how each action scored (its pmf), not what
    the respect rules removed nor whether the choice explored; training reads
    neither, so they are left empty and ``False``.
    """
    pmf = dict(zip(parsed.actions, parsed.pmf, strict=True))
    features = parsed.features
    return Decision(
        decision_id=parsed.decision_id,
        chosen=parsed.chosen,
        probability=parsed.probability,
        pmf=pmf,
        explored=False,
        policy_version=parsed.policy_version,
        features=features,
        explanation=Explanation(
            eligible=parsed.actions,
            removed=(),
            scores=pmf,
            moment=features.moment.value,
            intents=dict(features.intents),
        ),
    )


def read_dsjson(path: Path) -> tuple[list[Logged], LogSummary]:
    """Every learnable decision in a DSJSON file (``tactful logs export``), in file order.

    A row's ``seq`` is its line number: the file's own order, not a store cursor.
    Lines with ``"_skipLearn": true`` are counted as skipped, as decisions without a
    reward are in the store; blank lines are ignored. The file carries no events
    (so no dismissals or opt-outs) and no rule choices. Any line that cannot be
    read raises :class:`LogFileError` naming the file and line: training on a log
    with a misread line would quietly learn something else.
    """
    rows: list[Logged] = []
    decisions = skipped = no_offer = 0
    first_seq = last_seq = 0
    seen: dict[str, int] = {}
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise LogFileError(path, number, f"not UTF-8 ({error.reason})") from None
            if not line.strip():
                continue
            try:
                parsed = parse_dsjson_line(line)
            except ValueError as error:
                raise LogFileError(path, number, str(error)) from None
            if parsed.actions[0] != NO_OFFER:
                reason = f"the first action is {parsed.actions[0]!r}, not {NO_OFFER!r}"
                raise LogFileError(path, number, reason)
            if parsed.decision_id in seen:
                reason = (
                    f"decision {parsed.decision_id!r} is already on line {seen[parsed.decision_id]}"
                )
                raise LogFileError(path, number, reason)
            seen[parsed.decision_id] = number
            decisions += 1
            first_seq = first_seq or number
            last_seq = number
            if parsed.chosen == NO_OFFER:
                no_offer += 1
            if parsed.reward is None:
                skipped += 1
                continue
            rows.append(Logged(number, dsjson_decision(parsed), parsed.reward))
    summary = LogSummary(decisions, len(rows), skipped, no_offer, 0, first_seq, last_seq)
    return rows, summary
