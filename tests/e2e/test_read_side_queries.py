"""Every query route reads through a reader and waits on the one consistency wait: a
malformed token or If-Match is invalid input (422), a token ahead of the read model is a
short wait, someone else's document is a 404 like a missing one."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from tests.e2e.conftest import register_product, shared_system, unwritten

API = "/api/v1"
# Fixed ids: test ids must be the same in every process that collects them (pytest-xdist).
QUERY_ROUTES = [
    f"{API}/stock-items/ECO-0100",
    f"{API}/carts/2f1d6a0e-3c4b-4e8a-9b7c-1d2e3f4a5b6c",
    f"{API}/orders",
    f"{API}/orders/7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    f"{API}/payments/0c1d2e3f-4a5b-4c6d-9e7f-8a9b0c1d2e3f",
    f"{API}/products/search",
]


# The tests that only read (a refused token or If-Match writes nothing) share one system with
# the product registered (module scope: one database and bootstrap instead of one per test),
# each checking on leaving that the log's head did not move; the tests that write take the
# function-scoped `client` and `product`, a fresh system each.


@pytest.fixture(scope="module")
def shared_client(servers, tmp_path_factory) -> Iterator[tuple[TestClient, dict]]:
    with (
        shared_system(servers, tmp_path_factory, redis_number=5) as container,
        TestClient(create_app(container), raise_server_exceptions=False) as test_client,
    ):
        yield test_client, register_product(test_client)


@pytest.fixture
def reader(shared_client) -> Iterator[TestClient]:
    with unwritten(shared_client[0]) as test_client:
        yield test_client


@pytest.fixture
def read_product(shared_client) -> dict:
    return shared_client[1]


@pytest.mark.parametrize("path", QUERY_ROUTES)
@pytest.mark.parametrize("token", ["abc", "-1", "1.5", "²".encode(), "9" * 19])
def test_a_malformed_consistency_token_is_invalid_input_on_every_query_route(
    reader, auth, path, token
):
    response = reader.get(path, headers=auth(**{"X-Consistency-Token": token}))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("if_match", ["abc", '"x"', "W/", "-3"])
def test_a_malformed_if_match_is_invalid_input(reader, auth, read_product, if_match):
    response = reader.post(
        f"{API}/stock-items/{read_product['sku']}/receipts",
        json={"quantity": 1},
        headers=auth("admin", "adm", **{"If-Match": if_match}),
    )
    assert response.status_code == 422, response.text


def test_a_read_waits_for_the_token_of_the_command_it_follows(client, auth, product):
    admin = auth("admin", "adm")
    sku = product["sku"]
    received = client.post(f"{API}/stock-items/{sku}/receipts", json={"quantity": 5}, headers=admin)
    token = received.json()["consistency_token"]
    for path in (f"{API}/stock-items/{sku}", f"{API}/products/search?q=garrafa"):
        response = client.get(path, headers=auth(**{"X-Consistency-Token": token}))
        assert response.status_code == 200, response.text
    assert client.get(f"{API}/stock-items/{sku}", headers=admin).json()["on_hand"] == 15


def test_someone_elses_cart_is_not_found_exactly_like_a_missing_one(client, auth):
    created = client.post(f"{API}/carts", headers=auth(sub="ana"))
    cart_id = created.json()["cart_id"]
    token = {"X-Consistency-Token": created.json()["consistency_token"]}
    assert client.get(f"{API}/carts/{cart_id}", headers=auth(sub="ana", **token)).status_code == 200
    theirs = client.get(f"{API}/carts/{cart_id}", headers=auth(sub="bia", **token))
    missing = client.get(f"{API}/carts/{uuid4()}", headers=auth(sub="bia"))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["type"] == missing.json()["type"]
