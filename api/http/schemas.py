"""Request and response bodies. Money is `{"amount": "89.90", "currency": "BRL"}` with the
amount a decimal string: a JSON number is refused, so no float ever becomes money."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    Tag,
    WithJsonSchema,
    model_validator,
)

from api.http.text import single_line
from domain.card import BRAZILIAN_STATES
from domain.delivery import DeliveryStep
from domain.money import Money
from domain.order import CancellationReason, OrderStatus

SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]{1,39}$"
Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN)]
# Digits are ASCII [0-9]: a pattern's \d would also take fullwidth or Arabic-Indic digits.
Amount = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,8}(\.[0-9]{1,2})?$")]
Kilograms = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,6}(\.[0-9]{1,3})?$")]
# One line of text (no line breaks or tabs); the edge has refused control characters already.
SingleLine = Annotated[str, AfterValidator(single_line)]
Text = Annotated[SingleLine, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(max_length=4000)]
Quantity = Annotated[int, Field(ge=1, le=1_000_000, strict=True)]
WeightGrams = Annotated[int, Field(ge=1, le=30_000, strict=True)]
CartQuantity = Annotated[int, Field(ge=1, le=999, strict=True)]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Self:
        """Validate a read-model document, ignoring the fields this schema does not show."""
        return cls.model_validate({k: v for k, v in doc.items() if k in cls.model_fields})


class Erased(Schema):
    """Someone's own words whose key was destroyed (LGPD erasure)."""

    erased: Literal[True]


# Free text a customer or an admin wrote about the customer's order: the words, or, once
# the customer's personal data was erased, `{"erased": true}`.
Words = str | Erased


class MoneyModel(Schema):
    amount: Amount = Field(examples=["89.90"])
    currency: Literal["BRL"] = "BRL"

    def to_money(self) -> Money:
        return Money(Decimal(self.amount), self.currency)


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
    weight_grams: WeightGrams = 500

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sku": "ECO-0100",
                    "name": "Garrafa Térmica de Inox",
                    "description": "Aço inox reciclável, 500 ml",
                    "category": "casa",
                    "price": {"amount": "129.90", "currency": "BRL"},
                    "initial_quantity": 50,
                    "weight_grams": 450,
                    "sustainability": {
                        "carbon_footprint_kg": "3.200",
                        "certifications": ["B Corp"],
                        "recyclable": True,
                        "biodegradable": False,
                    },
                }
            ]
        }
    )


class StockItemPatch(Schema):
    name: Text | None = None
    description: LongText | None = None
    category: Annotated[str, StringConstraints(min_length=1, max_length=60)] | None = None
    weight_grams: WeightGrams | None = None
    sustainability: Sustainability | None = None
    durable: StrictBool | None = Field(
        default=None,
        description="durable goods (a defect may be claimed for 90 days from delivery) or "
        "not (30 days)",
    )


class ReceiptCreate(Schema):
    quantity: Quantity
    reference: Annotated[
        str,
        StringConstraints(max_length=60, strip_whitespace=True),
        Field(description="the supplier's invoice / nota fiscal number", examples=["NF-000123"]),
    ] = ""


class AdjustmentCreate(Schema):
    quantity_delta: Annotated[int, Field(ge=-1_000_000, le=1_000_000, strict=True)]
    reason: Text

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"quantity_delta": -2, "reason": "avaria no transporte"}]}
    )


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
    weight_grams: int = 500
    archived: bool = False
    durable: bool | None = Field(
        default=None, description="durable goods or not; null: not classified (taken as durable)"
    )
    version: int
    # The product this SKU is a variant of (GET /products/{product_id}) and its barcode;
    # documents stored before products lack them until a rebuild or the item's next change.
    product_id: str | None = None
    gtin: str = ""


class CartItemCreate(Schema):
    sku: Sku
    quantity: CartQuantity

    model_config = ConfigDict(json_schema_extra={"examples": [{"sku": "ECO-0100", "quantity": 2}]})


class CartItemUpdate(Schema):
    quantity: CartQuantity


class CartCommandResult(CommandAccepted):
    cart_id: UUID


class CartItemPublic(Schema):
    sku: str
    name: str
    quantity: int
    unit_price: MoneyModel  # today's price: what checkout charges
    price_changed_from: MoneyModel | None = None  # the price when it was added, if different
    # None when today's price takes the line above the money limit (the cart says so).
    line_total: MoneyModel | None


