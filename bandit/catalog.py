"""Offers as products declare them: what to show, where, and to whom it is adjacent."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from enum import StrEnum
from functools import cached_property
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

#: The reserved id of the "show nothing" action. It is always eligible.
NO_OFFER = "no_offer"

OfferId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$")]
Text = Annotated[str, Field(min_length=1, max_length=280)]


class Ambition(StrEnum):
    """How big the ask is; big asks wait for completion."""

    NUDGE = "nudge"
    ADD_ON = "add_on"
    PLAN_CHANGE = "plan_change"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Fee(_Model):
    """A mandatory fee charged with every payment of a price (a service fee, say)."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    amount: float = Field(gt=0.0)


class Price(_Model):
    """A visible price: an amount, its currency, how often it is charged, and its mandatory fees.

    ``amount`` is the price before ``fees``; what the user pays is :attr:`total`, and the
    total is what the label and the offer's copy must show (no drip pricing).
    """

    amount: float = Field(ge=0.0)
    currency: Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")]
    period: Literal["once", "month", "year", "seat_month", "seat_year"]
    fees: list[Fee] = Field(
        default_factory=list,
        description="Mandatory fees charged with every payment: they are part of the price shown.",
    )

    @property
    def total(self) -> float:
        """What the user pays each period: the amount and every mandatory fee."""
        return self.amount + sum(fee.amount for fee in self.fees)

    def label(self) -> str:
        """Human-readable price with its fees in, e.g. ``4.00 USD / month``."""
        per = {"once": "once", "month": "/ month", "year": "/ year"}.get(
            self.period, "/ seat / " + self.period.removeprefix("seat_")
        )
        included = ", ".join(f"{fee.name} {fee.amount:.2f}" for fee in self.fees)
        return f"{self.total:.2f} {self.currency} {per}" + (
            f" (includes {included})" if included else ""
        )


class Trial(_Model):
    """A free trial before the price applies; the copy must say what it costs afterwards."""

    days: int = Field(ge=1, le=366)


class Prominence(StrEnum):
    """How much a choice stands out, most to least: a decline may not be far below the accept."""

    PRIMARY = "primary"
    """A filled button."""
    SECONDARY = "secondary"
    """An outlined button of the same size."""
    LINK = "link"
    """A text link."""
    ICON = "icon"
    """Only a close icon."""


#: Each prominence's rank, highest first.
PROMINENCE_RANK: dict[Prominence, int] = {
    Prominence.PRIMARY: 3,
    Prominence.SECONDARY: 2,
    Prominence.LINK: 1,
    Prominence.ICON: 0,
}

#: What the user sees after "Not now" when a catalog says nothing more specific.
DEFAULT_ACKNOWLEDGEMENT = "No problem: nothing has changed."


class FollowUp(_Model):
    """What the user sees after a yes or a no: service, not spam.

    After a yes the client shows the confirmation; after a no, the acknowledgement.
    Either way it then says how to revisit and gives the no-cost tip. A confirmation
    after "Not now" would tell the user something happened that did not.
    """

    confirmation: Text = Field(description="After a yes: what was done.")
    acknowledgement: Text = Field(
        default=DEFAULT_ACKNOWLEDGEMENT,
        description="After a no: the choice acknowledged, and nothing bought or done.",
    )
    revisit: Text = Field(description="How to find this offer again later.")
    tip: Text = Field(description="A no-cost tip that advances the user's goal anyway.")

    #: The texts shown after a no, for the linter (nothing there may confirm a purchase).
    AFTER_NO: ClassVar[tuple[str, ...]] = ("acknowledgement", "revisit", "tip")


class Offer(_Model):
    """One upsell, with everything needed to render it honestly."""

    id: OfferId
    headline: Text = Field(description="Outcome first: what the user gets done.")
    subtext: Text
    before: Text = Field(description="What the user can do now.")
    after: Text = Field(description="What the user unlocks.")
    price: Price | None = Field(default=None, description="Required: a hidden price is refused.")
    commitment: Text = Field(description="e.g. 'Cancel anytime' or 'Billed annually'.")
    cta: Text = Field(description="The primary call-to-action label.")
    dismiss: str = Field(default="", max_length=80, description="The 'no thanks' label.")
    cta_style: Prominence = Field(
        default=Prominence.PRIMARY, description="How the accept is drawn."
    )
    dismiss_style: Prominence = Field(
        default=Prominence.SECONDARY,
        description="How the decline is drawn: at most one step less prominent than the accept.",
    )
    trial: Trial | None = Field(
        default=None, description="A free trial; the copy must state the price after it."
    )
    format: Annotated[str, Field(min_length=1, max_length=32)]
    ambition: Ambition
    intents: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1)
    ]
    placements: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, description="Where it may appear; empty means anywhere."
    )
    preselected: bool = Field(default=False, description="Refused if true: never pre-check.")
    auto_add: bool = Field(default=False, description="Refused if true: never auto-add.")
    repeatable: bool = Field(
        default=False,
        description=(
            "Whether a user who said yes may be offered it again (a top-up, say). By default "
            "an offer accepted or owned is never offered again."
        ),
    )
    follow_up: FollowUp

    def texts(self) -> Iterator[tuple[str, str]]:
        """Every user-visible text with its field name, for the dark-pattern linter."""
        for name in ("headline", "subtext", "before", "after", "commitment", "cta", "dismiss"):
            yield name, str(getattr(self, name))
        for name in ("confirmation", "acknowledgement", "revisit", "tip"):
            yield f"follow_up.{name}", str(getattr(self.follow_up, name))


class Catalog:
    """An immutable, validated set of offers plus the formats they use.

    ``version`` is a content hash, so anything cached per catalog (such as VW's
    per-offer example lines) can be keyed by it and never goes stale.
    """

    def __init__(self, offers: list[Offer], formats: Mapping[str, int]) -> None:
        self.offers: Mapping[str, Offer] = {offer.id: offer for offer in offers}
        self.formats: Mapping[str, int] = dict(formats)

    def __iter__(self) -> Iterator[Offer]:
        return iter(self.offers.values())

    def __len__(self) -> int:
        return len(self.offers)

    def __contains__(self, offer_id: object) -> bool:
        return offer_id in self.offers

    def __getitem__(self, offer_id: str) -> Offer:
        return self.offers[offer_id]

    def level(self, offer: Offer) -> int:
        """The interruptiveness level of an offer's format."""
        return self.formats[offer.format]

    @cached_property
    def names_placements(self) -> bool:
        """Whether any offer is limited to named placements (if none is, placement never
        removes an offer, and the rules need not ask)."""
        return any(offer.placements for offer in self.offers.values())

    @cached_property
    def version(self) -> str:
        """A short content hash of offers and formats."""
        payload = json.dumps(
            {
                "formats": dict(sorted(self.formats.items())),
                "offers": [self.offers[k].model_dump(mode="json") for k in sorted(self.offers)],
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:12]
