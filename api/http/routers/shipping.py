"""Shipping: a quote for a cart (its customer) and the rates table (admins)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import Field, StringConstraints

from api.http.command_route import CommandRoute
from api.http.deps import (
    Admin,
    CheckoutDep,
    Customer,
    ExpectedVersion,
    ShippingDep,
)
from api.http.etag import tagged
from api.http.schemas import CommandAccepted, MoneyModel, Schema
from domain.shipping import RatesTable

router = APIRouter(route_class=CommandRoute, tags=["shipping"])
PostalCode = Annotated[str, StringConstraints(min_length=1, max_length=20)]


class ShippingQuoteCreate(Schema):
    postal_code: PostalCode = Field(examples=["01310-100"])


class ShippingOptionPublic(Schema):
    method: Literal["standard", "express"]
    price: MoneyModel
    days: int
    carbon_footprint_kg: str
    carrier: str | None = Field(
        default=None,
        description="the carrier's quote (charged at checkout as shown); null: the rates table",
    )
    service: str | None = None
    service_id: str | None = Field(
        default=None, description="for the label (POST /orders/{id}/label)"
    )


class FreeShippingPublic(Schema):
    """When standard shipping is free: from `free_from`, compared with the subtotal AFTER
    the coupon's discount (what the goods cost the customer), so a coupon can take an order
    under the threshold. `missing` is what the cart lacks (0.00 when it is free already)."""

    free_from: MoneyModel
    applies_to: Literal["subtotal_after_discount"] = "subtotal_after_discount"
    missing: MoneyModel


class ShippingQuotePublic(Schema):
    options: list[ShippingOptionPublic]
    free_shipping: FreeShippingPublic | None = None


class RatesTablePublic(Schema):
    """Regions (name -> CEP ranges of 8 digits), weight bands (upper bounds in grams), and
    for each method and region one price per band, the delivery days and the kg of CO2e
    per kg carried; standard shipping is free from `free_standard_from` (BRL)."""

    regions: dict[str, list[list[str]]]
    bands_grams: list[int]
    rates: dict[str, dict[str, dict[str, Any]]]
    free_standard_from: str


class RatesTableRead(RatesTablePublic):
    """The table in force and its version (0 while the defaults apply, never replaced),
    also its ETag: send it back as If-Match to replace the table only if no one else has."""

    version: int


@router.post("/carts/{cart_id}/shipping-quote", tags=["carts"])
def quote_shipping(
    cart_id: UUID,
    body: ShippingQuoteCreate,
    checkout: CheckoutDep,
    shipping: ShippingDep,
    customer: Customer,
) -> ShippingQuotePublic:
    """Standard and express for the cart as it is: the configured carrier's quote (which
    checkout then charges as shown, for this CEP, while the cart is unchanged and the quote
    under an hour old), or the rates table's when there is no carrier or it does not
    answer. 422: malformed CEP, CEP outside the rates table, parcel over the heaviest band."""
    options = checkout.shipping_quote(cart_id, customer.sub, body.postal_code)
    return ShippingQuotePublic(
        options=[
            ShippingOptionPublic(
                method=o.method.value,
                price=MoneyModel(amount=str(o.price.amount)),
                days=o.days,
                carbon_footprint_kg=str(o.carbon_footprint_kg),
                carrier=o.carrier or None,
                service=o.service or None,
                service_id=o.service_id or None,
            )
            for o in options
        ],
        free_shipping=_free_shipping(shipping, checkout, cart_id, customer.sub),
    )


def _free_shipping(
    shipping: ShippingDep, checkout: CheckoutDep, cart_id: UUID, customer_id: str
) -> FreeShippingPublic:
    threshold = shipping.rates_table().free_standard_from
    net = checkout.cart_net(cart_id, customer_id)
    missing = max(threshold.amount - net.amount, Decimal(0))
    return FreeShippingPublic(
        free_from=MoneyModel(amount=str(threshold.amount)),
        missing=MoneyModel(amount=f"{missing:.2f}"),
    )


@router.get("/shipping/rates")
def get_rates(shipping: ShippingDep, admin: Admin, response: Response) -> RatesTableRead:
    """The shipping rates table (admin): prices by region and weight band for standard and
    express, and the free-shipping threshold.
    """
    table, version = shipping.rates_in_force()
    return tagged(response, RatesTableRead(**table.to_dict(), version=version))


@router.put("/shipping/rates")
def replace_rates(
    body: RatesTablePublic,
    shipping: ShippingDep,
    admin: Admin,
    expected_version: ExpectedVersion,
    response: Response,
) -> CommandAccepted:
    """Replace the whole table (every region needs a price per band for both methods);
    with If-Match, only if the table in force is still at that version ("0": the defaults)."""
    table = RatesTable.from_dict(body.model_dump())
    result = shipping.replace_shipping_rates(table, expected_version)
    accepted = CommandAccepted(version=result.version, consistency_token=result.consistency_token)
    return tagged(response, accepted)
