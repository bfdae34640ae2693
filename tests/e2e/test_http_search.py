"""`GET /api/v1/products/search` through the real app, the real event store and the
PostgreSQL search adapter, fed by the search projector under the runner supervisor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from eventsourcing.projection import BaseProjectionRunner
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.routers import products
from application.event_store import LogFollower
from infrastructure.read_stores.search_postgres import PostgresSearchStore
from infrastructure.runtime.runners import Supervisor
from projections.base import GenerationMovedError
from projections.catalog import StockItemsProjection
from projections.search import SearchProjection, live_index
from tests.checkout import wait_until
from tests.e2e.conftest import auth_headers, shared_system, unwritten

API = "/api/v1"
SEARCH = f"{API}/products/search"


def product(sku, name, category, price, certifications, description="", quantity=10):
    return {
        "sku": sku,
        "name": name,
        "description": description,
        "category": category,
        "price": {"amount": price, "currency": "BRL"},
        "initial_quantity": quantity,
        "sustainability": {
            "carbon_footprint_kg": "0.800",
            "certifications": certifications,
            "recyclable": True,
            "biodegradable": True,
        },
    }


CATALOG = [
    product(
        "ECO-0201",
        "Café Orgânico em Grãos",
        "alimentos",
        "39.90",
        ["Orgânico Brasil", "Fair Trade"],
        "Café arábica do sul de Minas",
    ),
    product("ECO-0202", "Sabonete de Argila", "higiene", "18.50", ["Cruelty Free"]),
    product("ECO-0203", "Camiseta de Algodão Orgânica", "vestuário", "89.90", ["GOTS"]),
    product("ECO-0204", "Escova de Dente de Bambu", "higiene", "12.00", ["FSC"]),
    product("ECO-0205", "Bolsa de Lona Vegana", "Vestuário", "149.00", ["Vegano"]),
]


@contextmanager
def searching(container) -> Iterator[object]:
    """The Container's search store once bootstrap wires one; until then, the PostgreSQL
    adapter on the test database, followed by a supervised projector as in production."""
    if getattr(container, "search", None) is not None:
        yield container.search
        return
    store = PostgresSearchStore(container.database_url)

    def make_runner():
        index = live_index(store)
        return BaseProjectionRunner(
            projection=SearchProjection(index),
            application_class=LogFollower,
            tracking_recorder=index,
            topics=(),
            env=container.follower_env,
        )

    supervisor = Supervisor(
        SearchProjection.name, make_runner, restart_on=(GenerationMovedError,)
    ).start()
    container.search = store
    try:
        yield store
    finally:
        supervisor.stop()
        container.search = None
        store.close()


@contextmanager
def serving(container) -> Iterator[TestClient]:
    app = create_app(container)
    if not any(getattr(route, "path", "") == SEARCH for route in app.routes):
        app.include_router(products.router, prefix=API)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def register_catalog(api, auth) -> str:
    """Registers the catalog; answers the consistency token of the last registration, once
    the stock items' read model has it (tests read a product without a token right away)."""
    token = ""
    for body in CATALOG:
        response = api.post(f"{API}/stock-items", json=body, headers=auth("admin", "adm"))
        assert response.status_code == 201, response.text
        token = response.json()["consistency_token"]
    container = api.app.state.container
    wait_until(
        lambda: container.projection_positions()[StockItemsProjection.name] >= int(token),
        what="the stock items' read model at the last registration",
    )
    return token


# The tests that write (and the one that changes a setting) take `api` and `catalog`: a fresh
# system and catalog each.


@pytest.fixture
def search_store(container) -> Iterator[object]:
    with searching(container) as store:
        yield store


@pytest.fixture
def api(container, search_store) -> Iterator[TestClient]:
    with serving(container) as test_client:
        yield test_client


@pytest.fixture
def catalog(api, auth) -> str:
    return register_catalog(api, auth)


# The tests that only read share one system with the catalog registered (module scope: one
# database, bootstrap and registration instead of one per test): `reader` and
# `read_catalog`. Each checks on leaving that the log's head did not move, so a test that
# started writing fails instead of leaking into the next. Rate limits: the module's reads are
# a few dozen a client, far below the 1,200 a minute of a client.


@pytest.fixture(scope="module")
def shared_search(servers, tmp_path_factory) -> Iterator[tuple[TestClient, str]]:
    with (
        shared_system(servers, tmp_path_factory, redis_number=4) as container,
        searching(container),
        serving(container) as test_client,
    ):
        token = register_catalog(test_client, auth_headers)
        # The search read model caught up too, before any anonymous (cached) answer is kept.
        caught_up = test_client.get(
            SEARCH, headers=auth_headers("customer", "customer-1", **{"X-Consistency-Token": token})
        )
        assert caught_up.status_code == 200, caught_up.text
        yield test_client, token


