"""Payments: the order's owner and admins can read them."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException

from api.auth import Principal
from api.deps import ContainerDep, consistent_with, require
from api.schemas import PaymentPublic
from projections.orders import OrdersProjection, payment_key

router = APIRouter(prefix="/payments", tags=["payments"])
CustomerOrAdmin = Annotated[Principal, Depends(require("customer", "admin"))]


@router.get("/{payment_id}", dependencies=[Depends(consistent_with(OrdersProjection.name))])
def get_payment(
    payment_id: UUID, container: ContainerDep, principal: CustomerOrAdmin
) -> PaymentPublic:
    doc = container.view(OrdersProjection.name).get(payment_key(payment_id))
    if doc is None or (principal.role == "customer" and doc["customer_id"] != principal.sub):
        raise HTTPException(404, f"no payment {payment_id}")
    return PaymentPublic.from_doc(doc)
