"""Returns and partial refunds of tests/unit/test_returns.py, again on PostgreSQL and Redis
(this folder's `world` fixture), and what the LGPD export holds of them (here only)."""

from tests.checkout import check_out, fill_cart
from tests.unit.test_returns import *  # noqa: F403
from tests.unit.test_returns import shipped_order


def test_the_lgpd_export_holds_the_customers_returns_and_coupon_uses_but_not_others(world):
    order_id = shipped_order(world, coupon="DEZ")
    cart = fill_cart(world.services, {"ECO-2": 1}, customer="bia")
    world.services.checkout.apply_coupon(cart[0], cart[1], "DEZ")
    theirs = check_out(world.services, cart)
    world.settle()
    return_id = world.services.returns.request_return(
        order_id, "ana", [("ECO-1", 1)], "veio riscada"
    )
    exported = world.services.data_subjects.export_personal_data("ana", "customer:ana")
    [held] = exported["returns"]
    assert (held["id"], held["order_id"], held["status"]) == (
        str(return_id.aggregate_id),
        str(order_id),
        "requested",
    )
    assert [(u["code"], u["order_id"], u["given_back"]) for u in exported["coupon_uses"]] == [
        ("DEZ", str(order_id), False)
    ]
    assert str(theirs) not in str(exported)
