"""The HTTP rough edges a new user hit: one rule for unknown query parameters, and the
OpenAPI document where tools look for it first."""

from __future__ import annotations

import pytest

API = "/api/v1"


@pytest.mark.parametrize(
    ("path", "role"),
    [
        (f"{API}/orders?stauts=pending", "admin"),
        (f"{API}/stock-items/ECO-0100?verbose=1", "customer"),
        (f"{API}/products/search?q=garrafa&facet=category", "customer"),
        (f"{API}/analytics/sales?by=day&format=csv", "admin"),
        ("/health?x=1", "customer"),
    ],
)
def test_an_unknown_query_parameter_is_refused_everywhere(client, auth, product, path, role):
    response = client.get(path, headers=auth(role, "adm" if role == "admin" else "cliente-1"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    unknown = path.rsplit("&", 1)[-1].split("?")[-1].split("=")[0]
    assert unknown in response.text


def test_declared_query_parameters_still_work(client, auth, product):
    assert client.get(f"{API}/orders?status=pending", headers=auth("admin", "adm")).is_success
    found = client.get(f"{API}/products/search?q=garrafa&size=5", headers=auth())
    assert found.status_code == 200, found.text


def test_the_openapi_document_is_also_at_the_root(client):
    root = client.get("/openapi.json")
    assert root.status_code == 200
    assert root.json() == client.get(f"{API}/openapi.json").json()


def test_every_operation_has_a_description(client):
    document = client.get("/openapi.json").json()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if len(operation.get("description", "")) < 20
    ]
    assert not missing, missing


def test_analytics_counts_are_numbers(client, auth, product):
    from tests.e2e.test_edge_observability import eventually, place_order

    place_order(client, auth, "4242424242424242")
    admin = auth("admin", "adm")

    def rows():
        found = client.get(f"{API}/analytics/top-products", headers=admin).json()["rows"]
        return found or None

    found = eventually(rows)
    assert found, "the sale never showed in analytics"
    assert found[0]["units"] == 1
    assert isinstance(found[0]["revenue"], str)  # money stays a decimal string


def test_request_bodies_carry_examples_that_validate(client):
    from api.http import schemas

    components = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("StockItemCreate", "AdjustmentCreate", "CartItemCreate", "CheckoutCreate"):
        examples = components[name].get("examples")
        assert examples, name
        getattr(schemas, name).model_validate(examples[0])  # an example that is really valid


def test_pages_and_webhooks_that_read_their_own_query_string_are_left_to_it(client):
    page = client.get("/console/analytics?lang=en", follow_redirects=False)
    assert page.status_code != 422, page.text
    hook = client.post(f"{API}/payments/webhooks/sandbox?data.id=1&type=payment", content=b"{}")
    assert hook.status_code != 422 or "Unknown query parameter" not in hook.text
