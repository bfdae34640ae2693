"""Shipping with a carrier's label: buy the label for a confirmed order, then ship it with
the label's tracking code (the stock leaves, the payment is captured), in one commit; and
the carrier's reports on the parcel, from its signed webhooks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TypeVar
from uuid import UUID

from application.carriers import (
    Carrier,
    CarrierError,
    Label,
    Parcel,
    Recipient,
    ReturnSender,
    TrackingReport,
)
from application.errors import (
    CarrierRefusedError,
    CarrierUnavailableError,
    RetryLaterError,
    ReturnNotFoundError,
)
from application.event_store import CommandResult, EventStore
from application.orders import OrderService
from domain.customer import Customer
from domain.money import Money
from domain.order import CONFIRMED, Order
from domain.returns import Return

T = TypeVar("T")
log = logging.getLogger(__name__)


def _asking(call: Callable[[], T]) -> T:
    """A carrier call, its failure told apart: 503 (try again) or 409 (refused)."""
    try:
        return call()
    except CarrierError as error:
        if error.retryable:
            raise CarrierUnavailableError(str(error)) from None
        raise CarrierRefusedError(str(error)) from None


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
        not confirmed (checked before anything is bought), a label of another service is
        being bought, or the carrier refuses; 503 if it does not answer. The purchase is
        recorded as asked for before the carrier is called, and the carrier's id of the
        label before it is paid: a repeat (or `resume_label_purchase`) carries on with
        that label and never buys a second one."""
        order = self.orders.order_of(order_id)
        self.store.check_version(order, expected_version)
        order.check_status(CONFIRMED, action="ship")
        parcel, recipient = self._parcel(order)
        carrier = self._carrier()
        if order.request_label(service_id):
            self.store.commit(order)
        return self._finish_label(order, carrier, parcel, recipient)

    def _finish_label(
        self, order: Order, carrier: Carrier, parcel: Parcel, recipient: Recipient
    ) -> CommandResult:
        if order.label_id is None:
            assert order.label_service is not None
            service_id = order.label_service
            try:
                opened = _asking(
                    lambda: carrier.open_label(str(order.id), service_id, parcel, recipient)
                )
            except CarrierRefusedError as refusal:  # nothing in its cart: another may be asked
                order.abandon_label(str(refusal))
                self.store.commit(order)
                raise
            order.open_label(opened.label_id, opened.carrier or carrier.name, opened.service)
            self.store.commit(order)
        label_id = order.label_id
        assert label_id is not None
        label = _asking(lambda: carrier.complete_label(label_id))
        service = order.label_service_name
        order.record_label(label.label_id, service)
        return self.orders.ship(
            order, f"{order.label_carrier} {service}".strip(), label.tracking_code
        )

    def resume_label_purchase(self, order_id: UUID) -> CommandResult | None:
        """A label asked for and not bought a while later (the process stopped midway):
        carried on with the label already in the carrier's cart, if any. Nothing if it was
        bought meanwhile or the order moved on; later again if the carrier is down."""
        order = self.orders.order_of(order_id)
        if order.status != CONFIRMED or order.label_service is None or self.carrier is None:
            return None
        try:
            parcel, recipient = self._parcel(order)
            return self._finish_label(order, self.carrier, parcel, recipient)
        except CarrierUnavailableError as error:
            raise RetryLaterError(str(error)) from None
        except CarrierRefusedError as refusal:
            log.warning("label for order %s not bought: %s", order_id, refusal)
            return None

    # Reverse logistics ---------------------------------------------------------------------
    def buy_return_label(
        self, return_id: UUID, service_id: str = "1", expected_version: int | None = None
    ) -> tuple[CommandResult, Label]:
        """A label for the parcel coming back, paid by the shop (a withdrawal's return is
        free for the shopper, CDC art. 49), for an approved return of an order shipped with
        a carrier's label. Recorded as asked for before the carrier is called, like a
        shipment's. The label's link (with the addresses) is handed back, never stored."""
        request = self._return_at(return_id, expected_version)
        order = self.orders.order_of(request.order_id)
        if order.label_id is None:
            raise CarrierRefusedError(
                f"order {order.id} was not shipped with a carrier's label: send the shopper "
                "the shop's own return instructions"
            )
        parcel, sender = self._return_parcel(order, request)
        carrier = self._carrier()
        if request.request_label(service_id):
            self.store.commit(request)
        return self._finish_return_label(request, order, carrier, parcel, sender)

    def _return_at(self, return_id: UUID, expected_version: int | None = None) -> Return:
        missing = ReturnNotFoundError(f"no return {return_id}")
        request = self.store.load(Return, return_id, missing)
        self.store.check_version(request, expected_version)
        return request

    def _return_parcel(self, order: Order, request: Return) -> tuple[Parcel, ReturnSender]:
        parcel, _ = self._parcel(order)
        back = {ln.sku: ln.quantity for ln in request.lines}
        weight = sum(ln.weight_grams * back.get(ln.sku, 0) for ln in order.lines)
        value = sum((ln.refund for ln in request.lines), Money.zero())
        customer = self.store.load(Customer, Customer.create_id(order.customer_id))
        profile = (customer.profile.value if customer and customer.profile else None) or {}
        if not profile.get("email") or not profile.get("phone"):
            raise CarrierRefusedError(
                "the carrier needs the shopper's e-mail and phone for a return label: "
                "the customer's profile (PUT /customers/me) has none"
            )
        returned = Parcel(parcel.to_postal_code, parcel.from_postal_code, weight, value)
        return returned, ReturnSender(email=profile["email"], phone=profile["phone"])

    def _finish_return_label(
        self,
        request: Return,
        order: Order,
        carrier: Carrier,
        parcel: Parcel,
        sender: ReturnSender,
    ) -> tuple[CommandResult, Label]:
        if request.label_id is None:
            assert request.label_service is not None
            assert order.label_id is not None
            original, service = order.label_id, request.label_service
            try:
                opened = _asking(
                    lambda: carrier.open_return_label(
                        str(order.id), original, service, parcel, sender
                    )
                )
            except CarrierRefusedError as refusal:
                request.abandon_label(str(refusal))
                self.store.commit(request)
                raise
            request.open_label(opened.label_id)
            self.store.commit(request)
        label_id = request.label_id
        assert label_id is not None
        label = _asking(lambda: carrier.complete_label(label_id))
        request.record_label(label.label_id, label.tracking_code)
        return self.store.commit(request), label

    def resume_return_label(self, return_id: UUID) -> CommandResult | None:
        """A return label asked for and not bought a while later: carried on (never bought
        twice); later again if the carrier is down."""
        request = self._return_at(return_id)
        if request.label_service is None or request.tracking_code is not None:
            return None
        if self.carrier is None:
            return None
        order = self.orders.order_of(request.order_id)
        try:
            parcel, sender = self._return_parcel(order, request)
            result, _ = self._finish_return_label(request, order, self.carrier, parcel, sender)
        except CarrierUnavailableError as error:
            raise RetryLaterError(str(error)) from None
        except CarrierRefusedError as refusal:
            log.warning("return label for %s not bought: %s", return_id, refusal)
            return None
        return result

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
