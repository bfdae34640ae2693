"""Carts: a customer's own, and no one else's (someone else's cart is a 404)."""

from __future__ import annotations

from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Response, status

from api.http import owned_reads
from api.http.command_route import CommandRoute
from api.http.deps import (
    CheckoutDep,
    Customer,
    CustomersDep,
    ExpectedVersion,
    consistent_with,
)
from api.http.etag import set_etag, tagged
from api.http.payment_input import payment_choice
from api.http.schemas import (
    SKU_PATTERN,
    AddressModel,
    CartCommandResult,
    CartItemCreate,
    CartItemUpdate,
    CartPublic,
    CheckoutAccepted,
    CheckoutCreate,
    Schema,
)
from api.http.stored import StoredDep
from application.event_store import CommandResult
from domain.card import Address
from projections.carts import CartsProjection
from projections.readers import Viewer

router = APIRouter(route_class=CommandRoute, prefix="/carts", tags=["carts"])
SkuPath = Annotated[str, Path(pattern=SKU_PATTERN)]


class CartCreate(Schema):
    """An empty body: a cart starts empty."""


def _answer(response: Response, result: CommandResult) -> CartCommandResult:
    set_etag(response, result.version)
    return CartCommandResult(
        cart_id=result.aggregate_id,
        version=result.version,
        consistency_token=result.consistency_token,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_cart(
    checkout: CheckoutDep, customer: Customer, response: Response, body: CartCreate | None = None
) -> CartCommandResult:
    """Open an empty cart for the calling customer."""
    result = checkout.create_cart(customer.sub)
    response.headers["Location"] = f"/api/v1/carts/{result.aggregate_id}"
    return _answer(response, result)


@router.post("/{cart_id}/items")
def add_item(
    cart_id: UUID,
    body: CartItemCreate,
    checkout: CheckoutDep,
    customer: Customer,
    response: Response,
    expected_version: ExpectedVersion,
) -> CartCommandResult:
    """Add units of a product to the cart (or more of one already in it); refused beyond what
    is available.
    """
    result = checkout.add_cart_item(
        cart_id, customer.sub, body.sku, body.quantity, expected_version
    )
    return _answer(response, result)


@router.put("/{cart_id}/items/{sku}")
def change_item(
    cart_id: UUID,
    sku: SkuPath,
    body: CartItemUpdate,
    checkout: CheckoutDep,
    customer: Customer,
    response: Response,
    expected_version: ExpectedVersion,
) -> CartCommandResult:
    """Set the quantity of a line of the cart."""
    result = checkout.change_cart_item(cart_id, customer.sub, sku, body.quantity, expected_version)
    return _answer(response, result)


@router.delete("/{cart_id}/items/{sku}")
def remove_item(
    cart_id: UUID,
    sku: SkuPath,
    checkout: CheckoutDep,
    customer: Customer,
    response: Response,
    expected_version: ExpectedVersion,
) -> CartCommandResult:
    """Remove a line from the cart."""
    return _answer(
        response, checkout.remove_cart_item(cart_id, customer.sub, sku, expected_version)
    )


@router.get("/{cart_id}", dependencies=[Depends(consistent_with(CartsProjection.name))])
async def get_cart(
    cart_id: UUID, stored: StoredDep, customer: Customer, response: Response
) -> CartPublic:
    """The cart with its lines, their prices and its total in BRL."""
    doc = await owned_reads.cart(stored, cart_id, Viewer(customer.sub))
    set_etag(response, doc["version"])
    return CartPublic.from_doc(doc)


@router.post(
    "/{cart_id}/checkout",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        409: {"description": "cart already checked out"},
        422: {"description": "empty cart, invalid card or address"},
    },
)
def checkout(
    cart_id: UUID,
    body: CheckoutCreate,
    checkout: CheckoutDep,
    customers: CustomersDep,
    customer: Customer,
    response: Response,
    expected_version: ExpectedVersion,
) -> CheckoutAccepted:
    """Place the order; the checkout saga reserves stock and takes the payment. Poll
    `GET /orders/{order_id}` (with the consistency token) for the outcome."""
    result = checkout.checkout(
        cart_id,
        customer.sub,
        customers.saved_address(customer.sub, str(body.shipping_address_id))
        if body.shipping_address_id is not None
        else Address(**cast(AddressModel, body.shipping_address).model_dump()),
        payment_choice(body.payment),
        expected_version,
        shipping_method=body.shipping_method,
    )
    response.headers["Location"] = f"/api/v1/orders/{result.aggregate_id}"
    accepted = CheckoutAccepted(
        order_id=result.aggregate_id,
        version=result.version,
        consistency_token=result.consistency_token,
    )
    return tagged(response, accepted)
