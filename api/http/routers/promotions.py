"""Promotions (admins) and the coupon of a cart (its customer)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import AwareDatetime, Field, StringConstraints

from api.http.command_route import CommandRoute
from api.http.deps import (
    Admin,
    CheckoutDep,
    Customer,
    ExpectedVersion,
    PromotionsDep,
)
from api.http.etag import set_etag
from api.http.schemas import Amount, CartCommandResult, CommandAccepted, MoneyModel, Schema
from domain.money import Money
from domain.promotion import CODE_PATTERN, Promotion

router = APIRouter(route_class=CommandRoute, tags=["promotions"])
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
Limit = Annotated[int, Field(ge=1, le=10_000_000, strict=True)]
Category = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class PromotionCreate(Schema):
    code: Code
    description: Annotated[str, StringConstraints(max_length=500)] = ""
    kind: Literal["percent", "fixed"]
    value: Amount = Field(description='percent ("10") or BRL off ("15.00")')
    min_subtotal: MoneyModel | None = None
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    max_uses: Limit | None = None
    max_uses_per_customer: Limit | None = None
    categories: Annotated[list[Category], Field(max_length=50)] = []


class PromotionCommandResult(CommandAccepted):
    code: str


class PromotionPublic(Schema):
    code: str
    description: str
    kind: Literal["percent", "fixed"]
    value: str
    min_subtotal: MoneyModel
    valid_from: datetime
    valid_until: datetime
    max_uses: int | None
    max_uses_per_customer: int | None
    categories: list[str]
    uses: int
    active: bool
    version: int

    @classmethod
    def of(cls, promotion: Promotion) -> PromotionPublic:
        return cls(
            code=promotion.code,
            description=promotion.description,
            kind=promotion.kind.value,
            value=str(promotion.value),
            min_subtotal=MoneyModel(amount=str(promotion.min_subtotal.amount)),
            valid_from=promotion.valid_from,
            valid_until=promotion.valid_until,
            max_uses=promotion.max_uses,
            max_uses_per_customer=promotion.max_uses_per_customer,
            categories=promotion.categories,
            uses=promotion.use_count,
            active=promotion.active,
            version=promotion.version,
        )


class CouponApply(Schema):
    code: Code


def _promotion_answer(
    response: Response, code: str, version: int, token: str
) -> PromotionCommandResult:
    set_etag(response, version)
    return PromotionCommandResult(code=code, version=version, consistency_token=token)


@router.post("/promotions", status_code=status.HTTP_201_CREATED)
def create_promotion(
    body: PromotionCreate, promotions: PromotionsDep, admin: Admin, response: Response
) -> PromotionCommandResult:
    """Launch a promotion (admin): a coupon code with a percent or fixed BRL discount, its
    validity window, minimum subtotal, eligible categories and use limits.
    """
    result = promotions.launch_promotion(
        code=body.code,
        description=body.description,
        kind=body.kind,
        value=Decimal(body.value),
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        min_subtotal=body.min_subtotal.to_money() if body.min_subtotal else Money.zero(),
        max_uses=body.max_uses,
        max_uses_per_customer=body.max_uses_per_customer,
        categories=body.categories,
    )
    code = body.code.upper()
    response.headers["Location"] = f"/api/v1/promotions/{code}"
    return _promotion_answer(response, code, result.version, result.consistency_token)


@router.get("/promotions/{code}")
def get_promotion(
    code: Code, promotions: PromotionsDep, admin: Admin, response: Response
) -> PromotionPublic:
    """A promotion (admin): its terms, whether it is active, and how many uses are taken."""
    promotion = promotions.promotion(code)
    set_etag(response, promotion.version)
    return PromotionPublic.of(promotion)


@router.post("/promotions/{code}/deactivate")
def deactivate_promotion(
    code: Code,
    promotions: PromotionsDep,
    admin: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> PromotionCommandResult:
    """Stop a promotion (admin): no cart can apply it and no new order can use it; orders
    already placed keep their discount.
    """
    result = promotions.deactivate_promotion(code, expected_version)
    return _promotion_answer(response, code.upper(), result.version, result.consistency_token)


def _cart_answer(response: Response, cart_id: UUID, version: int, token: str) -> CartCommandResult:
    set_etag(response, version)
    return CartCommandResult(cart_id=cart_id, version=version, consistency_token=token)


@router.put("/carts/{cart_id}/coupon", tags=["carts"])
def apply_coupon(
    cart_id: UUID,
    body: CouponApply,
    checkout: CheckoutDep,
    customer: Customer,
    response: Response,
    expected_version: ExpectedVersion,
) -> CartCommandResult:
    """The cart then shows `coupon` and `discount`, and its `total` is net of it. 422 with
    `code` when the coupon does not apply (unknown-coupon, coupon-expired, coupon-inactive,
    coupon-not-yet-valid, coupon-below-minimum, coupon-not-eligible); 409 when its uses are
    taken (coupon-limit-reached, coupon-customer-limit-reached)."""
    result = checkout.apply_coupon(cart_id, customer.sub, body.code, expected_version)
    return _cart_answer(response, cart_id, result.version, result.consistency_token)


@router.delete("/carts/{cart_id}/coupon", tags=["carts"])
def remove_coupon(
    cart_id: UUID,
    checkout: CheckoutDep,
    customer: Customer,
    response: Response,
    expected_version: ExpectedVersion,
) -> CartCommandResult:
    """Take the coupon off the cart; the cart's totals no longer include its discount."""
    result = checkout.remove_coupon(cart_id, customer.sub, expected_version)
    return _cart_answer(response, cart_id, result.version, result.consistency_token)