@pytest.fixture
def reader(shared_search) -> Iterator[TestClient]:
    with unwritten(shared_search[0]) as test_client:
        yield test_client


@pytest.fixture
def read_catalog(shared_search) -> str:
    return shared_search[1]


def search(api, auth, token: str | None = None, role: str = "customer", **params):
    headers = auth(role, f"{role}-1", **({"X-Consistency-Token": token} if token else {}))
    return api.get(SEARCH, params=params, headers=headers)


def test_finds_products_with_money_as_decimal_strings_and_facets(reader, auth, read_catalog):
    response = search(reader, auth, read_catalog, q="café")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1
    assert body["items"] == [
        {
            "sku": "ECO-0201",
            "name": "Café Orgânico em Grãos",
            "price": {"amount": "39.90", "currency": "BRL"},
            "available": 10,
            "certifications": ["Orgânico Brasil", "Fair Trade"],
            "carbon_footprint_kg": "0.800",
            "in_stock": True,
            # A stock item of old is its own product, scored as its page scores it:
            # 0.8 kg (36.8) + recyclable (15) + no evidenced certificate, unknown packaging.
            "sustainability_score": 52,
            "rating_average": None,
            "rating_count": 0,
        }
    ]
    assert body["facets"] == {
        "category": {"alimentos": 1},
        "certification": {"Fair Trade": 1, "Orgânico Brasil": 1},
        "price": {"25-50": 1},
    }


def test_finds_organica_without_the_accent(reader, auth, read_catalog):
    body = search(reader, auth, read_catalog, q="organica").json()
    assert "ECO-0203" in [item["sku"] for item in body["items"]]


def test_filters_by_category_certification_and_price_range(reader, auth, read_catalog):
    by_category = search(reader, auth, read_catalog, category="higiene").json()
    assert [i["sku"] for i in by_category["items"]] == ["ECO-0202", "ECO-0204"]
    assert by_category["facets"]["category"] == {"higiene": 2}
    by_certification = search(reader, auth, read_catalog, certification="GOTS").json()
    assert [i["sku"] for i in by_certification["items"]] == ["ECO-0203"]
    by_price = search(reader, auth, read_catalog, min_price="12", max_price="39.90").json()
    assert [i["sku"] for i in by_price["items"]] == ["ECO-0201", "ECO-0202", "ECO-0204"]


def test_pages_through_the_catalog(reader, auth, read_catalog):
    first = search(reader, auth, read_catalog, page=1, size=3).json()
    second = search(reader, auth, read_catalog, page=2, size=3).json()
    assert (first["total"], second["total"]) == (5, 5)
    assert [i["sku"] for i in first["items"] + second["items"]] == [
        "ECO-0201",
        "ECO-0202",
        "ECO-0203",
        "ECO-0204",
        "ECO-0205",
    ]


def test_a_price_change_is_found_by_the_next_query_with_its_token(api, auth, catalog):
    changed = api.put(
        f"{API}/stock-items/ECO-0204/price",
        json={"price": {"amount": "14.50", "currency": "BRL"}},
        headers=auth("admin", "adm"),
    )
    assert changed.status_code == 200, changed.text
    body = search(api, auth, changed.json()["consistency_token"], q="bambu").json()
    assert body["items"][0]["price"] == {"amount": "14.50", "currency": "BRL"}


def test_stock_movements_show_as_availability(api, auth, catalog):
    received = api.post(
        f"{API}/stock-items/ECO-0202/receipts", json={"quantity": 5}, headers=auth("admin", "a")
    )
    assert received.status_code == 200
    body = search(api, auth, received.json()["consistency_token"], q="argila").json()
    assert body["items"][0]["available"] == 15


@pytest.mark.parametrize("role", ["customer", "admin", "auditor"])
def test_any_signed_in_role_may_search(reader, auth, read_catalog, role):
    assert search(reader, auth, read_catalog, role=role).status_code == 200


