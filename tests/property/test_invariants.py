"""Invariants of the aggregates under any sequence of commands."""

import contextlib
from decimal import Decimal
from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from domain.base import DomainError
from domain.cart import Cart
from domain.money import Money
from domain.order import Order, OrderLine, PaymentMethod
from domain.personal import PersonalData
from domain.stock_item import StockItem

quantities = st.integers(min_value=-5, max_value=50)


class StockItemMachine(RuleBasedStateMachine):
    """Whatever is received, adjusted, reserved, released or committed, in any order,
    `available` never goes below zero and a replay of the events gives the same state."""

    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.item = StockItem.register(
            sku="ECO-1",
            name="A",
            description="",
            category="c",
            price=Money.brl("1.00"),
            initial_quantity=5,
            sustainability={},
        )

    @rule(target=orders)
    def new_order(self) -> UUID:
        return uuid4()

    @rule(quantity=quantities)
    def receive(self, quantity: int) -> None:
        with contextlib.suppress(DomainError):
            self.item.receive(quantity)

    @rule(delta=st.integers(min_value=-60, max_value=60))
    def adjust(self, delta: int) -> None:
        with contextlib.suppress(DomainError):
            self.item.adjust(delta, "count")

    @rule(order=orders, quantity=quantities)
    def reserve(self, order: UUID, quantity: int) -> None:
        with contextlib.suppress(DomainError):
            self.item.reserve(order, quantity)

    @rule(order=orders)
    def release(self, order: UUID) -> None:
        self.item.release(order)

    @rule(order=orders)
    def commit(self, order: UUID) -> None:
        with contextlib.suppress(DomainError):
            self.item.commit(order)

    @invariant()
    def never_negative(self) -> None:
        assert self.item.available >= 0
        assert self.item.reserved >= 0
        assert self.item.on_hand >= self.item.reserved

    @invariant()
    def replay_gives_the_same_state(self) -> None:
        replayed = None
        for event in self.item.pending_events:
            replayed = event.mutate(replayed)
        assert replayed is not None
        assert (replayed.on_hand, replayed.reservations) == (
            self.item.on_hand,
            self.item.reservations,
        )


TestStockItemMachine = StockItemMachine.TestCase

cart_ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "change", "remove"]),
        st.sampled_from(["ECO-1", "ECO-2", "ECO-3"]),
        st.integers(min_value=1, max_value=20),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2),
    ),
    max_size=30,
)


@given(cart_ops)
def test_cart_total_equals_the_sum_of_its_lines(ops):
    cart = Cart(customer_id="c1")
    for op, sku, quantity, price in ops:
        try:
            if op == "add":
                cart.add_item(sku, sku, quantity, Money(price))
            elif op == "change":
                cart.change_quantity(sku, quantity)
            else:
                cart.remove_item(sku)
        except DomainError:
            pass
    expected = sum((ln.unit_price.amount * ln.quantity for ln in cart.lines.values()), Decimal("0"))
    assert cart.total.amount == expected
    assert all(1 <= ln.quantity <= 999 for ln in cart.lines.values())


TRANSITIONS = {
    "pending": {"reserve", "confirm", "cancel"},
    "confirmed": {"ship", "cancel"},
    "shipped": set(),
    "cancelled": set(),
}


@given(st.lists(st.sampled_from(["reserve", "confirm", "ship", "cancel"]), max_size=12))
def test_order_status_only_moves_along_the_state_machine(steps):
    order = Order.place(
        customer_id="c1",
        cart_id=uuid4(),
        lines=[OrderLine("ECO-1", "A", 1, Money.brl("5"), Decimal("0"))],
        shipping_address=PersonalData("c1", {}),
        payment_method=PaymentMethod(),
    )
    actions = {
        "reserve": order.mark_stock_reserved,
        "confirm": lambda: order.confirm(uuid4()),
        "ship": lambda: order.ship("Correios", "X"),
        "cancel": lambda: order.cancel("customer_request"),
    }
    for step in steps:
        before = order.status
        try:
            actions[step]()
        except DomainError:
            assert order.status == before
            continue
        assert step in TRANSITIONS[before]
        if before in ("shipped", "cancelled"):
            raise AssertionError("a final order changed")
    assert order.status in TRANSITIONS
