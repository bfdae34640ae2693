"""The checkout saga on the real system: Postgres, Redis, dramatiq workers, sandbox gateways."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from application.errors import VersionConflictError
from application.ports import Authorization, GatewayError
from domain.base import EcoAggregate, EventMetadata, event_context
from domain.order import IllegalOrderTransitionError, Order
from domain.payment import Payment, payment_id_for_order
from domain.stock_item import StockItem
from infrastructure.gateways.payments.sandbox import SandboxGateway
from tests.checkout import (
    DECLINED,
    NO_FUNDS,
    PRIMARY_FAILS,
    check_invariants,
    check_out,
    fill_cart,
    place_order,
    register,
    settled,
    wait_until,
)


def final_order(container, order_id) -> Order:
    wait_until(
        lambda: container.services.orders.order_of(order_id).status != "pending",
        what=f"order {order_id} to leave pending",
    )
    wait_until(lambda: settled(container.services), what="payments to settle")
    return container.services.orders.order_of(order_id)


def test_an_approved_card_confirms_the_order_and_holds_the_stock(container):
    register(container.services, "ECO-1", 10)
    order = final_order(container, place_order(container.services, {"ECO-1": 3}))
    assert order.status == "confirmed"
    item = container.services.catalog.stock_item("ECO-1")
    assert (item.reserved, item.available) == (3, 7)
    payment = container.services.payments.payment(payment_id_for_order(order.id))
    assert (payment.status, payment.gateway, payment.authorized) == (
        "authorized",
        "primary",
        order.totals.total,
    )
    check_invariants(container.services)


@pytest.mark.parametrize("number", [DECLINED, NO_FUNDS])
def test_a_declined_card_cancels_the_order_and_gives_the_stock_back(container, number):
    register(container.services, "ECO-1", 10)
    order = final_order(container, place_order(container.services, {"ECO-1": 3}, number))
    assert (order.status, order.cancellation_reason) == ("cancelled", "payment_declined")
    assert container.services.catalog.stock_item("ECO-1").available == 10
    check_invariants(container.services)


def test_a_primary_processing_error_fails_over_to_the_secondary(container):
    register(container.services, "ECO-1", 10)
    order = final_order(container, place_order(container.services, {"ECO-1": 1}, PRIMARY_FAILS))
    assert order.status == "confirmed"
    payment = container.services.payments.payment(payment_id_for_order(order.id))
    assert payment.gateway == "secondary"
    assert payment.abandoned_gateways == ["primary"]
    events = container.services.store.repository.event_store.get(payment.id)
    assert [type(e).__name__ for e in events] == ["Requested", "GatewayFailed", "Authorized"]


def test_not_enough_stock_cancels_without_holding_anything(container):
    register(container.services, "ECO-1", 5)
    register(container.services, "ECO-2", 5)
    carts = [
        fill_cart(container.services, {"ECO-1": 2, "ECO-2": 5}),
        fill_cart(container.services, {"ECO-1": 2, "ECO-2": 1}),
    ]
    # One after the other: the saga's partitions may take two orders in either order, and
    # the second must be the one that finds too little stock.
    first = check_out(container.services, carts[0])
    assert final_order(container, first).status == "confirmed"
    second = check_out(container.services, carts[1])
    order = final_order(container, second)
    assert (order.status, order.cancellation_reason) == ("cancelled", "insufficient_stock")
    assert container.services.catalog.stock_item("ECO-1").reservations.keys() == {str(first)}
    assert container.services.store.load(EcoAggregate, payment_id_for_order(second)) is None
    check_invariants(container.services)


def test_cancelling_a_confirmed_order_voids_the_payment_and_releases_stock(container):
    register(container.services, "ECO-1", 10)
    order_id = place_order(container.services, {"ECO-1": 4}, customer="ana")
    final_order(container, order_id)
    container.services.orders.cancel_order(order_id, "ana", "mudei de ideia")
    wait_until(lambda: settled(container.services), what="the void")
    payment = container.services.payments.payment(payment_id_for_order(order_id))
    assert payment.status == "voided"
    assert container.services.catalog.stock_item("ECO-1").available == 10
    order = container.services.orders.order_of(order_id)
    assert (order.status, order.cancellation_reason) == ("cancelled", "customer_request")
    check_invariants(container.services)


def test_shipping_captures_the_payment_and_commits_the_stock(container):
    register(container.services, "ECO-1", 10)
    order_id = place_order(container.services, {"ECO-1": 4})
    final_order(container, order_id)
    container.services.orders.ship_order(order_id, "Correios", "BR123456789")
    wait_until(lambda: settled(container.services), what="the capture")
    payment = container.services.payments.payment(payment_id_for_order(order_id))
    assert payment.status == "captured"
    item = container.services.catalog.stock_item("ECO-1")
    assert (item.on_hand, item.reserved) == (6, 0)
    check_invariants(container.services)
    with pytest.raises(IllegalOrderTransitionError):
        container.services.orders.cancel_order(order_id, None, "tarde demais")


def test_a_cancelled_order_cannot_be_shipped(container):
    register(container.services, "ECO-1", 10)
    order_id = place_order(container.services, {"ECO-1": 1}, DECLINED)
    final_order(container, order_id)
    with pytest.raises(IllegalOrderTransitionError):
        container.services.orders.ship_order(order_id, "Correios", "X")


def test_concurrent_checkouts_never_oversell(container):
    """Ten customers race for three units: exactly three orders are confirmed."""
    register(container.services, "ECO-1", 3)
    carts = [fill_cart(container.services, {"ECO-1": 1}) for _ in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        orders = list(pool.map(lambda cart: check_out(container.services, cart), carts))
    wait_until(lambda: settled(container.services), timeout=30, what="all checkouts")
    statuses = [container.services.orders.order_of(o).status for o in orders]
    assert statuses.count("confirmed") == 3
    assert statuses.count("cancelled") == 7
    assert container.services.catalog.stock_item("ECO-1").available == 0
    check_invariants(container.services)


class SlowGateway(SandboxGateway):
    """A sandbox acquirer that answers only after `delay` seconds (a stuck network)."""

    def __init__(self, name, client, delay: float):
        super().__init__(name, client)
        self.delay = delay

    def authorize(self, token, amount, key, installments=1) -> Authorization:
        time.sleep(self.delay)
        return super().authorize(token, amount, key, installments)


def test_an_undecided_payment_times_out_and_a_late_authorization_is_voided(settings):
    from infrastructure.bootstrap import bootstrap

    settings.payment_timeout_s = 0.5
    container = bootstrap(settings)
    container.services.payments.gateways = [SlowGateway("primary", container.redis, delay=2.0)]
    container.start_processing()
    try:
        register(container.services, "ECO-1", 10)
        order_id = place_order(container.services, {"ECO-1": 2})
        wait_until(
            lambda: container.services.orders.order_of(order_id).status == "cancelled", timeout=10
        )
        order = container.services.orders.order_of(order_id)
        assert order.cancellation_reason == "payment_timeout"
        assert container.services.catalog.stock_item("ECO-1").available == 10
        wait_until(
            lambda: (
                container.services.payments.payment(payment_id_for_order(order_id)).status
                == "voided"
            ),
            timeout=15,
            what="the late authorization to be voided",
        )
        check_invariants(container.services)
    finally:
        container.close()


def test_a_concurrent_change_to_an_order_surfaces_as_a_conflict(container):
    register(container.services, "ECO-1", 10)
    order_id = place_order(container.services, {"ECO-1": 1}, customer="ana")
    final_order(container, order_id)
    with pytest.raises(VersionConflictError):
        container.services.orders.cancel_order(order_id, "ana", "", expected_version=1)


def test_every_step_is_recorded_with_the_checkout_correlation_id(container):
    register(container.services, "ECO-1", 10)
    with event_context(EventMetadata("customer:ana", "checkout-42", "request:1")):
        order_id = place_order(container.services, {"ECO-1": 1}, customer="ana")
    final_order(container, order_id)
    store = container.services.store.repository.event_store
    steps = [
        *store.get(order_id),
        *store.get(payment_id_for_order(order_id)),
        *store.get(StockItem.create_id("ECO-1"), gt=1),
    ]
    assert {e.correlation_id for e in steps} == {"checkout-42"}
    actors = {type(e).__qualname__: e.actor for e in steps}
    assert actors["Order.Placed"] == "customer:ana"
    assert actors["Order.StockReserved"] == "system:saga"
    assert actors["Payment.Authorized"] == "system:worker:authorize_payment"
    assert actors["Order.Confirmed"] == "system:saga"
    causes = {type(e).__qualname__: e.causation_id for e in steps}
    payment_id = payment_id_for_order(order_id)
    assert causes["Order.StockReserved"] == f"event:{order_id}:1"
    assert causes["Order.Confirmed"] == f"event:{payment_id}:2"


class GarbledGateway(SandboxGateway):
    """Answers garbage (a retryable error) `failures` times, then behaves."""

    def __init__(self, name, client, failures: int):
        super().__init__(name, client)
        self.failures = failures

    def authorize(self, token, amount, key, installments=1) -> Authorization:
        if self.failures > 0:
            self.failures -= 1
            raise GatewayError(f"{self.name}: unparseable answer", retryable=True)
        return super().authorize(token, amount, key)


def test_a_garbled_answer_is_retried_then_failed_over(settings):
    from application.errors import RetryLaterError
    from infrastructure.bootstrap import bootstrap

    container = bootstrap(settings)  # no workers: this test drives the payment by hand
    services = container.services
    try:
        register(services, "ECO-1", 10)
        order = services.orders.order_of(place_order(services, {"ECO-1": 1}))
        payment = Payment(
            order_id=order.id,
            customer_id=order.customer_id,
            amount=order.totals.total,
            token=order.payment_method.token,
            brand="visa",
            last4="4242",
        )
        services.store.save(payment)
        services.payments.gateways = [
            GarbledGateway("primary", container.redis, failures=5),
            GarbledGateway("secondary", container.redis, failures=1),
            GarbledGateway("tertiary", container.redis, failures=0),
        ]
        with pytest.raises(RetryLaterError):  # primary garbled: retried later
            services.payments.authorize_payment(payment.id)
        with pytest.raises(RetryLaterError):  # primary again: abandoned; secondary garbled
            services.payments.authorize_payment(payment.id)
        services.payments.authorize_payment(payment.id)  # secondary answers
        settled_payment = services.payments.payment(payment.id)
        assert (settled_payment.status, settled_payment.gateway) == ("authorized", "secondary")
        assert settled_payment.abandoned_gateways == ["primary"]
        assert settled_payment.gateway_failures == {"primary": 2, "secondary": 1}
    finally:
        container.close()


def test_when_no_gateway_answers_the_order_is_compensated_as_payment_failed(settings):
    from infrastructure.bootstrap import bootstrap

    container = bootstrap(settings)
    container.services.payments.gateways = [
        GarbledGateway(name, container.redis, failures=99)
        for name in ("primary", "secondary", "tertiary")
    ]
    container.start_processing()
    try:
        register(container.services, "ECO-1", 10)
        order = final_order(container, place_order(container.services, {"ECO-1": 3}))
        assert (order.status, order.cancellation_reason) == ("cancelled", "payment_failed")
        assert container.services.catalog.stock_item("ECO-1").available == 10
        check_invariants(container.services)
    finally:
        container.close()


class CountingGateway(SandboxGateway):
    """A sandbox acquirer that counts the cards sent to its tokenization."""

    def __init__(self, name, client):
        super().__init__(name, client)
        self.tokenized = 0

    def tokenize(self, number, expiry, cvc, holder):
        self.tokenized += 1
        return super().tokenize(number, expiry, cvc, holder)


@pytest.mark.parametrize(("installments", "price"), [(12, "500.00"), (7, "100.00")])
def test_a_card_checkout_refused_on_its_total_never_reaches_a_providers_tokenization(
    settings, installments, price
):
    from domain.installments import InvalidInstallmentsError
    from domain.payment_choice import CardPayment
    from infrastructure.bootstrap import bootstrap
    from tests.checkout import ADDRESS, card

    container = bootstrap(settings)  # no workers: nothing is placed
    services = container.services
    services.payments.gateways = [CountingGateway("primary", container.redis)]
    try:
        with event_context(EventMetadata("test", "corr-f17", "")):
            register(services, "ECO-T", 5, price=price)
            cart_id, customer = fill_cart(services, {"ECO-T": 1})
            with pytest.raises(InvalidInstallmentsError):
                services.checkout.checkout(
                    cart_id, customer, ADDRESS, CardPayment(card(), installments)
                )
        assert services.payments.gateways[0].tokenized == 0
        assert not services.checkout.cart_of(cart_id, customer).is_checked_out
    finally:
        container.close()
