"""Coupons at checkout of tests/unit/test_coupons_at_checkout.py, again on PostgreSQL and
Redis (this folder's `world` fixture), and the race once more on the whole running system
(its workers settle the checkouts)."""

from concurrent.futures import ThreadPoolExecutor

from tests.checkout import check_invariants, register, settled, wait_until
from tests.unit.test_coupons_at_checkout import *  # noqa: F403
from tests.unit.test_coupons_at_checkout import buy_with_coupon, count_outcomes, launch


def test_thirty_buyers_race_on_the_running_system(container):
    services = container.services
    register(services, "ECO-1", 100)
    launch(services, "DEZ", max_uses=10)
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(lambda _: buy_with_coupon(services, "DEZ"), range(30)))
    wait_until(lambda: settled(services), what="every checkout to settle")
    confirmed, unavailable = count_outcomes(services, "DEZ")
    assert (confirmed, unavailable + outcomes.count("refused")) == (10, 20)
    assert services.promotions.promotion("DEZ").use_count == 10
    check_invariants(services)
