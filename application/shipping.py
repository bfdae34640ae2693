"""Shipping: the rates table in force (an admin may replace it) and quotes for a cart."""

from __future__ import annotations

from application.commands import CommandApp
from application.event_store import CommandResult
from domain.cart import Cart
from domain.money import Money
from domain.shipping import DEFAULT_RATES, RatesTable, ShippingOption, ShippingRates


class ShippingCommands(CommandApp):
    def rates_table(self) -> RatesTable:
        rates: ShippingRates | None = self.find(ShippingRates.create_id())
        return DEFAULT_RATES if rates is None else rates.table

    def replace_shipping_rates(self, table: RatesTable) -> CommandResult:
        rates: ShippingRates | None = self.find(ShippingRates.create_id())
        if rates is None:
            rates = ShippingRates(table=table)
        else:
            rates.replace(table)
        return self._commit(rates)

    def parcel_grams(self, cart: Cart) -> int:
        return sum(
            self.stock_item(line.sku).weight_grams * line.quantity for line in cart.lines.values()
        )

    def shipping_options(self, cart: Cart, postal_code: str, net: Money) -> list[ShippingOption]:
        """Standard and express to `postal_code` for the cart's parcel; standard is free
        from the table's threshold (on the subtotal net of the coupon)."""
        return self.rates_table().quote(postal_code, self.parcel_grams(cart), net)
