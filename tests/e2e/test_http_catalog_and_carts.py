"""The HTTP contract for stock items and carts, through the real app and servers."""

import time

import pytest

from tests.e2e.conftest import PRODUCT

API = "/api/v1"


def test_registers_a_stock_item_and_reads_it_back(client, auth, product):
    token = product["consistency_token"]
    response = client.get(
        f"{API}/stock-items/ECO-0100", headers=auth(**{"X-Consistency-Token": token})
    )
    assert response.status_code == 200
    body = response.json()
    assert body["price"] == {"amount": "129.90", "currency": "BRL"}
    assert (body["on_hand"], body["reserved"], body["available"], body["version"]) == (10, 0, 10, 1)
    assert response.headers["etag"] == '"1"'


def test_receipts_adjustments_and_price_changes_show_in_the_read_model(client, auth, product):
    admin = auth("admin", "adm")
    assert (
        client.post(
            f"{API}/stock-items/ECO-0100/receipts", json={"quantity": 5}, headers=admin
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"{API}/stock-items/ECO-0100/adjustments",
            json={"quantity_delta": -3, "reason": "avaria"},
            headers=admin,
        ).status_code
        == 200
    )
    response = client.put(
        f"{API}/stock-items/ECO-0100/price",
        json={"price": {"amount": "119.90", "currency": "BRL"}},
        headers=admin,
    )
    assert response.status_code == 200
    body = client.get(
        f"{API}/stock-items/ECO-0100",
        headers=auth(**{"X-Consistency-Token": response.json()["consistency_token"]}),
    ).json()
    assert (body["on_hand"], body["available"], body["version"]) == (12, 12, 4)
    assert body["price"]["amount"] == "119.90"


def test_a_customer_builds_a_cart_and_reads_its_own_write(client, auth, product):
    created = client.post(f"{API}/carts", json={}, headers=auth())
    assert created.status_code == 201
    cart_id = created.json()["cart_id"]
    added = client.post(
        f"{API}/carts/{cart_id}/items", json={"sku": "ECO-0100", "quantity": 2}, headers=auth()
    )
    assert added.status_code == 200
    assert added.json()["version"] == 2
    changed = client.put(
        f"{API}/carts/{cart_id}/items/ECO-0100", json={"quantity": 3}, headers=auth()
    )
    assert changed.status_code == 200
    cart = client.get(
        f"{API}/carts/{cart_id}",
        headers=auth(**{"X-Consistency-Token": changed.json()["consistency_token"]}),
    )
    assert cart.status_code == 200
    body = cart.json()
    assert body["status"] == "open"
    assert body["items"] == [
        {
            "sku": "ECO-0100",
            "name": "Garrafa Térmica de Inox",
            "quantity": 3,
            "unit_price": {"amount": "129.90", "currency": "BRL"},
            "price_changed_from": None,
            "line_total": {"amount": "389.70", "currency": "BRL"},
        }
    ]
    assert body["total"] == {"amount": "389.70", "currency": "BRL"}
    removed = client.delete(f"{API}/carts/{cart_id}/items/ECO-0100", headers=auth())
    assert removed.status_code == 200
    cart = client.get(
        f"{API}/carts/{cart_id}",
        headers=auth(**{"X-Consistency-Token": removed.json()["consistency_token"]}),
    )
    assert cart.json()["items"] == []


