"""Numbers from outside, over HTTP (issue 21): a signed token with `exp: 10**400` is a 401
(it was a 500), and `installments` given as "3", 3.0 or true is a 422 that places nothing."""

from __future__ import annotations

import pytest

from tests.e2e.test_edge_hostile_input import signed
from tests.e2e.test_http_checkout import ADDRESS, payment

API = "/api/v1"


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_a_signed_token_with_a_time_claim_of_ten_to_the_400_is_a_401(client, claim):
    response = client.get(f"{API}/orders", headers=signed(**{claim: 10**400}))
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("installments", ["3", 3.0, True])
def test_installments_that_are_not_a_json_integer_are_422_and_place_no_order(
    client, auth, product, installments
):
    cart_id = client.post(f"{API}/carts", json={}, headers=auth(sub="ana")).json()["cart_id"]
    added = client.post(
        f"{API}/carts/{cart_id}/items",
        json={"sku": "ECO-0100", "quantity": 2},
        headers=auth(sub="ana"),
    )
    assert added.status_code == 200, added.text
    body = {"shipping_address": ADDRESS, "payment": {**payment(), "installments": installments}}
    response = client.post(f"{API}/carts/{cart_id}/checkout", json=body, headers=auth(sub="ana"))
    assert response.status_code == 422, response.text
    # Read our own write: without the token the cart may not be projected yet (a 404).
    token = {"X-Consistency-Token": added.json()["consistency_token"]}
    cart = client.get(f"{API}/carts/{cart_id}", headers=auth(sub="ana", **token)).json()
    assert cart["status"] == "open"
    accepted = {**body, "payment": {**payment(), "installments": 3}}
    again = client.post(f"{API}/carts/{cart_id}/checkout", json=accepted, headers=auth(sub="ana"))
    assert again.status_code == 202, again.text