class CartPublic(Schema):
    cart_id: UUID
    customer_id: str
    status: Literal["open", "checked_out"]
    items: list[CartItemPublic]
    subtotal: MoneyModel | None = None
    coupon: str | None = None
    discount: MoneyModel | None = None
    # None when the cart costs more than the money limit at today's prices: checkout
    # refuses it until a line is changed or removed.
    total: MoneyModel | None
    above_money_limit: bool = False
    version: int


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    model_config = ConfigDict(extra="allow")


def _known_state(value: str) -> str:
    if value not in BRAZILIAN_STATES:
        raise ValueError(f"unknown Brazilian state {value!r}")
    return value


State = Annotated[
    str,
    AfterValidator(_known_state),
    WithJsonSchema({"type": "string", "enum": sorted(BRAZILIAN_STATES)}),
]


class AddressModel(Schema):
    line1: Text
    line2: Annotated[str, StringConstraints(max_length=200)] = ""
    city: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    state: State = Field(examples=["SP"])
    postal_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}-?[0-9]{3}$")] = Field(
        examples=["01310-100"]
    )
    country: Literal["BR"] = "BR"


class CardModel(Schema):
    card_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{12,19}$")] = Field(
        examples=["4242424242424242"]
    )
    expiry: Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])/[0-9]{2}$")] = Field(
        examples=["12/30"]
    )
    cvc: Annotated[str, StringConstraints(pattern=r"^[0-9]{3,4}$")]
    holder: Text
    method: Literal["card"] = "card"
    installments: StrictInt = Field(default=1, ge=1, le=12, description="interest-free, 1 to 12")


class CardTokenModel(Schema):
    """A card tokenized in the browser by the provider's SDK (`GET /payments/config` names the
    provider and its public key): a Stripe PaymentMethod or ConfirmationToken id, a Mercado
    Pago card token, a PagBank encrypted card, or a sandbox token."""

    method: Literal["card"] = "card"
    card_token: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+/=:-]{8,1400}$")] = Field(
        examples=["pm_1Q0PsIJvEtkwdCNYMSaVuRz6"]
    )
    installments: int = Field(default=1, ge=1, le=12, description="interest-free, 1 to 12")


class PixModel(Schema):
    method: Literal["pix"]


class BoletoModel(Schema):
    method: Literal["boleto"]
    payer_cpf: Annotated[
        str, StringConstraints(pattern=r"^[0-9]{3}\.?[0-9]{3}\.?[0-9]{3}-?[0-9]{2}$")
    ] = Field(examples=["529.982.247-25"])


def _payment_method_of(value: Any) -> str:
    method = (
        value.get("method", "card") if isinstance(value, dict) else getattr(value, "method", "card")
    )
    tokenized = "card_token" in value if isinstance(value, dict) else hasattr(value, "card_token")
    if method == "card" and tokenized:
        return "card_token"
    return method if method in ("card", "pix", "boleto") else "unknown"


PaymentModel = Annotated[
    Annotated[CardTokenModel, Tag("card_token")]
    | Annotated[CardModel, Tag("card")]
    | Annotated[PixModel, Tag("pix")]
    | Annotated[BoletoModel, Tag("boleto")],
    Discriminator(
        _payment_method_of,
        custom_error_type="invalid_payment_method",
        custom_error_message="payment method must be card, pix or boleto",
    ),
]


class CheckoutCreate(Schema):
    """`shipping_address`, or `shipping_address_id` of an address saved in the address book
    (`POST /customers/me/addresses`): exactly one."""

    shipping_address: AddressModel | None = None
    shipping_address_id: UUID | None = None
    payment: PaymentModel
    shipping_method: Literal["standard", "express"] = "standard"

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shipping_address": {
                        "line1": "Av. Paulista, 1000",
                        "line2": "ap. 42",
                        "city": "São Paulo",
                        "state": "SP",
                        "postal_code": "01310-100",
                        "country": "BR",
                    },
                    "payment": {
                        "method": "card",
                        "card_token": "pm_1Q0PsIJvEtkwdCNYMSaVuRz6",
                        "installments": 3,
                    },
                }
            ]
        }
    )

    @model_validator(mode="after")
    def _one_address(self) -> Self:
        if (self.shipping_address is None) == (self.shipping_address_id is None):
            raise ValueError("give shipping_address or shipping_address_id, exactly one")
        return self


class CheckoutAccepted(Schema):
    order_id: UUID
    version: int
    consistency_token: str


class OrderPaymentCreate(Schema):
    """Another try at paying an order whose payment failed: as checkout's `payment`."""

    payment: PaymentModel


class PaymentRetryAccepted(CommandAccepted):
    order_id: UUID
    payment_id: UUID


