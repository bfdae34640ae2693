"""Analyst projections over real checkouts."""

from __future__ import annotations

from tests.checkout import DECLINED, check_out, fill_cart, register, settled, wait_until


def test_sales_co2_and_top_products_count_confirmed_orders_only(container):
    services = container.services
    register(services, "ECO-1", 10, price="10.00")  # category casa, 1.5 kg CO2 each
    register(services, "ECO-2", 10, price="25.00")
    kept = check_out(services, fill_cart(services, {"ECO-1": 2, "ECO-2": 1}))
    check_out(services, fill_cart(services, {"ECO-1": 1}), DECLINED)
    taken_back = check_out(services, fill_cart(services, {"ECO-2": 3}, "bia"))
    wait_until(lambda: settled(services))
    services.orders.cancel_order(taken_back, "bia", "desisti")
    wait_until(lambda: settled(services))
    assert container.wait_for_projections(container.head_position())
    rows = container.readers.analytics.rows
    [day] = rows("sales:day")
    assert (day["orders"], day["units"], day["revenue"]) == (1, 3, "45.00")
    [category] = rows("sales:category")
    assert (category["key"], category["units"], category["revenue"]) == ("casa", 3, "45.00")
    assert rows("co2:category")[0]["kg"] == "4.5"
    co2_orders = {r["key"]: r["kg"] for r in rows("co2:order")}
    assert co2_orders[str(kept)] == "4.5"
    assert co2_orders[str(taken_back)] == "0.0"
    top = rows("product")
    assert [(r["key"], r["units"]) for r in top] == [("ECO-1", 2), ("ECO-2", 1)]
