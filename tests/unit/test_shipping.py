"""Shipping priced by CEP: regions by CEP range, weight bands, free standard shipping."""

from decimal import Decimal

import pytest

from domain.money import Money
from domain.shipping import (
    DEFAULT_RATES,
    CepNotServedError,
    InvalidCepError,
    InvalidRatesTableError,
    ParcelTooHeavyError,
    RatesTable,
    parse_cep,
)


@pytest.mark.parametrize("text", ["01310-100", "01310100", " 01310-100 "])
def test_a_cep_is_five_digits_a_dash_and_three_or_eight_digits(text):
    assert parse_cep(text) == "01310100"


@pytest.mark.parametrize(
    "text",
    ["0131-0100", "1310100", "01310-10a", "", "\uff10\uff11\uff13\uff11\uff10\uff11\uff10\uff10"],
)
def test_anything_else_is_not_a_cep(text):
    with pytest.raises(InvalidCepError):
        parse_cep(text)


def test_a_quote_prices_by_region_and_weight_band():
    standard, express = DEFAULT_RATES.quote("01310-100", 1200, Money.brl("50.00"))
    assert (standard.method, standard.price, standard.days) == ("standard", Money.brl("29.90"), 5)
    assert (express.method, express.price, express.days) == ("express", Money.brl("49.90"), 2)
    assert standard.carbon_footprint_kg == Decimal("0.144")
    north = DEFAULT_RATES.quote("69000-000", 1200, Money.brl("50.00"))[0]
    assert north.price == Money.brl("52.90")


def test_standard_is_free_from_the_threshold_and_express_is_not():
    standard, express = DEFAULT_RATES.quote("90000-000", 500, Money.brl("199.00"))
    assert standard.price == Money.zero()
    assert express.price == Money.brl("42.90")


def test_a_cep_outside_the_table_and_a_parcel_too_heavy_are_refused():
    with pytest.raises(CepNotServedError):
        DEFAULT_RATES.quote("00500-000", 500, Money.zero())
    with pytest.raises(ParcelTooHeavyError):
        DEFAULT_RATES.quote("01310-100", 30_001, Money.zero())


def test_a_table_round_trips_and_a_table_missing_a_price_is_refused():
    assert RatesTable.from_dict(DEFAULT_RATES.to_dict()) == DEFAULT_RATES
    broken = DEFAULT_RATES.to_dict()
    broken["rates"]["express"]["sul"]["prices"].pop()
    with pytest.raises(InvalidRatesTableError):
        RatesTable.from_dict(broken)
    with pytest.raises(InvalidRatesTableError):
        RatesTable.from_dict({"regions": {}})


@pytest.mark.parametrize("factor", ["abc", "NaN", "Infinity", "-1", "-0.01"])
def test_a_co2_factor_that_is_not_a_finite_non_negative_number_is_refused(factor):
    broken = DEFAULT_RATES.to_dict()
    broken["rates"]["standard"]["sul"]["co2_kg_per_kg"] = factor
    with pytest.raises(InvalidRatesTableError):
        RatesTable.from_dict(broken)


def test_weight_bands_must_be_positive():
    broken = DEFAULT_RATES.to_dict()
    broken["bands_grams"][0] = 0
    with pytest.raises(InvalidRatesTableError):
        RatesTable.from_dict(broken)