def test_another_customers_cart_is_not_found(client, auth, product):
    cart_id = client.post(f"{API}/carts", json={}, headers=auth(sub="ana")).json()["cart_id"]
    other = auth(sub="bruno")
    assert client.get(f"{API}/carts/{cart_id}", headers=other).status_code == 404
    response = client.post(
        f"{API}/carts/{cart_id}/items", json={"sku": "ECO-0100", "quantity": 1}, headers=other
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_anyone_may_read_a_product_but_changing_it_needs_a_valid_token(client, product):
    token = {"X-Consistency-Token": product["consistency_token"]}  # read after the write
    assert client.get(f"{API}/stock-items/ECO-0100", headers=token).status_code == 200
    bad = {"Authorization": "Bearer not-a-jwt"}
    price = {"price": {"amount": "1.00", "currency": "BRL"}}
    assert client.put(f"{API}/stock-items/ECO-0100/price", json=price).status_code == 401
    assert (
        client.put(f"{API}/stock-items/ECO-0100/price", json=price, headers=bad).status_code == 401
    )


def test_refuses_unsigned_and_expired_tokens(client, product):
    import jwt

    unsigned = jwt.encode(
        {"sub": "x", "role": "admin", "exp": 9999999999}, key=None, algorithm="none"
    )
    response = client.post(  # a route that needs a token (reading a product does not)
        f"{API}/stock-items/ECO-0100/receipts",
        json={"quantity": 1},
        headers={"Authorization": f"Bearer {unsigned}"},
    )
    assert response.status_code == 401
    expired = jwt.encode(
        {"sub": "x", "role": "admin", "exp": 1000},
        "test-secret-that-is-long-enough-for-hs256",
        algorithm="HS256",
    )
    response = client.post(
        f"{API}/stock-items/ECO-0100/receipts",
        json={"quantity": 1},
        headers={"Authorization": f"Bearer {expired}"},
    )
    assert response.status_code == 401


def test_refuses_the_wrong_role(client, auth):
    assert (
        client.post(f"{API}/stock-items", json=PRODUCT, headers=auth("customer")).status_code == 403
    )
    assert client.post(f"{API}/carts", json={}, headers=auth("admin")).status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": {"amount": 129.9, "currency": "BRL"}}, "amount"),
        ({"price": {"amount": "129.90", "currency": "USD"}}, "currency"),
        ({"price": {"amount": "-1.00", "currency": "BRL"}}, "amount"),
        ({"initial_quantity": -1}, "initial_quantity"),
        ({"sku": "not a sku"}, "sku"),
        ({"name": "x" * 201}, "name"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_refuses_malformed_stock_items_and_changes_nothing(client, auth, change, field):
    response = client.post(
        f"{API}/stock-items", json={**PRODUCT, **change}, headers=auth("admin", "adm")
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert any(field in e["loc"] for e in response.json()["errors"])
    assert client.app.state.container.head_position() == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"sku": "ECO-0100", "quantity": 0}, 422),
        ({"sku": "ECO-0100", "quantity": -2}, 422),
        ({"sku": "ECO-0100", "quantity": 1.5}, 422),
        ({"sku": "ECO-9999", "quantity": 1}, 422),
        ({"sku": "ECO-0100", "quantity": 11}, 409),
    ],
)
def test_refuses_impossible_cart_items_and_changes_nothing(client, auth, product, body, status):
    cart = client.post(f"{API}/carts", json={}, headers=auth()).json()
    head = client.app.state.container.head_position()
    response = client.post(f"{API}/carts/{cart['cart_id']}/items", json=body, headers=auth())
    assert response.status_code == status, response.text
    assert client.app.state.container.head_position() == head


def test_refuses_a_second_registration_of_a_sku(client, auth, product):
    response = client.post(f"{API}/stock-items", json=PRODUCT, headers=auth("admin", "adm"))
    assert response.status_code == 409


def test_unknown_stock_item_is_404(client, auth):
    assert client.get(f"{API}/stock-items/ECO-4040", headers=auth()).status_code == 404


def test_honours_if_match(client, auth, product):
    admin = auth("admin", "adm")
    stale = client.post(
        f"{API}/stock-items/ECO-0100/receipts",
        json={"quantity": 1},
        headers={**admin, "If-Match": '"7"'},
    )
    assert stale.status_code == 409
    fresh = client.post(
        f"{API}/stock-items/ECO-0100/receipts",
        json={"quantity": 1},
        headers={**admin, "If-Match": '"1"'},
    )
    assert fresh.status_code == 200
    assert fresh.headers["etag"] == '"2"'


def test_a_query_ahead_of_its_read_model_answers_503_with_retry_after(client, auth, product):
    client.app.state.container.settings.consistency_wait_s = 0.2
    response = client.get(
        f"{API}/stock-items/ECO-0100", headers=auth(**{"X-Consistency-Token": "999999"})
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


def test_health_and_readiness(client, auth):
    assert client.get("/health").json() == {"status": "ok"}
    for _ in range(100):  # runners report "starting" until their subscription is open
        ready = client.get("/ready", headers=auth("admin", "ops"))
        if ready.status_code == 200:
            break
        time.sleep(0.05)
    assert ready.status_code == 200
    assert ready.json()["checks"]["projection:carts"]["state"] == "running"
    assert client.get("/ready").json() == {"status": "ready"}  # the checks: operators only


def test_openapi_lists_the_routes(client):
    paths = client.get(f"{API}/openapi.json").json()["paths"]
    for path in (
        f"{API}/stock-items",
        f"{API}/stock-items/{{sku}}",
        f"{API}/carts",
        f"{API}/carts/{{cart_id}}/items/{{sku}}",
    ):
        assert path in paths
