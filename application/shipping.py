"""Shipping: the rates table in force (an admin may replace it) and quotes for a cart."""

from __future__ import annotations

from application.catalog import CatalogService
from application.event_store import CommandResult, EventStore
from domain.cart import Cart
from domain.shipping import DEFAULT_RATES, RatesTable, ShippingRates


class ShippingService:
    def __init__(self, store: EventStore, catalog: CatalogService):
        self.store = store
        self.catalog = catalog

    def rates_in_force(self) -> tuple[RatesTable, int]:
        """The table in force and its version: 0 while the defaults apply (never replaced)."""
        rates = self.store.load(ShippingRates, ShippingRates.create_id())
        return (DEFAULT_RATES, 0) if rates is None else (rates.table, rates.version)

    def rates_table(self) -> RatesTable:
        return self.rates_in_force()[0]

    def replace_shipping_rates(
        self, table: RatesTable, expected_version: int | None = None
    ) -> CommandResult:
        """Replace the whole table; `expected_version` 0 means "over the defaults"."""
        rates = self.store.load(ShippingRates, ShippingRates.create_id())
        self.store.check_version(rates, expected_version)
        if rates is None:
            rates = ShippingRates(table=table)
        else:
            rates.replace(table)
        return self.store.commit(rates)

    def parcel_grams(self, cart: Cart) -> int:
        return sum(
            self.catalog.stock_item(line.sku).weight_grams * line.quantity
            for line in cart.lines.values()
        )
