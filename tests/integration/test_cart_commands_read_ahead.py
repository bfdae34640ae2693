"""The API's cart commands read what they load in as few statements as the data allows
(`EventStore.reading`, as the saga's steps do): adding an item reads the cart and its
(cached) stock item in one statement; a checkout reads the cart, then the data subject,
the rates table and the lines' stock items in one more — two where it took four."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from application.event_store import EventStore
from domain.base import EventMetadata, event_context
from domain.order import Order
from domain.stock_item import InsufficientStockError, StockItem
from infrastructure.bootstrap import Container
from tests.checkout import ADDRESS, card
from tests.stock_items import log_reads, store_with_stock_item

SKU = "ECO-CART-AHEAD-1"
CUSTOMER = "cliente-ahead"


@pytest.fixture
def store(container: Container) -> Iterator[EventStore]:
    yield from store_with_stock_item(container, SKU)


def test_adding_an_item_reads_the_cart_and_its_stock_item_in_one_statement(
    container: Container, store: EventStore
) -> None:
    checkout = container.services.checkout
    store.repository.get(StockItem.create_id(SKU))  # cached, as in a serving API
    with event_context(EventMetadata(f"customer:{CUSTOMER}", "corr", "cause")):
        cart_id = checkout.create_cart(CUSTOMER).aggregate_id
        reads = log_reads(store)
        checkout.add_cart_item(cart_id, CUSTOMER, SKU, 2)
        assert reads == ["select_events_after"]
        with pytest.raises(InsufficientStockError):  # the same checks on what was read
            checkout.add_cart_item(cart_id, CUSTOMER, SKU, 9)
    assert checkout.cart_of(cart_id, CUSTOMER).lines[SKU].quantity == 2


def test_a_checkout_reads_in_two_statements_and_prices_as_before(
    container: Container, store: EventStore
) -> None:
    checkout = container.services.checkout
    with event_context(EventMetadata(f"customer:{CUSTOMER}", "corr", "cause")):
        cart_id = checkout.create_cart(CUSTOMER).aggregate_id
        checkout.add_cart_item(cart_id, CUSTOMER, SKU, 2)
        reads = log_reads(store)
        order_id = checkout.checkout(cart_id, CUSTOMER, ADDRESS, card()).aggregate_id
    assert reads == ["select_events", "select_events_after"]
    order = store.load(Order, order_id)
    assert order is not None
    assert [(line.sku, line.quantity, str(line.unit_price.amount)) for line in order.lines] == [
        (SKU, 2, "9.90")
    ]
    assert order.cart_id == cart_id
