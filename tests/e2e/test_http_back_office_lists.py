"""The back office's lists over HTTP: products with archived ones found again, the returns
queue, promotions, payment and webhook queues, customers; admins only, `total` after the
filters, bad parameters a 422."""

from __future__ import annotations

import pytest

from tests.checkout import wait_until
from tests.e2e.conftest import PRODUCT
from tests.e2e.test_http_promotions import promotion

API = "/api/v1"


def _wait_for(client, admin, token: str) -> dict[str, str]:
    return {**admin, "X-Consistency-Token": token}


def test_an_archived_product_is_found_again_by_status_and_low_stock_by_its_flag(
    client, auth, product
):
    admin = auth("admin", "adm")
    other = {**PRODUCT, "sku": "ECO-0101", "name": "Escova de bambu", "initial_quantity": 2}
    assert client.post(f"{API}/stock-items", json=other, headers=admin).status_code == 201
    archived = client.post(f"{API}/stock-items/ECO-0100/archive", headers=admin)
    headers = _wait_for(client, admin, archived.json()["consistency_token"])

    found = client.get(f"{API}/stock-items", params={"status": "archived"}, headers=headers)
    assert found.status_code == 200, found.text
    assert [i["sku"] for i in found.json()["items"]] == ["ECO-0100"]
    assert found.json()["total"] == 1
    low = client.get(f"{API}/stock-items?low_stock=true&q=bambu", headers=headers).json()
    assert [i["sku"] for i in low["items"]] == ["ECO-0101"]
    by_name = client.get(f"{API}/stock-items?sort=name&size=1&page=2", headers=headers).json()
    assert (by_name["total"], by_name["items"][0]["sku"]) == (2, "ECO-0100")


def test_promotions_and_customers_are_listed_with_personal_fields_for_admins(client, auth):
    admin = auth("admin", "adm")
    created = client.post(f"{API}/promotions", json=promotion("VERAO"), headers=admin)
    assert created.status_code == 201, created.text
    profile = {"name": "Ana Souza", "email": "ana@example.com.br"}
    put = client.put(f"{API}/customers/me", json=profile, headers=auth(sub="ana"))
    assert put.status_code == 200, put.text
    headers = _wait_for(client, admin, created.json()["consistency_token"])
    promotions = client.get(f"{API}/promotions?active=true", headers=headers).json()
    assert [p["code"] for p in promotions["items"]] == ["VERAO"]

    def ana() -> dict | None:
        rows = client.get(f"{API}/customers", headers=admin).json()["items"]
        return next((c for c in rows if c["customer_id"] == "ana"), None)

    wait_until(lambda: ana() is not None, what="ana in the customers list")
    row = ana() or {}
    assert (row["name"], row["email"]) == ("Ana Souza", "ana@example.com.br")


@pytest.mark.parametrize(
    "path",
    [
        "/stock-items",
        "/returns?status=requested",
        "/promotions",
        "/payments?queue=flagged",
        "/payments?queue=awaiting",
        "/webhook-deliveries",
        "/customers",
    ],
)
def test_every_list_is_for_admins_only_and_empty_queues_say_so(client, auth, path):
    assert client.get(API + path, headers=auth("admin", "adm")).json()["total"] == 0
    assert client.get(API + path, headers=auth("customer", "ana")).status_code == 403
    assert client.get(API + path, headers=auth("auditor", "aud")).status_code == 403
    assert client.get(API + path).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/stock-items?status=gone",
        "/stock-items?sort=colour",
        "/returns?status=lost",
        "/payments",
        "/payments?queue=all",
        "/stock-items?size=1000",
        "/customers?page=0",
    ],
)
def test_a_bad_filter_is_a_422(client, auth, path):
    assert client.get(API + path, headers=auth("admin", "adm")).status_code == 422