def test_anyone_may_search_the_catalog_without_a_token(reader, read_catalog):
    assert reader.get(SEARCH, params={"q": "garrafa"}).status_code == 200
    response = reader.get(SEARCH, params={"facet": "brand"})  # unknown parameter
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "params",
    [
        {"facet": "brand"},
        {"min_price": "-1"},
        {"max_price": "-0.01"},
        {"min_price": "1e3"},
        {"min_price": "20", "max_price": "10"},
        {"size": "101"},
        {"size": "0"},
        {"page": "0"},
        {"page": "200", "size": "100"},
        {"category": ["casa", "higiene"]},
    ],
)
def test_refuses_invalid_or_unknown_parameters_with_a_problem(reader, auth, params):
    response = search(reader, auth, **params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 422


def test_an_unreached_consistency_token_answers_503_with_retry_after(api, auth, container):
    container.settings.consistency_wait_s = 0.2
    response = search(api, auth, token="999999999")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"


def test_a_malformed_consistency_token_is_a_bad_request(reader, auth):
    assert search(reader, auth, token="abc").status_code == 422


# Search that forgives -------------------------------------------------------------------


def skus_of(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["sku"] for item in response.json()["items"]]


def test_finds_camiseta_organica_in_any_case_and_accent(reader, auth, read_catalog):
    assert skus_of(search(reader, auth, read_catalog, q="camiseta organica")) == ["ECO-0203"]
    assert skus_of(search(reader, auth, read_catalog, q="CAMISETA")) == ["ECO-0203"]


def test_filters_by_category_and_certification_regardless_of_case_and_accents(
    reader, auth, read_catalog
):
    vestuario = search(reader, auth, read_catalog, category="vestuario")
    assert skus_of(vestuario) == ["ECO-0203", "ECO-0205"]
    assert vestuario.json()["facets"]["category"] == {"vestuário": 1, "Vestuário": 1}
    assert skus_of(search(reader, auth, read_catalog, certification="vegano")) == ["ECO-0205"]


def test_sorts_by_price_and_counts_price_ranges(reader, auth, read_catalog):
    cheapest = search(reader, auth, read_catalog, sort="price_asc")
    assert skus_of(cheapest) == ["ECO-0204", "ECO-0202", "ECO-0201", "ECO-0203", "ECO-0205"]
    assert cheapest.json()["facets"]["price"] == {"-25": 2, "25-50": 1, "50-100": 1, "100-200": 1}
    dearest = search(reader, auth, read_catalog, sort="price_desc", q="orgânica")
    assert skus_of(dearest) == ["ECO-0203", "ECO-0201"]


def test_in_stock_leaves_out_a_product_whose_units_ran_out(api, auth, catalog):
    adjusted = api.post(
        f"{API}/stock-items/ECO-0202/adjustments",
        json={"quantity_delta": -10, "reason": "avaria"},
        headers=auth("admin", "adm"),
    )
    assert adjusted.status_code == 200, adjusted.text
    token = adjusted.json()["consistency_token"]
    found = search(api, auth, token, in_stock="true")
    assert "ECO-0202" not in skus_of(found)
    sabonete = search(api, auth, token, q="sabonete").json()["items"][0]
    assert (sabonete["available"], sabonete["in_stock"]) == (0, False)


def test_suggests_while_typing_forgiving_one_typo(reader, auth, read_catalog):
    search(reader, auth, read_catalog)  # caught up
    for typed in ("camis", "CAMISETA", "camisteta"):
        response = reader.get(f"{API}/products/suggest", params={"q": typed})
        assert response.status_code == 200, response.text
        assert response.json() == {
            "items": [{"sku": "ECO-0203", "name": "Camiseta de Algodão Orgânica"}]
        }
        assert response.headers["cache-control"].startswith("public")
    assert reader.get(f"{API}/products/suggest", params={"q": "bicicleta"}).json() == {"items": []}


def test_the_search_cache_keys_sort_and_in_stock(reader, auth, read_catalog):
    """Anonymous answers come from the cache: another sort or `in_stock` is another key."""
    search(reader, auth, read_catalog)  # caught up
    asc = reader.get(SEARCH, params={"sort": "price_asc"})
    desc = reader.get(SEARCH, params={"sort": "price_desc"})
    assert skus_of(desc) == skus_of(asc)[::-1]
    assert skus_of(reader.get(SEARCH, params={"sort": "price_asc"})) == skus_of(asc)
    all_items = reader.get(SEARCH, params={"category": "Vestuário"})
    folded = reader.get(SEARCH, params={"category": "VESTUARIO"})
    assert skus_of(folded) == skus_of(all_items) == ["ECO-0203", "ECO-0205"]


def test_an_unknown_sort_is_refused_naming_the_allowed_ones(reader):
    response = reader.get(SEARCH, params={"sort": "cheapest"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "relevance, price_asc, price_desc, newest, rating, footprint, score" in response.text


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (SEARCH, {"q": "camiseta " * 30}),  # longer than 200
        (SEARCH, {"max_price": "123456789"}),  # beyond any price
        (SEARCH, {"min_price": "100", "max_price": "10"}),
        (SEARCH, {"in_stock": "sometimes"}),
        (SEARCH, {"sort": ["price_asc", "newest"]}),
        (f"{API}/products/suggest", {}),  # nothing typed
        (f"{API}/products/suggest", {"q": ""}),
        (f"{API}/products/suggest", {"q": "c" * 51}),
        (f"{API}/products/suggest", {"q": "cam", "size": "21"}),
        (f"{API}/products/suggest", {"q": "cam", "limit": "3"}),  # unknown parameter
    ],
)
def test_refuses_bad_search_and_suggest_input_with_a_problem(reader, path, params):
    response = reader.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
