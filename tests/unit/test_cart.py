from uuid import uuid4

import pytest

from domain.cart import (
    Cart,
    CartAlreadyCheckedOutError,
    EmptyCartError,
    InvalidCartQuantityError,
    ItemNotInCartError,
)
from domain.money import Money


def test_adding_a_sku_twice_adds_to_its_line():
    cart = Cart(customer_id="c1")
    cart.add_item("ECO-1", "Sabonete", 2, Money.brl("10.00"))
    cart.add_item("ECO-1", "Sabonete", 3, Money.brl("10.00"))
    assert cart.lines["ECO-1"].quantity == 5
    assert cart.total == Money.brl("50.00")


def test_total_is_the_sum_of_the_lines():
    cart = Cart(customer_id="c1")
    cart.add_item("ECO-1", "A", 2, Money.brl("10.50"))
    cart.add_item("ECO-2", "B", 1, Money.brl("0.99"))
    assert cart.total == Money.brl("21.99")


def test_refuses_checkout_of_empty_cart():
    cart = Cart(customer_id="c1")
    with pytest.raises(EmptyCartError):
        cart.check_out(uuid4())


def test_refuses_changes_after_checkout():
    cart = Cart(customer_id="c1")
    cart.add_item("ECO-1", "A", 1, Money.brl("1.00"))
    cart.check_out(uuid4())
    with pytest.raises(CartAlreadyCheckedOutError):
        cart.add_item("ECO-2", "B", 1, Money.brl("1.00"))
    with pytest.raises(CartAlreadyCheckedOutError):
        cart.check_out(uuid4())


@pytest.mark.parametrize("quantity", [0, -3, 1000])
def test_refuses_quantities_out_of_range(quantity):
    cart = Cart(customer_id="c1")
    with pytest.raises(InvalidCartQuantityError):
        cart.add_item("ECO-1", "A", quantity, Money.brl("1.00"))


def test_refuses_changing_or_removing_a_sku_not_in_the_cart():
    cart = Cart(customer_id="c1")
    with pytest.raises(ItemNotInCartError):
        cart.change_quantity("ECO-9", 1)
    with pytest.raises(ItemNotInCartError):
        cart.remove_item("ECO-9")


def test_keeps_the_unit_price_at_the_time_of_adding():
    cart = Cart(customer_id="c1")
    cart.add_item("ECO-1", "A", 1, Money.brl("10.00"))
    cart.change_quantity("ECO-1", 4)
    assert cart.lines["ECO-1"].unit_price == Money.brl("10.00")
    assert cart.total == Money.brl("40.00")
