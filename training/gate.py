"""The promotion gate: may a trained candidate replace the policy that runs today?

Retraining asks it once, of the candidate against the incumbent (the champion, else
the logging policy); the sweep asks it of every setting it tries. Promoting by hand
(``tactful promote``) bypasses it: see :mod:`training.promotion`.
"""

from __future__ import annotations

from dataclasses import dataclass

from training.evaluate import PolicyReport

#: Fewer evaluation rows than this and no number is worth a promotion.
MIN_EVALUATION_ROWS = 50


@dataclass(frozen=True)
class GateDecision:
    """Whether the candidate may become champion, and every reason why or why not."""

    promote: bool
    reasons: list[str]

    @property
    def verdict(self) -> str:
        """The one line to read: the first reason that held the candidate back, or why it
        passed."""
        held = next((r for r in self.reasons if r.startswith("held")), None)
        if held is not None:
            return f"gate held the candidate: {held.removeprefix('held: ')}"
        return "gate passed: " + "; ".join(r.removeprefix("ok: ") for r in self.reasons)


def gate(candidate: PolicyReport, incumbent: PolicyReport, rows: int) -> GateDecision:
    """Promote only when the candidate's DR lower bound beats the incumbent's estimate.

    No guardrail (dismiss rate, opt-out rate) may get worse, the evaluation must have
    enough rows, and overlap must be good enough for the numbers to mean something.
    """
    reasons = []
    passed = True
    if rows < MIN_EVALUATION_ROWS:
        passed = False
        reasons.append(f"held: {rows} evaluation rows, fewer than {MIN_EVALUATION_ROWS}")
    warning = candidate.evaluation.overlap.warning
    if warning:
        passed = False
        reasons.append(f"held: thin overlap: {warning}")
    low, bar = candidate.dr.low, incumbent.dr.value
    verdict = low > bar
    passed &= verdict
    reasons.append(
        f"{'ok' if verdict else 'held'}: candidate DR lower bound {low:.4f} "
        f"{'>' if verdict else '<='} {incumbent.name} DR estimate {bar:.4f}"
    )
    for label, mine, theirs in (
        ("dismiss rate", candidate.dismiss_rate, incumbent.dismiss_rate),
        ("opt-out rate", candidate.opt_out_rate, incumbent.opt_out_rate),
    ):
        worse = mine.value > theirs.value + 1e-9
        passed &= not worse
        reasons.append(
            f"{'held' if worse else 'ok'}: {label} {mine.value:.4f} vs {theirs.value:.4f}"
        )
    return GateDecision(passed, reasons)
