"""The discount is split over the lines to the centavo: the shares add up exactly, none is
negative nor more than its line, and proportional within a centavo."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.money import Money
from domain.promotion import split

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)


@given(st.lists(amounts, min_size=1, max_size=12), st.data())
def test_shares_add_up_and_stay_within_each_line(weights, data):
    lines = [Money(w) for w in weights]
    total = sum(weights, Decimal("0"))
    off = data.draw(st.decimals(min_value=Decimal("0"), max_value=total, places=2))
    shares = split(Money(off), lines)
    assert sum((s.amount for s in shares), Decimal("0")) == off
    for share, line in zip(shares, lines, strict=True):
        assert Decimal("0") <= share.amount <= line.amount
        assert abs(share.amount - off * line.amount / total) < Decimal("0.01") * len(lines)
