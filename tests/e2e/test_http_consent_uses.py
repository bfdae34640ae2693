"""Consents where the data is used, end to end: analytics that profile a customer count
only those who consent to `analytics`, and drop them on withdrawal; recommendations are
personalized only with the `personalization` consent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import PRODUCT
from tests.e2e.test_http_checkout import ADDRESS, cart_with, payment, settle
from tests.integration.test_lgpd import found_in_postgres, found_in_redis

API = "/api/v1"


def eventually(read: Callable[[], Any], check: Callable[[Any], bool]) -> Any:
    for _ in range(200):
        value = read()
        if check(value):
            return value
        time.sleep(0.05)
    raise AssertionError(f"never came true; last: {value}")


def register(client, auth, sku: str, category: str) -> None:
    body = {**PRODUCT, "sku": sku, "name": f"Produto {sku}", "category": category}
    assert (
        client.post(f"{API}/stock-items", json=body, headers=auth("admin", "adm")).status_code
        == 201
    )


def consent(client, auth, sub: str, purpose: str, granted: bool) -> None:
    response = client.put(
        f"{API}/customers/me/consents/{purpose}", json={"granted": granted}, headers=auth(sub=sub)
    )
    assert response.status_code == 200, response.text


def buy(client, auth, sub: str) -> None:
    cart_id = cart_with(client, auth, sub=sub, quantity=1)
    response = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub=sub),
    )
    assert response.status_code == 202, response.text
    assert settle(client, auth, response.json()["order_id"], sub=sub)["status"] == "confirmed"


def test_analytics_profile_only_consenting_customers_from_their_consent_on(client, auth, product):
    admin = auth("admin", "adm")

    def customers() -> dict[str, int]:
        rows = client.get(f"{API}/analytics/customers", headers=admin).json()["rows"]
        return {row["key"]: row["orders"] for row in rows}

    def sold() -> int:
        rows = client.get(f"{API}/analytics/sales", headers=admin).json()["rows"]
        return sum(row["orders"] for row in rows)

    consent(client, auth, "ana", "analytics", True)
    buy(client, auth, "ana")
    buy(client, auth, "bia")  # no consent: counted in totals, never profiled
    assert eventually(customers, lambda c: c == {"ana": 1}) == {"ana": 1}
    assert eventually(sold, lambda n: n == 2) == 2
    consent(client, auth, "ana", "analytics", False)
    eventually(customers, lambda c: c == {})
    buy(client, auth, "ana")
    eventually(sold, lambda n: n == 3)
    assert customers() == {}  # bought without the consent: not profiled
    consent(client, auth, "ana", "analytics", True)
    buy(client, auth, "ana")
    eventually(sold, lambda n: n == 4)
    assert customers() == {"ana": 1}  # from the new grant on


def test_recommendations_are_personalized_only_with_the_consent(client, auth, product):
    register(client, auth, "ECO-0101", "casa")
    register(client, auth, "ECO-0200", "higiene")
    buy(client, auth, "ana")
    mine = f"{API}/customers/me/recommendations"
    assert client.get(mine, headers=auth(sub="ana")).json() == {
        "customer_id": "ana",
        "personalized": False,
        "based_on": [],
        "items": [],
    }
    consent(client, auth, "ana", "personalization", True)
    body = eventually(
        lambda: client.get(mine, headers=auth(sub="ana")).json(), lambda b: b["items"]
    )
    assert (body["personalized"], body["based_on"]) == (True, ["casa"])
    assert [item["sku"] for item in body["items"]] == ["ECO-0101"]  # not what was bought
    theirs = f"{API}/customers/ana/recommendations"
    assert client.get(theirs, headers=auth(sub="bia")).status_code == 404
    assert client.get(theirs, headers=auth("admin", "adm")).json()["personalized"] is True
    consent(client, auth, "ana", "personalization", False)
    after = client.get(mine, headers=auth(sub="ana")).json()  # the very next request
    assert (after["personalized"], after["items"]) == (False, [])
    assert client.get(f"{mine}?limit=0", headers=auth(sub="ana")).status_code == 422


def test_a_cancellation_detail_is_stored_encrypted_and_reads_as_erased_after_erasure(
    client, auth, container, product
):
    words = "Mudei de ideia, moro na Rua Marcadora 4242"
    cart_id = cart_with(client, auth, sub="ana", quantity=1)
    order_id = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    ).json()["order_id"]
    settle(client, auth, order_id)
    cancelled = client.post(
        f"{API}/orders/{order_id}/cancel", json={"reason": words}, headers=auth(sub="ana")
    )
    assert cancelled.status_code == 202, cancelled.text

    def detail() -> Any:
        order = client.get(f"{API}/orders/{order_id}", headers=auth(sub="ana")).json()
        return order.get("cancellation_detail")

    assert eventually(detail, lambda d: d is not None) == words  # a positive control
    assert found_in_postgres(container.database_url, "Rua Marcadora 4242") == []
    erased = client.delete(f"{API}/customers/ana/personal-data", headers=auth(sub="ana"))
    assert erased.status_code == 202
    assert eventually(detail, lambda d: d != words) == {"erased": True}
    assert found_in_redis(container.redis_url, "Rua Marcadora 4242") == []
    export = client.get(f"{API}/customers/ana/personal-data", headers=auth("admin", "adm"))
    [order] = export.json()["orders"]
    assert order["cancellation_detail"] == {"erased": True}
