"""Bodies of the back office's lists (`GET /stock-items`, `/returns`, `/promotions`,
`/payments`, `/webhook-deliveries`, `/customers`): every page has `items`, `total` (after
the filters), `page` and `size`."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from api.http.schemas import MoneyModel, Schema


class ListPage(Schema):
    total: int
    page: int
    size: int


class ProductRow(Schema):
    sku: str
    name: str
    category: str
    price: MoneyModel
    on_hand: int
    reserved: int
    available: int
    archived: bool
    created_at: str
    version: int


class ProductList(ListPage):
    items: list[ProductRow]


class ReturnLineRow(Schema):
    sku: str
    quantity: int


class ReturnRow(Schema):
    return_id: UUID
    order_id: UUID
    customer_id: str
    status: Literal["requested", "approved", "rejected", "received", "refunded"]
    lines: list[ReturnLineRow]
    refund: MoneyModel
    requested_at: str
    version: int


class ReturnList(ListPage):
    items: list[ReturnRow]


class PromotionRow(Schema):
    code: str
    description: str
    kind: str
    value: str
    min_subtotal: MoneyModel
    valid_from: str
    valid_until: str
    max_uses: int | None
    uses: int
    active: bool
    version: int


class PromotionList(ListPage):
    items: list[PromotionRow]


class PaymentRow(Schema):
    payment_id: UUID
    order_id: UUID
    customer_id: str
    method: str
    amount: MoneyModel
    status: str
    gateway: str | None
    expires_at: str | None
    flagged: int
    created_at: str
    version: int


class PaymentList(ListPage):
    items: list[PaymentRow]


class WebhookDeliveryRow(Schema):
    delivery_id: UUID
    provider: str
    event_id: str
    status: str
    charge_id: str
    payment_id: UUID | None
    amount: MoneyModel | None
    outcome: str
    received_at: str


class WebhookDeliveryList(ListPage):
    items: list[WebhookDeliveryRow]


class CustomerRow(Schema):
    """Personal fields only for admins (decrypted at read time); `erased` once forgotten."""

    customer_id: str
    registered_at: str
    erased: bool
    consents: dict[str, bool]
    name: str | None = None
    email: str | None = None


class CustomerList(ListPage):
    items: list[CustomerRow]
