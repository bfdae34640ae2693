"""Checkout prices shipping again on the server, from the address's CEP and the parcel's
weight; the order's footprint includes it. In memory (the `world` fixture); the same tests
run again on PostgreSQL and Redis from tests/integration/test_shipping_checkout.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.money import Money
from domain.shipping import DEFAULT_RATES, CepNotServedError, InvalidCepError, RatesTable
from tests.checkout import ADDRESS, card, fill_cart, register


def test_checkout_charges_the_method_chosen_at_the_price_of_the_table(world):
    register(world.services, "ECO-1", 10, "20.00")
    world.services.catalog.edit_stock_item("ECO-1", weight_grams=800)  # 2 x 800 g: the 1-5 kg band
    cart = fill_cart(world.services, {"ECO-1": 2})
    options = world.services.checkout.shipping_quote(
        cart[0], cart[1], "50010-000"
    )  # Recife: nordeste
    assert [(o.method, o.price) for o in options] == [
        ("standard", Money.brl("44.90")),
        ("express", Money.brl("69.90")),
    ]
    order_id = world.services.checkout.checkout(
        cart[0], cart[1], ADDRESS, card(), shipping_method="express"
    ).aggregate_id
    world.settle()
    order = world.services.orders.order_of(order_id)
    assert (order.shipping_method, order.totals.shipping) == ("express", Money.brl("69.90"))
    assert order.totals.total == Money.brl("109.90")
    assert order.lines[0].weight_grams == 800
    # 2 x 1.5 kg of product + 1.6 kg carried by air at 0.9 kg CO2e per kg
    assert order.carbon_footprint_kg == Decimal("3.0") + Decimal("1.440")


def test_an_admin_replaces_the_rates_table_and_quotes_follow(world):
    register(world.services, "ECO-1", 10, "20.00")
    table = DEFAULT_RATES.to_dict()
    table["free_standard_from"] = "10.00"
    world.services.shipping.replace_shipping_rates(RatesTable.from_dict(table))
    cart = fill_cart(world.services, {"ECO-1": 1})
    standard = world.services.checkout.shipping_quote(cart[0], cart[1], "01310100")[0]
    assert standard.price == Money.zero()


@pytest.mark.parametrize(
    ("cep", "error"), [("0131", InvalidCepError), ("00100-000", CepNotServedError)]
)
def test_a_bad_or_unserved_cep_is_refused_and_nothing_changes(world, cep, error):
    register(world.services, "ECO-1", 10)
    cart = fill_cart(world.services, {"ECO-1": 1})
    with pytest.raises(error):
        world.services.checkout.shipping_quote(cart[0], cart[1], cep)
    address = type(ADDRESS)(**{**vars(ADDRESS), "postal_code": cep}) if cep != "0131" else None
    if address is not None:
        with pytest.raises(error):
            world.services.checkout.checkout(cart[0], cart[1], address, card())
        assert not world.services.checkout.cart_of(*cart).is_checked_out
