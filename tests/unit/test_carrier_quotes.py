"""Checkout quotes from the carrier when one is configured: the quote shown is recorded on
the cart and charged as shown; a changed cart, another CEP or a carrier that does not
answer falls back to the rates table; a stale quote is refused. In memory (the `world`
fixture), with a carrier stub at the port (the adapter's own contract is
tests/contract/test_carriers.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from application.carriers import CarrierError, CarrierQuote, Parcel
from domain.base import EventMetadata, event_context
from domain.cart import ShippingNotQuotedError, ShippingQuoteExpiredError
from domain.money import Money
from domain.stock_item import StockItem
from tests.checkout import ADDRESS, card, fill_cart, register

CEP = ADDRESS.postal_code  # 50010-000, in the default table's Nordeste


class StubCarrier:
    """The carrier port answering as a carrier would; `down` makes it fail like an outage."""

    name = "stub"

    def __init__(self) -> None:
        self.down = False
        self.asked: list[Parcel] = []

    def quote(self, parcel: Parcel) -> list[CarrierQuote]:
        self.asked.append(parcel)
        if self.down:
            raise CarrierError("stub: no answer", retryable=True)
        return [
            CarrierQuote("1", "Correios", "PAC", Money.brl("24.53"), 6),
            CarrierQuote("2", "Correios", "SEDEX", Money.brl("41.10"), 2),
            CarrierQuote("3", "Jadlog", ".Package", Money.brl("19.87"), 5),
        ]


class Later:
    def __init__(self, delta: timedelta):
        self.delta = delta

    def now(self) -> datetime:
        return datetime.now(UTC) + self.delta


@pytest.fixture
def carrier(world) -> StubCarrier:
    world.services.checkout.carrier = StubCarrier()
    return world.services.checkout.carrier


def cart(world, quantity: int = 1):
    if world.services.store.load(StockItem, StockItem.create_id("ECO-1")) is None:
        register(world.services, "ECO-1", 10, "30.00")
    return fill_cart(world.services, {"ECO-1": quantity}, "ana")


def test_the_carriers_cheapest_is_standard_its_fastest_express(world, carrier):
    cart_id, customer = cart(world)
    options = world.services.checkout.shipping_quote(cart_id, customer, CEP)
    shown = [(o.method, o.price, o.days, o.carrier, o.service_id) for o in options]
    assert shown == [
        ("standard", Money.brl("19.87"), 5, "Jadlog", "3"),
        ("express", Money.brl("41.10"), 2, "Correios", "2"),
    ]
    assert carrier.asked[0].to_postal_code == "50010000"


@pytest.mark.parametrize("method", ["standard", "express"])
def test_checkout_charges_the_quote_shown(world, carrier, method):
    cart_id, customer = cart(world)
    shown = {
        o.method: o.price for o in world.services.checkout.shipping_quote(cart_id, customer, CEP)
    }
    order_id = world.services.checkout.checkout(
        cart_id, customer, ADDRESS, card(), shipping_method=method
    ).aggregate_id
    order = world.services.orders.order_of(order_id)
    assert order.totals.shipping == shown[method]
    assert order.totals.total == Money.brl("30.00") + shown[method]


def test_a_cart_changed_after_its_quote_is_priced_by_the_table(world, carrier):
    cart_id, customer = cart(world)
    world.services.checkout.shipping_quote(cart_id, customer, CEP)
    world.services.checkout.add_cart_item(cart_id, customer, "ECO-1", 1)
    order_id = world.services.checkout.checkout(cart_id, customer, ADDRESS, card()).aggregate_id
    table = world.services.shipping.rates_table().option("standard", CEP, 1000, Money.brl("60.00"))
    assert world.services.orders.order_of(order_id).totals.shipping == table.price


def test_a_carrier_that_does_not_answer_leaves_the_table_to_quote_and_charge(world, carrier):
    cart_id, customer = cart(world)
    carrier.down = True
    options = world.services.checkout.shipping_quote(cart_id, customer, CEP)
    assert all(o.carrier == "" for o in options)
    order_id = world.services.checkout.checkout(cart_id, customer, ADDRESS, card()).aggregate_id
    assert world.services.orders.order_of(order_id).totals.shipping == options[0].price


def test_a_stale_quote_is_refused_and_nothing_changes(world, carrier):
    cart_id, customer = cart(world)
    world.services.checkout.shipping_quote(cart_id, customer, CEP)
    with (
        event_context(EventMetadata(), Later(timedelta(hours=2))),
        pytest.raises(ShippingQuoteExpiredError, match="quote the shipping again"),
    ):
        world.services.checkout.checkout(cart_id, customer, ADDRESS, card())
    assert not world.services.checkout.cart_of(cart_id, customer).is_checked_out


def test_free_shipping_from_the_threshold_applies_to_the_carriers_standard(world, carrier):
    cart_id, customer = cart(world, quantity=7)  # 210.00
    standard, express = world.services.checkout.shipping_quote(cart_id, customer, CEP)
    assert (standard.price, express.price) == (Money.zero(), Money.brl("41.10"))


def test_a_method_the_carrier_did_not_offer_is_refused(world, carrier):
    carrier.quote = lambda parcel: [CarrierQuote("1", "Correios", "PAC", Money.brl("24.53"), 6)]
    cart_id, customer = cart(world)
    assert [o.method for o in world.services.checkout.shipping_quote(cart_id, customer, CEP)] == [
        "standard"
    ]
    with pytest.raises(ShippingNotQuotedError):
        world.services.checkout.checkout(
            cart_id, customer, ADDRESS, card(), shipping_method="express"
        )


def test_a_table_quote_after_an_outage_replaces_an_older_carrier_quote(world, carrier):
    cart_id, customer = cart(world)
    world.services.checkout.shipping_quote(cart_id, customer, CEP)
    carrier.down = True
    with event_context(EventMetadata(), Later(timedelta(hours=2))):
        shown = world.services.checkout.shipping_quote(cart_id, customer, CEP)
        order_id = world.services.checkout.checkout(cart_id, customer, ADDRESS, card())
    assert shown[0].carrier == ""  # the rates table's
    order = world.services.orders.order_of(order_id.aggregate_id)
    assert order.totals.shipping == shown[0].price  # charged as shown, not 409 "quote again"
