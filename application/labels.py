"""Shipping with a carrier's label: buy the label for a confirmed order, then ship it with
the label's tracking code (the stock leaves, the payment is captured), in one commit; and
the carrier's reports on the parcel, from its signed webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from application.carriers import (
    Carrier,
    CarrierError,
    Parcel,
    Recipient,
    TrackingReport,
)
from application.errors import CarrierRefusedError, CarrierUnavailableError
from application.event_store import CommandResult, EventStore
from application.orders import OrderService
from domain.customer import Customer
from domain.order import CONFIRMED, Order


class LabelService:
    def __init__(
        self,
        store: EventStore,
        orders: OrderService,
        carrier: Carrier | None,  # None: no carrier configured, ship by hand
        ship_from_postal_code: str = "01310-100",
    ):
        self.store = store
        self.orders = orders
        self.carrier = carrier
        self.ship_from_postal_code = ship_from_postal_code

    def _carrier(self) -> Carrier:
        if self.carrier is None:
            raise CarrierRefusedError(
                "no carrier is configured (ECOVAREJO_CARRIER): ship with carrier and tracking code"
            )
        return self.carrier

    def _parcel(self, order: Order) -> tuple[Parcel, Recipient]:
        address = order.shipping_address.value
        if address is None:
            raise CarrierRefusedError(f"order {order.id}: the customer's address was erased")
        weight = sum(line.weight_grams * line.quantity for line in order.lines)
        goods = order.totals.subtotal - order.totals.discount
        parcel = Parcel(self.ship_from_postal_code, address["postal_code"], weight, goods)
        return parcel, Recipient(
            name=self._recipient_name(order.customer_id),
            line1=address["line1"],
            line2=address.get("line2", ""),
            city=address["city"],
            state=address["state"],
            postal_code=address["postal_code"],
        )

    def _recipient_name(self, customer_id: str) -> str:
        customer = self.store.load(Customer, Customer.create_id(customer_id))
        profile = customer.profile.value if customer and customer.profile else None
        return (profile or {}).get("name") or "Cliente EcoVarejo"

    def ship_with_label(
        self, order_id: UUID, service_id: str, expected_version: int | None = None
    ) -> CommandResult:
        """Buy the carrier's label for a confirmed order and ship it. 409 if the order is
        not confirmed (checked before anything is bought) or the carrier refuses; 503 if it
        does not answer."""
        order = self.orders.order_of(order_id)
        self.store.check_version(order, expected_version)
        order.check_status(CONFIRMED, action="ship")
        parcel, recipient = self._parcel(order)
        try:
            label = self._carrier().buy_label(str(order.id), service_id, parcel, recipient)
        except CarrierError as error:
            if error.retryable:
                raise CarrierUnavailableError(str(error)) from None
            raise CarrierRefusedError(str(error)) from None
        order.record_label(label.label_id, label.service)
        return self.orders.ship(order, f"{label.carrier} {label.service}", label.tracking_code)

    def apply_carrier_webhook(
        self, headers: Mapping[str, str], body: bytes
    ) -> tuple[str, CommandResult | None]:
        """(outcome, result): `applied`, `ignored` (not a step, older, a repeat, after
        delivery) or `unknown_label`. Signature and shape errors propagate (401/422)."""
        report = self._carrier().read_webhook(headers, body)
        if report is None:
            return "ignored", None
        order = self._order_for(report)
        if order is None:
            return "unknown_label", None
        result = self.orders.track_order(order.id, report.step.value, report.at)
        return ("applied" if result else "ignored"), result

    def _order_for(self, report: TrackingReport) -> Order | None:
        try:
            order_id = UUID(report.order_ref)
        except ValueError:
            return None
        order = self.store.load(Order, order_id)
        if order is None or order.label_id != report.label_id:
            return None
        return order
