"""Request and response bodies. Money is `{"amount": "89.90", "currency": "BRL"}` with the
amount a decimal string: a JSON number is refused, so no float ever becomes money."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.money import Money

SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]{1,39}$"
Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN)]
Amount = Annotated[str, StringConstraints(pattern=r"^\d{1,8}(\.\d{1,2})?$")]
Kilograms = Annotated[str, StringConstraints(pattern=r"^\d{1,6}(\.\d{1,3})?$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(max_length=4000)]
Quantity = Annotated[int, Field(ge=1, le=1_000_000, strict=True)]
CartQuantity = Annotated[int, Field(ge=1, le=999, strict=True)]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoneyModel(Schema):
    amount: Amount = Field(examples=["89.90"])
    currency: Literal["BRL"] = "BRL"

    def to_money(self) -> Money:
        return Money(Decimal(self.amount), self.currency)

    @classmethod
    def of(cls, data: dict[str, str]) -> MoneyModel:
        return cls(amount=data["amount"], currency=data["currency"])  # type: ignore[arg-type]


class Sustainability(Schema):
    carbon_footprint_kg: Kilograms = Field(examples=["1.250"])
    certifications: list[Annotated[str, StringConstraints(min_length=1, max_length=60)]] = Field(
        default=[], max_length=20
    )
    recyclable: bool = False
    biodegradable: bool = False


class StockItemCreate(Schema):
    sku: Sku
    name: Text
    description: LongText = ""
    category: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    price: MoneyModel
    initial_quantity: Annotated[int, Field(ge=0, le=1_000_000, strict=True)]
    sustainability: Sustainability


class ReceiptCreate(Schema):
    quantity: Quantity


class AdjustmentCreate(Schema):
    quantity_delta: Annotated[int, Field(ge=-1_000_000, le=1_000_000, strict=True)]
    reason: Text


class PriceUpdate(Schema):
    price: MoneyModel


class CommandAccepted(Schema):
    version: int
    consistency_token: str


class StockItemCommandResult(CommandAccepted):
    sku: str


class StockItemPublic(Schema):
    sku: str
    name: str
    description: str
    category: str
    price: MoneyModel
    on_hand: int
    reserved: int
    available: int
    certifications: list[str]
    carbon_footprint_kg: str
    version: int

    @classmethod
    def of(cls, doc: dict[str, Any]) -> StockItemPublic:
        fields = {k: doc[k] for k in cls.model_fields if k != "price"}
        return cls(price=MoneyModel.of(doc["price"]), **fields)


class CartItemCreate(Schema):
    sku: Sku
    quantity: CartQuantity


class CartItemUpdate(Schema):
    quantity: CartQuantity


class CartCommandResult(CommandAccepted):
    cart_id: UUID


class CartItemPublic(Schema):
    sku: str
    name: str
    quantity: int
    unit_price: MoneyModel
    line_total: MoneyModel


class CartPublic(Schema):
    cart_id: UUID
    customer_id: str
    status: Literal["open", "checked_out"]
    items: list[CartItemPublic]
    total: MoneyModel
    version: int

    @classmethod
    def of(cls, doc: dict[str, Any]) -> CartPublic:
        items = [
            CartItemPublic(
                sku=i["sku"],
                name=i["name"],
                quantity=i["quantity"],
                unit_price=MoneyModel.of(i["unit_price"]),
                line_total=MoneyModel.of(i["line_total"]),
            )
            for i in doc["items"]
        ]
        return cls(
            cart_id=doc["cart_id"],
            customer_id=doc["customer_id"],
            status=doc["status"],
            items=items,
            total=MoneyModel.of(doc["total"]),
            version=doc["version"],
        )


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    model_config = ConfigDict(extra="allow")
