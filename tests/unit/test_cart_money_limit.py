"""A cart refuses a line, or a quantity, that takes it above the money limit (issue 21: it
was accepted, and the cart projection then parked on the total it could not hold)."""

from __future__ import annotations

import pytest

from domain.base import InvalidInputError
from domain.cart import Cart, CartAboveMoneyLimitError
from domain.money import MAX_AMOUNT, Money

TOP = Money(MAX_AMOUNT)


def test_a_line_above_the_money_limit_is_refused_and_the_cart_unchanged():
    cart = Cart(customer_id="ana")
    with pytest.raises(CartAboveMoneyLimitError):
        cart.add_item("ECO-1", "Ouro", 2, TOP)
    assert cart.lines == {}


def test_lines_that_together_pass_the_limit_are_refused_and_each_stays_readable():
    cart = Cart(customer_id="ana")
    cart.add_item("ECO-1", "Ouro", 1, TOP)
    with pytest.raises(CartAboveMoneyLimitError):
        cart.add_item("ECO-2", "Prata", 1, Money.brl("0.01"))
    with pytest.raises(CartAboveMoneyLimitError):
        cart.add_item("ECO-1", "Ouro", 1, TOP)
    assert cart.total == TOP


def test_raising_a_quantity_above_the_limit_is_refused_as_invalid_input():
    cart = Cart(customer_id="ana")
    cart.add_item("ECO-1", "Ouro", 1, Money.brl("5000000.00"))
    with pytest.raises(InvalidInputError):
        cart.change_quantity("ECO-1", 3)
    assert cart.lines["ECO-1"].quantity == 1
