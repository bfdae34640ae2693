"""Hostile text at the edge: what an attacker with a validly signed odd token, or odd query
strings and bodies, gets back (4xx), and that nothing is stored on the way."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import jwt
import pytest

from tests.conftest import JWT_SECRET
from tests.e2e.conftest import PRODUCT

API = "/api/v1"


def signed(sub: object = "ana", role: str = "customer", **claims: object) -> dict[str, str]:
    payload = {"sub": sub, "role": role, "exp": int(time.time()) + 600, **claims}
    token = jwt.encode(payload, JWT_SECRET, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def head(container) -> int:
    return container.head_position()


def test_a_signed_token_whose_subject_is_not_clean_text_is_401_and_stores_nothing(
    client, container
):
    before = head(container)
    for sub in ["evil\x00", "evil\ud800", "a\x1b[31mred", "line\nbreak", "x" * 201]:
        for method, path in (("POST", "/carts"), ("GET", "/orders")):
            kwargs = {"json": {}} if method == "POST" else {}
            response = client.request(method, f"{API}{path}", headers=signed(sub), **kwargs)
            assert response.status_code == 401, (sub, response.text)
            assert response.headers["content-type"] == "application/problem+json"
    assert head(container) == before


@pytest.mark.parametrize(
    "exp",
    ["9999999999", 10**30, 1e30, None, True, "Infinity"],
    ids=["string", "far-int", "far-float", "null", "bool", "infinity"],
)
def test_exp_must_be_a_number_within_the_maximum_lifetime(client, exp):
    if exp == "Infinity":  # Python's json reads it, so a forger may send it
        signing = b".".join(
            jwt.utils.base64url_encode(part)
            for part in (
                b'{"alg":"HS256","typ":"JWT"}',
                b'{"sub":"a","role":"customer","exp":Infinity}',
            )
        )
        mac = hmac.new(JWT_SECRET.encode(), signing, hashlib.sha256).digest()
        token = (signing + b"." + jwt.utils.base64url_encode(mac)).decode()
        headers = {"Authorization": f"Bearer {token}"}
    else:
        headers = signed(exp=exp)
    assert client.get(f"{API}/orders", headers=headers).status_code == 401


def test_a_token_within_the_maximum_lifetime_is_accepted(client):
    assert client.get(f"{API}/orders", headers=signed(exp=time.time() + 23 * 3600)).is_success


def test_search_parameters_that_are_not_clean_text_are_422(client, auth):
    queries = ["q=%00", "category=a%00b", "certification=%00", "q=%ED%A0%80", "q=%FF", "q=a%1Bb"]
    for query in [*queries, "q%00=x"]:
        response = client.get(f"{API}/products/search?{query}", headers=auth())
        assert response.status_code == 422, (query, response.text)
        assert response.json()["errors"][0]["loc"][0] == "query"


def test_a_customer_id_that_is_not_clean_text_is_422_for_admins(client, container, auth):
    before = head(container)
    for customer in ["a%00b", "a%ED%A0%80b", "a%0Ab", "%FF"]:
        for method in ("GET", "DELETE"):
            path = f"{API}/customers/{customer}/personal-data"
            response = client.request(method, path, headers=auth("admin", "adm"))
            assert response.status_code == 422, (method, customer, response.text)
    assert head(container) == before


@pytest.mark.parametrize(
    "raw",
    [
        b'{"sku": "ECO-1", "quantity": 1, "quantity": 900}',
        b'{"sku": "ECO-1", "sku": "ECO-2", "quantity": 1}',
    ],
)
def test_duplicate_json_keys_are_422(client, auth, raw):
    cart = client.post(f"{API}/carts", json={}, headers=auth()).json()["cart_id"]
    response = client.post(
        f"{API}/carts/{cart}/items",
        content=raw,
        headers={**auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "duplicate_key"


def test_text_fields_refuse_control_characters(client, container, auth):
    before = head(container)
    bad = ["Garrafa\x00", "Garrafa\ud800", "Garrafa\x07", "Garrafa\u0085", "Garrafa\nTérmica"]
    for field, value in [*(("name", v) for v in bad), ("category", "casa\x1b")]:
        body = json.dumps({**PRODUCT, field: value})  # ensure_ascii: a lone surrogate is \ud800
        response = client.post(
            f"{API}/stock-items",
            content=body,
            headers={**auth("admin", "adm"), "Content-Type": "application/json"},
        )
        assert response.status_code == 422, (value, response.text)
    assert head(container) == before


def test_a_description_may_hold_lines(client, auth):
    product = {**PRODUCT, "description": "Aço inox.\nReciclável.\r\n\tLavável."}
    assert client.post(f"{API}/stock-items", json=product, headers=auth("admin", "a")).is_success


def test_money_takes_ascii_digits_only(client, container, auth):
    before = head(container)
    fullwidth, arabic_indic = "\uff11\uff10.\uff10\uff10", "\u0661\u0660.\u0660\u0660"
    for amount in [fullwidth, arabic_indic, "10.0\u0660", "\u00b2"]:
        product = {**PRODUCT, "price": {"amount": amount, "currency": "BRL"}}
        response = client.post(f"{API}/stock-items", json=product, headers=auth("admin", "adm"))
        assert response.status_code == 422, (amount, response.text)
        response = client.get(f"{API}/products/search?min_price={amount}", headers=auth())
        assert response.status_code == 422, (amount, response.text)
    assert head(container) == before


def test_quantities_and_version_headers_take_ascii_digits_only(client, auth, product):
    cart = client.post(f"{API}/carts", json={}, headers=auth()).json()["cart_id"]
    line = {"sku": product["sku"], "quantity": "\uff11"}
    assert client.post(f"{API}/carts/{cart}/items", json=line, headers=auth()).status_code == 422
    line = {"sku": product["sku"], "quantity": 1}
    changed = client.post(
        f"{API}/carts/{cart}/items",
        json=line,
        headers={**auth(), "If-Match": '"²"'.encode("latin-1")},
    )
    assert changed.status_code == 422  # a malformed header is invalid input (issue 11)
    search = client.get(
        f"{API}/products/search", headers={**auth(), "X-Consistency-Token": "²".encode("latin-1")}
    )
    assert search.status_code == 422


def test_after_an_odd_event_every_customer_still_exports_and_erases_over_http(
    client, container, auth
):
    from tests.integration.test_odd_stored_events import plant_odd_events

    ana = auth("customer", "ana")
    client.post(f"{API}/carts", json={}, headers=ana)
    plant_odd_events(container)
    assert client.get(f"{API}/customers/ana/personal-data", headers=ana).status_code == 200
    exported = client.get(f"{API}/customers/ana/personal-data", headers=auth("admin", "adm"))
    assert [c["customer_id"] for c in exported.json()["carts"]] == ["ana"]
    assert client.delete(f"{API}/customers/ana/personal-data", headers=ana).status_code == 202
    nobody = client.delete(f"{API}/customers/bia/personal-data", headers=auth("admin", "adm"))
    assert nobody.json()["status"] == "unknown"
