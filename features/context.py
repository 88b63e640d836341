"""The typed session context a product sends at each decision point.

The context describes what the user just did and is doing, never who they are:
there is deliberately no user id field here, so a raw id can never become a
feature. Identity travels next to the context (see ``bandit.respect``), keyed.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_SIGNALS = 64
MAX_CLIENT_FEATURES = 64
MAX_ADD_ONS = 64

#: Client feature names that would smuggle an identity into the features.
IDENTIFYING = re.compile(
    r"^(id|uid|user|username|email|e-?mail|phone|ip|name|session|device)$|(^|[_.\-])(id|uuid|email)$",
    re.IGNORECASE,
)

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class SignalKind(StrEnum):
    """Behavioural signals that can trigger an offer: the user's intent, observed."""

    TASK_COMPLETED = "task_completed"
    LIMIT_REACHED = "limit_reached"
    ACTION_REPEATED = "action_repeated"
    UPLOAD_COMPLETED = "upload_completed"
    SOLO_SUCCESS = "solo_success"
    COLLABORATION_STARTED = "collaboration_started"


class TaskStage(StrEnum):
    """Where the user is in their current task."""

    IDLE = "idle"
    STARTED = "started"
    MID_TASK = "mid_task"
    COMPLETED = "completed"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Signal(_Strict):
    """One recent behavioural signal, with how long ago it happened."""

    kind: SignalKind
    seconds_ago: float = Field(default=0.0, ge=0.0, le=365 * 86400)
    limit: Name | None = Field(
        default=None, description="Which limit was reached, e.g. `storage` (limit_reached only)."
    )
    usage: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Share of the limit used, from 0 (none) to 1 (all of it), not a percentage: "
        "send 0.97, not 97. A product that lets users go past the limit sends 1.",
    )
    action: Name | None = Field(default=None, description="Which action was repeated.")
    count: int | None = Field(default=None, ge=0, le=1_000_000, description="Repetitions so far.")


class Activity(_Strict):
    """What the user is doing right now."""

    focus_heavy: bool = Field(
        default=False, description="True while the user is in focus-heavy work (writing, editing)."
    )
    stage: TaskStage = TaskStage.IDLE


class Account(_Strict):
    """Account facts, coarse on purpose: enough to tailor an offer, not to identify anyone."""

    plan: Name = "free"
    seats: int = Field(default=1, ge=0, le=1_000_000)
    tenure_days: float = Field(default=0.0, ge=0.0, le=36500.0)
    add_ons: tuple[Name, ...] = Field(
        default=(),
        max_length=MAX_ADD_ONS,
        description=(
            "Offer ids the account already has (bought add-ons, the current plan). "
            "An offer the account has is never offered again unless it is repeatable."
        ),
    )

    @field_validator("add_ons")
    @classmethod
    def _sorted(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """One spelling per set of add-ons, so equal accounts log equal contexts."""
        return tuple(sorted(set(value)))


class SessionContext(_Strict):
    """Everything the policy may know about the moment, sent by the client."""

    placement: Name = Field(description="Where in the UI the decision is asked, e.g. `editor`.")
    signals: list[Signal] = Field(default_factory=list, max_length=MAX_SIGNALS)
    activity: Activity = Field(default_factory=Activity)
    account: Account = Field(default_factory=Account)
    numeric: dict[Name, float] = Field(
        default_factory=dict,
        max_length=MAX_CLIENT_FEATURES,
        description="Free-form numeric features added by the client.",
    )
    categorical: dict[Name, Name] = Field(
        default_factory=dict,
        max_length=MAX_CLIENT_FEATURES,
        description="Free-form categorical features added by the client.",
    )

    @field_validator("numeric")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        for key, number in value.items():
            if not math.isfinite(number):
                raise ValueError(f"numeric feature {key!r} must be finite")
        return value

    @field_validator("numeric", "categorical")
    @classmethod
    def _anonymous(cls, value: dict[str, object]) -> dict[str, object]:
        """Identities never become features: refuse client features named like one."""
        for key in value:
            if IDENTIFYING.search(key):
                raise ValueError(
                    f"client feature {key!r} looks like an identifier; "
                    "send behaviour, not identity (the user id travels outside the context)"
                )
        return value


class OfferHistory(_Strict):
    """This user's experience of one offer, from tactful's own log.

    What lets a policy learn "not again" and "not to someone who said yes already":
    acceptance of an offer wears down each time it is shown, and a "Not now" says more
    than any context.
    """

    shown: int = Field(default=0, ge=0, description="Times the offer was chosen for the user.")
    dismissed: int = Field(default=0, ge=0, description="Times the user said 'Not now' to it.")
    accepted: bool = Field(default=False, description="Whether the user accepted or bought it.")
    seconds_since_shown: float | None = Field(default=None, ge=0.0)


class History(_Strict):
    """What tactful itself remembers about past offers to this user.

    Derived from respect state by ``bandit``; kept here so features can describe
    the user's recent experience of offers without importing the rules.
    """

    seconds_since_last_offer: float | None = Field(default=None, ge=0.0)
    seconds_since_last_dismissal: float | None = Field(default=None, ge=0.0)
    dismissals: int = Field(default=0, ge=0)
    offers_this_session: int = Field(default=0, ge=0)
    #: Per offer id, for the offers the user has any history with.
    offers: dict[str, OfferHistory] = Field(default_factory=dict)


#: A user with no offers and no dismissals yet: most decision points. Frozen, so shared.
NO_HISTORY = History()
