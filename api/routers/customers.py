"""LGPD data-subject requests: a customer about themselves, or an admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, status

from api.auth import Principal
from api.deps import ShopDep, require
from api.schemas import ErasureAccepted

router = APIRouter(prefix="/customers", tags=["data subjects (LGPD)"])
CustomerOrAdmin = Annotated[Principal, Depends(require("customer", "admin"))]
CustomerId = Annotated[str, Path(min_length=1, max_length=200)]


def _check_self_or_admin(principal: Principal, customer_id: str) -> None:
    if principal.role == "customer" and principal.sub != customer_id:
        raise HTTPException(404, f"no customer {customer_id}")


@router.get("/{customer_id}/personal-data")
def export_personal_data(
    customer_id: CustomerId, shop: ShopDep, principal: CustomerOrAdmin
) -> dict[str, Any]:
    """Everything held about the subject (carts, orders with addresses, payments, and the
    subject's own requests); the request is recorded as an event."""
    _check_self_or_admin(principal, customer_id)
    return shop.export_personal_data(customer_id, principal.actor)


@router.delete("/{customer_id}/personal-data", status_code=status.HTTP_202_ACCEPTED)
def erase_personal_data(
    customer_id: CustomerId, shop: ShopDep, principal: CustomerOrAdmin
) -> ErasureAccepted:
    """Crypto-shred the subject's personal data: their key is destroyed, so every copy in
    the log reads as erased. Idempotent."""
    _check_self_or_admin(principal, customer_id)
    erasure = shop.erase_personal_data(customer_id, principal.actor)
    return ErasureAccepted(customer_id=customer_id, status=erasure.status, detail=erasure.message)
