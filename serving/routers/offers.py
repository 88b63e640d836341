"""The catalog as clients see it."""

from __future__ import annotations

from fastapi import APIRouter

from serving.auth import ClientAccess
from serving.deps import ServiceDep
from serving.errors import INPUT_ERRORS
from serving.schemas import OfferView

router = APIRouter(
    prefix="/v1/offers", tags=["offers"], dependencies=[ClientAccess], responses=INPUT_ERRORS
)


# Async, with no thread-pool hop: the catalog is in memory.
@router.get("", response_model=list[OfferView])
async def list_offers(service: ServiceDep) -> list[OfferView]:
    """Every offer in the catalog, rendered as a client would show it."""
    return [OfferView.of(offer) for offer in service.catalog]