class OrderCancel(Schema):
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class OrderShip(Schema):
    carrier: Text
    tracking_code: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class OrderCommandResult(CommandAccepted):
    order_id: UUID


class OrderLinePublic(Schema):
    sku: str
    name: str
    quantity: int
    unit_price: MoneyModel
    line_total: MoneyModel
    discount: MoneyModel | None = None
    net_total: MoneyModel | None = None
    carbon_footprint_kg: str
    weight_grams: int | None = None


class Totals(Schema):
    subtotal: MoneyModel
    discount: MoneyModel
    shipping: MoneyModel
    total: MoneyModel


class InstallmentsPublic(Schema):
    count: int
    amount: str  # each installment; the first carries the leftover centavos
    first_amount: str
    total: str
    interest_free: bool


class PixPublic(Schema):
    copy_paste: str
    expires_at: str


class BoletoPublic(Schema):
    digitable_line: str
    due_date: str


class AuthenticationPublic(Schema):
    """3-D Secure under way until `expires_at`: what to finish it with (the provider's
    client secret, the challenge URL) is read from the provider on request, at
    `GET /payments/{payment_id}/authentication`, never kept in a read model."""

    expires_at: str


class PaymentSummary(Schema):
    payment_id: UUID | None = None
    status: str
    brand: str
    last4: str
    method: str = "card"
    installments: InstallmentsPublic | None = None
    pix: PixPublic | None = None
    boleto: BoletoPublic | None = None
    authentication: AuthenticationPublic | None = None


class HistoryStep(Schema):
    type: str
    at: str


class OrderReturnLine(Schema):
    sku: str
    quantity: int
    refund: MoneyModel


class OrderReturnSummary(Schema):
    return_id: UUID
    status: str
    lines: list[OrderReturnLine]
    refund: MoneyModel


class TrackingStepPublic(Schema):
    step: DeliveryStep
    at: str


class InvoicePublic(Schema):
    """An NF-e of the order (the sale's, or a return's) as the fiscal provider issued it."""

    invoice_id: UUID
    kind: Literal["sale", "return", "reversal"] = Field(
        description="reversal: the entry NF-e undoing a sale NF-e past the SEFAZ's 24 hours"
    )
    return_id: UUID | None = None
    status: Literal["requested", "issued", "cancel_requested", "cancelled"]
    access_key: str | None = None
    number: str | None = None
    danfe_url: str | None = None
    taxes: MoneyModel | None = None  # the approximate taxes it declares (Lei 12.741/2012)
    failure: str | None = None  # why it is not issued yet, for an admin to act on
    cancel_refused: str | None = Field(
        default=None, description="why the order's cancellation did not cancel it (too late)"
    )


class OrderTrack(Schema):
    """A step of the parcel, as the carrier reported it (admin; carriers' webhooks later)."""

    step: DeliveryStep
    at: AwareDatetime | None = None  # now, if not given


class OrderTrackResult(Schema):
    order_id: UUID
    applied: bool  # false: older than the newest step, a repeat, or after delivery
    version: int | None = None
    consistency_token: str | None = None


class DisputeSummary(Schema):
    dispute_id: str
    status: Literal["open", "won", "lost"]
    amount: MoneyModel
    reason: str = ""
    evidence_due_by: str | None = None


class DisputePublic(DisputeSummary):
    payment_id: UUID
    order_id: UUID


class DisputePage(Schema):
    items: list[DisputePublic]


class PaymentRetryPublic(Schema):
    """A failed payment left the order for another try: `POST /orders/{id}/payment`."""

    attempt: int = Field(description="the number of the current attempt at paying (1: checkout)")
    failure: CancellationReason | None = Field(
        default=None, description="why the current attempt failed; null while one is under way"
    )
    retry_until: str = Field(description="the order is cancelled then unless a try is under way")


class OrderPublic(Schema):
    order_id: UUID
    customer_id: str
    status: OrderStatus
    lines: list[OrderLinePublic]
    totals: Totals
    coupon: str | None = None
    shipping_method: str | None = None
    carbon_footprint_kg: str
    payment: PaymentSummary | None
    cancellation_reason: CancellationReason | None
    cancellation_detail: Words | None = None
    decline_reason: str | None = None
    carrier: str | None = None
    tracking_code: str | None = None
    delivered_at: str | None = None
    tracking: list[TrackingStepPublic] = []
    invoices: list[InvoicePublic] = []
    returns: list[OrderReturnSummary] = []
    refunded_total: MoneyModel | None = None
    disputes: list[DisputeSummary] = []
    payment_retry: PaymentRetryPublic | None = None
    history: list[HistoryStep]
    created_at: str
    version: int


