from decimal import Decimal

import pytest

from domain.money import InvalidMoneyError, InvalidSkuError, Money, check_sku


def test_money_keeps_two_decimal_places():
    assert Money.brl("89.9").amount == Decimal("89.90")
    assert str(Money.brl("10").amount) == "10.00"


def test_refuses_float_amounts():
    with pytest.raises(InvalidMoneyError):
        Money.brl(89.9)  # type: ignore[arg-type]
    with pytest.raises(InvalidMoneyError):
        Money(89.9)  # type: ignore[arg-type]


def test_refuses_fractions_of_a_cent():
    with pytest.raises(InvalidMoneyError):
        Money.brl("1.005")


def test_refuses_other_currencies():
    with pytest.raises(InvalidMoneyError):
        Money(Decimal("1.00"), "USD")


def test_refuses_non_numbers_and_infinity():
    with pytest.raises(InvalidMoneyError):
        Money.brl("abc")
    with pytest.raises(InvalidMoneyError):
        Money(Decimal("Infinity"))


def test_adds_and_multiplies_exactly():
    assert Money.brl("0.10") + Money.brl("0.20") == Money.brl("0.30")
    assert Money.brl("19.99").times(3) == Money.brl("59.97")


def test_round_trips_through_its_dict_form():
    money = Money.brl("123.45")
    assert Money.from_dict(money.to_dict()) == money
    assert money.to_dict() == {"amount": "123.45", "currency": "BRL"}


@pytest.mark.parametrize("sku", ["", "a", "lower-case", "X" * 41, "BAD SKU", "-LEADING"])
def test_refuses_malformed_skus(sku):
    with pytest.raises(InvalidSkuError):
        check_sku(sku)


def test_accepts_well_formed_skus():
    assert check_sku("ECO-0001") == "ECO-0001"
