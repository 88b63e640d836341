"""Every effect size of the simulated population, in one place, with why it is there.

The simulated users follow the upsell principles tactful is built on: offers that
arrive at a natural peak and continue what the user just did convert far better;
interruptions during focused work annoy, and annoyance raises dismissals and
opt-outs and lowers later acceptance; nagging with the same offer wears acceptance
down; a "Not now" that is respected makes a later self-initiated upgrade likelier;
annoyed users leave sooner.
The numbers are plausible orders of magnitude, not measurements: change them here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Effects(BaseModel):
    """Effect sizes of the simulated population (all probabilities per event)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_accept: float = Field(
        0.01, ge=0, le=1, description="Acceptance of an offer with no fit and no good moment."
    )
    need_lift: float = Field(
        6.0, ge=1, description="Multiplier when the offer serves a need the user really has."
    )
    adjacency_lift: float = Field(
        2.5, ge=1, description="Extra multiplier when it continues what the user just did."
    )
    peak_lift: float = Field(
        2.0, ge=1, description="Multiplier at a completion or success moment (attention free)."
    )
    limit_lift: float = Field(1.8, ge=1, description="Multiplier right after hitting a limit.")
    focus_format_factor: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Multiplier when a format above level 0 appears during focus-heavy work.",
    )
    mid_task_factor: float = Field(
        0.3, ge=0, le=1, description="Multiplier mid-task, when attention is elsewhere."
    )
    big_ask_mid_task_factor: float = Field(
        0.2, ge=0, le=1, description="Further multiplier for a plan change asked mid-task."
    )
    interrupt_annoyance: float = Field(
        0.25, ge=0, le=1, description="Annoyance added by an interruptive format during focus."
    )
    nag_annoyance: float = Field(
        0.15, ge=0, le=1, description="Annoyance added by an offer shown again after a 'Not now'."
    )
    show_annoyance: float = Field(
        0.02, ge=0, le=1, description="Annoyance any offer adds (attention is never free)."
    )
    annoyance_recovery_per_day: float = Field(
        0.15, ge=0, le=1, description="Share of annoyance that fades each day."
    )
    nag_decay: float = Field(
        0.6, gt=0, le=1, description="Acceptance multiplier per earlier showing of the same offer."
    )
    dismiss_base: float = Field(0.35, ge=0, le=1, description="'Not now' when not accepting.")
    dismiss_per_annoyance: float = Field(
        0.5, ge=0, le=1, description="Extra 'Not now' share per unit of annoyance."
    )
    opt_out_base: float = Field(0.002, ge=0, le=1, description="Opt-out chance per offer shown.")
    opt_out_per_annoyance: float = Field(
        0.12, ge=0, le=1, description="Extra opt-out chance per unit of annoyance."
    )
    convert_after_accept: float = Field(
        0.7, ge=0, le=1, description="Share of acceptances that complete the purchase."
    )
    self_upgrade_per_respected_no: float = Field(
        0.03,
        ge=0,
        le=1,
        description="Chance a respected 'Not now' becomes a later self-initiated yes.",
    )
    need_share: float = Field(
        0.35, ge=0, le=1, description="Share of users with each need (storage, automation, team)."
    )
    sessions_per_day: float = Field(
        0.8, ge=0, le=10, description="Mean sessions a day of a user who has not left."
    )
    batch_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description=(
            "Share of repeated actions seen as a batch completes, outside focus work "
            "(the rest happen mid-task, while the user is focused)."
        ),
    )
    churn_base: float = Field(
        0.003, ge=0, le=1, description="Chance a day that a user leaves the product for good."
    )
    churn_per_annoyance: float = Field(
        0.04, ge=0, le=1, description="Extra chance a day of leaving per unit of annoyance."
    )
