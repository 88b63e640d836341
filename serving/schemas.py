"""HTTP request and response bodies, named by role and kept apart from domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bandit import EventKind, Offer
from bandit.catalog import FollowUp
from bandit.decision import Explanation
from bandit.storage import DecisionRecord
from features import SessionContext

Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@\-]+$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DecisionRequest(_Body):
    """A decision point: who, where, and what just happened."""

    user_id: Id = Field(description="The product's user id; stored only as a keyed hash.")
    session_id: Id
    context: SessionContext
    renderable: list[Id] | None = Field(
        default=None, max_length=256, description="Offer ids the client can render here."
    )
    rule_choice: Id | None = Field(
        default=None,
        description="What your existing rules would show here (an offer id or `no_offer`); "
        "logged for apprentice training, never shown.",
    )


class FeeView(BaseModel):
    """A mandatory fee, already in the price's total."""

    name: str
    amount: float


class PriceView(BaseModel):
    """A visible price: show ``label`` (or ``total``), never ``amount`` alone."""

    amount: float = Field(description="Before mandatory fees.")
    currency: str
    period: str
    fees: list[FeeView] = Field(default_factory=list)
    total: float = Field(description="What the user pays each period, every fee included.")
    label: str


class TrialView(BaseModel):
    """A free trial before the price applies."""

    days: int


class OfferView(BaseModel):
    """Everything a client needs to render an offer honestly."""

    id: str
    headline: str
    subtext: str
    before: str
    after: str
    price: PriceView | None
    commitment: str
    cta: str
    dismiss: str
    cta_style: str = Field(description="How to draw the accept: primary, secondary, link, icon.")
    dismiss_style: str = Field(description="How to draw the decline, same scale.")
    trial: TrialView | None = None
    format: str
    ambition: str

    @classmethod
    def of(cls, offer: Offer) -> OfferView:
        """The client's view of a catalog offer."""
        price = offer.price
        return cls(
            id=offer.id,
            headline=offer.headline,
            subtext=offer.subtext,
            before=offer.before,
            after=offer.after,
            price=None
            if price is None
            else PriceView(
                amount=price.amount,
                currency=price.currency,
                period=price.period,
                fees=[FeeView(name=fee.name, amount=fee.amount) for fee in price.fees],
                total=price.total,
                label=price.label(),
            ),
            commitment=offer.commitment,
            cta=offer.cta,
            dismiss=offer.dismiss,
            cta_style=offer.cta_style.value,
            dismiss_style=offer.dismiss_style.value,
            trial=None if offer.trial is None else TrialView(days=offer.trial.days),
            format=offer.format,
            ambition=offer.ambition.value,
        )


class RemovalView(BaseModel):
    """An offer the respect rules removed, and why."""

    offer_id: str
    code: str
    reason: str


class ExplanationView(BaseModel):
    """Why this decision."""

    moment: str
    intents: dict[str, float]
    eligible: list[str]
    removed: list[RemovalView]
    scores: dict[str, float]


class DecisionResponse(BaseModel):
    """The answer at a decision point: an offer to show, or ``null`` for none."""

    decision_id: str
    offer: OfferView | None
    probability: float
    explored: bool
    policy_version: str
    explanation: ExplanationView
    reward_token: str | None = Field(
        default=None,
        description="When the server signs decisions: send it as `X-Reward-Token` with "
        "every event of this decision.",
    )


class EventRequest(_Body):
    """What happened after a decision. Posting the same kind twice changes nothing."""

    kind: EventKind
    value: float = Field(default=0.0, ge=0.0, le=1e9, description="E.g. revenue of a conversion.")


class FollowUpView(BaseModel):
    """Service after a yes or a no: what happened, how to revisit, a no-cost tip.

    After ``accepted`` it carries the confirmation; after ``dismissed`` the
    acknowledgement, and ``confirmation`` is null, so a client that renders the
    confirmation can never tell a user who said no that something was bought.
    """

    confirmation: str | None = Field(description="After a yes: what was done. Null after a no.")
    acknowledgement: str | None = Field(
        description="After a no: the choice acknowledged, nothing done. Null after a yes."
    )
    revisit: str
    tip: str

    @classmethod
    def after(cls, kind: EventKind, follow_up: FollowUp) -> FollowUpView:
        """The follow-up to show after an ``accepted`` or ``dismissed`` event."""
        accepted = kind is EventKind.ACCEPTED
        return cls(
            confirmation=follow_up.confirmation if accepted else None,
            acknowledgement=None if accepted else follow_up.acknowledgement,
            revisit=follow_up.revisit,
            tip=follow_up.tip,
        )


class EventResponse(BaseModel):
    """The stored event; ``duplicate`` is true when it had been posted before."""

    decision_id: str
    kind: EventKind
    at: datetime
    in_window: bool
    duplicate: bool
    follow_up: FollowUpView | None = None


class EventView(BaseModel):
    """One stored event."""

    kind: EventKind
    value: float
    at: datetime
    in_window: bool


class DecisionRecordView(BaseModel):
    """A decision as logged, with its events and reward: for audit and debugging."""

    decision_id: str
    session_id: str
    placement: str
    created_at: datetime
    window_closes_at: datetime
    chosen: str
    probability: float
    pmf: dict[str, float]
    explored: bool
    policy_version: str
    status: Literal["open", "joined", "skipped"]
    reward: float | None
    rule_choice: str | None
    explanation: ExplanationView
    events: list[EventView]

    @classmethod
    def of(cls, record: DecisionRecord) -> DecisionRecordView:
        """The audit view of a stored record (the user key is never returned)."""
        decision = record.decision
        return cls(
            decision_id=decision.decision_id,
            session_id=record.session_id,
            placement=record.placement,
            created_at=record.created_at,
            window_closes_at=record.window_closes_at,
            chosen=decision.chosen,
            probability=decision.probability,
            pmf=dict(decision.pmf),
            explored=decision.explored,
            policy_version=decision.policy_version,
            status=record.status,
            reward=record.reward,
            rule_choice=record.rule_choice,
            explanation=explanation_view(decision.explanation),
            events=[
                EventView(kind=e.kind, value=e.value, at=e.at, in_window=e.in_window)
                for e in record.events
            ],
        )


def explanation_view(explanation: Explanation) -> ExplanationView:
    """The explanation of a domain decision, as sent to clients."""
    return ExplanationView(
        moment=explanation.moment,
        intents=dict(explanation.intents),
        eligible=list(explanation.eligible),
        removed=[
            RemovalView(offer_id=r.offer_id, code=r.code.value, reason=r.reason)
            for r in explanation.removed
        ],
        scores=dict(explanation.scores),
    )


class PreferencesRequest(_Body):
    """A user's choice about offers."""

    opted_out: bool


class PreferencesResponse(BaseModel):
    """The stored preference."""

    opted_out: bool


class WindowsClosed(BaseModel):
    """How many reward windows an admin close call finished."""

    closed: int


class ModelStatus(BaseModel):
    """Which model is serving."""

    policy_version: str
    checkpoint_id: int | None
    learned: int


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: str
    detail: object | None = None