class OrderSummary(Schema):
    order_id: UUID
    status: OrderStatus
    totals: Totals
    created_at: str


class OrderPage(Schema):
    items: list[OrderSummary]
    total: int
    page: int
    size: int


class PaymentPublic(Schema):
    payment_id: UUID
    order_id: UUID
    status: str
    amount: MoneyModel
    brand: str
    last4: str
    gateway: str | None
    method: str = "card"
    installments: InstallmentsPublic | None = None
    pix: PixPublic | None = None
    boleto: BoletoPublic | None = None
    authentication: AuthenticationPublic | None = None
    refunded: MoneyModel | None = None
    disputes: list[DisputeSummary] = []
    flagged: int = Field(
        default=0,
        description="for an admin: notifications with another amount, payments received "
        "again (refunded) and payments after expiry or cancellation (refunded)",
    )
    extra_received: MoneyModel | None = Field(
        default=None, description="paid again once paid: refunded automatically"
    )
    extra_refunded: MoneyModel | None = None


class PaymentsConfigCard(Schema):
    provider: str
    public_key: str
    sdk: str | None = None
    tokenization_url: str | None = None
    raw_card_fields: bool = Field(
        default=False, description="the sandbox also takes card_number/expiry/cvc/holder"
    )


class PaymentsConfigPublic(Schema):
    """What a front end needs to take a payment: the card provider, its public key and SDK."""

    methods: list[str]
    card: PaymentsConfigCard | None
    max_installments: int


class SandboxCardCreate(Schema):
    """A card typed into the sandbox's tokenization page (the sandbox's "browser SDK")."""

    card_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{12,19}$")] = Field(
        examples=["4242424242424242"]
    )
    expiry: Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])/[0-9]{2}$")]
    cvc: Annotated[str, StringConstraints(pattern=r"^[0-9]{3,4}$")]
    holder: Text
    public_key: Literal["pk_sandbox"] = "pk_sandbox"


class SandboxCardToken(Schema):
    card_token: str
    brand: str
    last4: str


class SandboxChallengeAnswer(Schema):
    authenticated: bool


class AuthenticationConfirm(Schema):
    """The front end's word that the shopper finished 3-D Secure; `authorization_id` (the
    provider's intent/payment id, if the SDK gave one) must be this payment's."""

    authorization_id: Annotated[str, StringConstraints(max_length=200)] = ""


class AuthenticationAction(Schema):
    """What the front end finishes 3-D Secure with, asked of the provider just now (never
    stored): Stripe.js `handleNextAction({clientSecret})`, Mercado Pago's challenge
    (`redirect_url` with `client_secret` as its `creq`), or the shopper sent to `redirect_url`
    (the sandbox's challenge page). Both null once the provider no longer waits: then
    `POST /payments/{id}/authentication` records the outcome."""

    payment_id: UUID
    status: str
    client_secret: str | None = None
    redirect_url: str | None = None
    expires_at: str | None = None


class AuthenticationResult(Schema):
    payment_id: UUID
    status: str
    version: int | None = None
    consistency_token: str | None = None


class WebhookAccepted(Schema):
    """A provider notification, taken: what we did with it (the first time it came)."""

    event_id: str
    outcome: Literal["applied", "unknown_payment", "amount_mismatch", "extra_payment", "ignored"]
    payment_id: UUID | None


class AuditEvent(BaseModel):
    position: int
    version: int
    type: str
    timestamp: str
    actor: str
    correlation_id: str
    causation_id: str
    data: dict[str, Any]


class ErasureAccepted(Schema):
    customer_id: str
    status: Literal["erased", "already_erased", "unknown"]
    detail: str


class ProductHitPublic(Schema):
    sku: str
    name: str
    price: MoneyModel
    available: int
    certifications: list[str]
    carbon_footprint_kg: str
    in_stock: bool
    sustainability_score: int | None
    rating_average: str | None
    rating_count: int


class ProductFacetsPublic(Schema):
    """Counts over the products that match the whole query (text and filters). A product
    counts under every category of its path; `price` counts per range (`"50-100"`: from 50
    inclusive to 100 exclusive; `"500-"`: 500 and up), empty ranges left out."""

    category: dict[str, int]
    certification: dict[str, int]
    price: dict[str, int]


class ProductSearchPublic(Schema):
    total: int
    items: list[ProductHitPublic]
    facets: ProductFacetsPublic


class AnalyticsRows(Schema):
    """Rows keyed by day, category, order id or SKU; counts (`orders`, `units`) are
    integers, money and kilograms decimal strings."""

    rows: list[dict[str, str | int]]
