"""Helpers for the checkout tests: placing orders, waiting, and the saga's invariants."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg

from application.services import Services
from domain.card import Address, CardDetails
from domain.cart import Cart
from domain.money import Money
from domain.order import CANCELLED, CONFIRMED, PENDING, SHIPPED, Order, OrderStatus
from domain.payment import CAPTURED, Payment, payment_id_for_order
from domain.stock_item import StockItem

ADDRESS = Address("Rua das Flores 10", "apto 2", "Recife", "PE", "50010-000")
APPROVED, DECLINED, NO_FUNDS, PRIMARY_FAILS = (
    "4242424242424242",
    "4000000000000002",
    "4000000000009995",
    "4000000000000119",
)


def card(number: str = APPROVED) -> CardDetails:
    return CardDetails(number, "12/39", "123", "Ana Souza")


def register(services: Services, sku: str, quantity: int, price: str = "50.00") -> None:
    services.catalog.register_stock_item(
        sku=sku,
        name=f"Produto {sku}",
        description="",
        category="casa",
        price=Money.brl(price),
        initial_quantity=quantity,
        sustainability={"carbon_footprint_kg": "1.5", "certifications": ["FSC"]},
    )


def fill_cart(
    services: Services, items: dict[str, int], customer: str | None = None
) -> tuple[UUID, str]:
    customer = customer or f"cliente-{uuid.uuid4().hex[:8]}"
    cart_id = services.checkout.create_cart(customer).aggregate_id
    for sku, quantity in items.items():
        services.checkout.add_cart_item(cart_id, customer, sku, quantity)
    return cart_id, customer


def check_out(services: Services, cart: tuple[UUID, str], number: str = APPROVED) -> UUID:
    return services.checkout.checkout(cart[0], cart[1], ADDRESS, card(number)).aggregate_id


def place_order(
    services: Services, items: dict[str, int], number: str = APPROVED, customer: str | None = None
) -> UUID:
    return check_out(services, fill_cart(services, items, customer), number)


def backends_on(database_url: str, query_like: str = "%") -> int:
    """Other sessions on this database (whose last statement is like `query_like`)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND query ILIKE %s",
            (query_like,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)


def aggregates(services: Services) -> dict[type, list[Any]]:
    """Every aggregate in the log, by class, read back from the event store: every event
    committed when this was called. The recorder reads below the oldest transaction in
    flight anywhere in the cluster (a follower never passes over a row that commits
    later), so under load a read can stop short of committed rows: read again until the
    highest position committed at the start has been seen."""
    ids: dict[type, set[UUID]] = {Order: set(), Payment: set(), StockItem: set(), Cart: set()}
    recorder = services.store.recorder
    top, position = recorder.max_notification_id() or 0, 0

    def caught_up() -> bool:
        nonlocal position
        while batch := recorder.select_notifications(start=position + 1, limit=1000):
            for notification in batch:
                for cls in ids:
                    if notification.topic.startswith(f"{cls.__module__}:{cls.__qualname__}."):
                        ids[cls].add(notification.originator_id)
            position = batch[-1].id
        return position >= top

    wait_until(caught_up, timeout=60, what=f"the log to be readable up to position {top}")
    return {cls: [services.store.repository.get(i) for i in found] for cls, found in ids.items()}


def settled(services: Services) -> bool:
    """No order pending, no payment undecided, no money movement requested but not done."""
    found = aggregates(services)
    return all(o.status != PENDING for o in found[Order]) and all(
        p.pending is None and p.status != "requested" for p in found[Payment]
    )


KEPT = (SHIPPED, OrderStatus.PARTIALLY_RETURNED, OrderStatus.RETURNED)  # shipped, maybe returned


def check_invariants(services: Services, *, final: bool = True) -> None:
    """The saga's promises (DESIGN.md): stock never negative nor oversold; a cancelled order
    holds no stock and no money; captured money equals shipped totals; with `final`, every
    order has reached confirmed, shipped or cancelled."""
    found = aggregates(services)
    items = {i.sku: i for i in found[StockItem]}
    payments = {p.id: p for p in found[Payment]}
    captured = Money.zero()
    shipped_total = Money.zero()
    for item in items.values():
        assert item.available >= 0, item.sku
        assert item.on_hand >= 0, item.sku
    for order in found[Order]:
        payment = payments.get(order.current_payment_id)  # its latest try at paying
        earlier = [
            payments.get(payment_id_for_order(order.id, n)) for n in range(1, order.payment_attempt)
        ]
        if final:  # an earlier try never keeps money: it failed, or gave back what came late
            assert not any(p is not None and p.holds_money and not p.pending for p in earlier)
        holding = {sku for sku, item in items.items() if str(order.id) in item.reservations}
        if order.payment_failure is not None and order.status != CANCELLED:
            assert holding == {ln.sku for ln in order.lines}, "a retry holds its stock"
        if final:
            assert order.status in (CONFIRMED, CANCELLED, *KEPT), order.status
        if order.status == CANCELLED:
            assert holding == set(), f"cancelled order {order.id} still holds {holding}"
            if final and payment is not None:
                assert not payment.holds_money, f"cancelled order {order.id} kept money"
        if order.status == CONFIRMED:
            assert holding == {ln.sku for ln in order.lines}
            for line in order.lines:
                assert items[line.sku].reservations[str(order.id)] == line.quantity
            assert payment is not None
            assert payment.status == "authorized"
        if order.status in KEPT:
            assert holding == set()
            assert order.refunded_total <= order.totals.total
            shipped_total += order.totals.total - order.refunded_total
            if final:
                assert payment is not None
                assert payment.status in (CAPTURED, "refunded")
                assert payment.refunded == order.refunded_total
    for payment in payments.values():
        if payment.status in (CAPTURED, "refunded"):
            captured += payment.captured - payment.refunded
    if final:
        assert captured == shipped_total


def catalog_with_variants(services: Services) -> None:
    """A category tree (moved and renamed once), a product in two variants with a
    certificate, beside the stock items `register` makes (issue 28)."""
    from datetime import date
    from decimal import Decimal

    from application.products import ProductInput, VariantInput
    from domain.product import Certification, SustainabilityProfile

    services.products.add_category("casa", "Casa")
    services.products.add_category("cozinha", "Cozinha", "casa")
    services.products.add_category("loucas", "Louças")
    services.products.move_category("loucas", "cozinha")
    services.products.rename_category(
        "loucas", new_slug="loucas-e-canecas", name="Louças e canecas"
    )
    product = services.products.create_product(
        ProductInput(
            slug="caneca-esmaltada",
            name="Caneca esmaltada",
            description="Aço esmaltado, 300 ml",
            option_names=("cor",),
            variants=[
                VariantInput("CAN-BR", {"cor": "branca"}, Money.brl("59.00"), 4, gtin="96385074"),
                VariantInput("CAN-AZ", {"cor": "azul"}, Money.brl("61.00"), 2),
            ],
            profile=SustainabilityProfile(Decimal("0.8"), 90, "recycled"),
            category="loucas-e-canecas",
        )
    )
    services.products.add_certification(
        product.aggregate_id, Certification("FSC", "FSC Brasil", "FSC-C0001", date(2099, 1, 1))
    )
