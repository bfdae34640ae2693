# ruff: noqa: F811  (the fixtures `api` and `catalog` are test_http_search's)
"""HTTP caching of the public catalog: strong ETags, `If-None-Match` answered per RFC 9110
(304 with no body, never a 5xx), `Cache-Control` public for anonymous catalog answers and
`private, no-store` for everything else, and the search-results cache that no spelling of a
query can poison."""

from __future__ import annotations

import re
import unicodedata

import pytest
from fastapi.routing import iter_route_contexts
from prometheus_client.parser import text_string_to_metric_families

from api.http.auth import issue_token
from tests.conftest import JWT_SECRET
from tests.e2e.test_http_search import api, catalog, search_store  # noqa: F401

API = "/api/v1"
SEARCH = f"{API}/products/search"
PRODUCT_CACHE = "public, max-age=1800, stale-while-revalidate=60"
SEARCH_CACHE = "public, max-age=300, stale-while-revalidate=60"
ITEM = f"{API}/stock-items/ECO-0201"


def test_an_anonymous_product_read_is_public_and_tagged_with_its_version(api, catalog):
    response = api.get(ITEM)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{response.json()["version"]}"'
    assert response.headers["cache-control"] == PRODUCT_CACHE
    assert "Authorization" in response.headers["vary"]


def test_a_signed_in_product_read_is_private(api, auth, catalog):
    response = api.get(ITEM, headers=auth())
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize(
    "if_none_match",
    ['"1"', 'W/"1"', "*", '"0", "1"', '"x",W/"1" , "y"', " * "],
)
def test_if_none_match_naming_the_current_version_is_a_304_without_body(
    api, catalog, if_none_match
):
    response = api.get(ITEM, headers={"If-None-Match": if_none_match})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == '"1"'
    assert response.headers["cache-control"] == PRODUCT_CACHE


@pytest.mark.parametrize(
    "if_none_match",
    [
        '"2"',
        "1",  # not an entity-tag
        '"1',
        "garbage, \x7f",
        "W/",
        ", ".join(f'"{n}"' for n in range(2, 3000)),
        '"' + "9" * 20000 + '"',
        '"0" "1"',  # no comma: not a list
    ],
)
def test_other_or_malformed_if_none_match_gets_the_full_answer(api, catalog, if_none_match):
    response = api.get(ITEM, headers={"If-None-Match": if_none_match})
    assert response.status_code == 200, response.text
    assert response.json()["sku"] == "ECO-0201"


def test_after_a_change_the_old_etag_gets_the_new_document(api, auth, catalog):
    old = api.get(ITEM).headers["etag"]
    received = api.post(f"{ITEM}/receipts", json={"quantity": 3}, headers=auth("admin", "adm"))
    token = received.json()["consistency_token"]
    response = api.get(ITEM, headers={"If-None-Match": old, "X-Consistency-Token": token})
    assert response.status_code == 200
    assert response.json()["on_hand"] == 13
    assert response.headers["etag"] != old


def test_search_answers_are_tagged_by_content_and_answer_304(api, catalog):
    first = api.get(SEARCH, params={"q": "café"}, headers={"X-Consistency-Token": catalog})
    assert first.status_code == 200
    assert first.headers["cache-control"] == SEARCH_CACHE
    again = api.get(SEARCH, params={"q": "café"}, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


def lookups(api) -> dict[str, float]:
    admin = {"Authorization": f"Bearer {issue_token(JWT_SECRET, 'ops', 'admin', 600)}"}
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(api.get("/metrics", headers=admin).text):
        for sample in family.samples:
            if sample.name == "ecovarejo_search_cache_lookups_total":
                found[sample.labels["result"]] = sample.value
            if sample.name == "ecovarejo_search_cache_hit_ratio":
                found["ratio"] = sample.value
    return found


def test_spellings_of_one_query_share_one_cache_entry(api, auth, catalog):
    api.get(SEARCH, params={"q": "x"}, headers={"X-Consistency-Token": catalog})  # caught up
    before = lookups(api)
    nfd = unicodedata.normalize("NFD", "  CAFÉ   Orgânico ")
    spellings = [
        f"{SEARCH}?q=caf%C3%A9+org%C3%A2nico&min_price=10&max_price=50",
        f"{SEARCH}?max_price=50.00&min_price=010.0&q={nfd}",
        f"{SEARCH}?min_price=10.00&q=Caf%C3%A9%20ORG%C3%82NICO&max_price=50&page=1&size=20",
    ]
    bodies = [api.get(url) for url in spellings]
    assert {b.status_code for b in bodies} == {200}
    assert len({b.content for b in bodies}) == 1
    assert [i["sku"] for i in bodies[0].json()["items"]] == ["ECO-0201"]
    after = lookups(api)
    assert after["miss"] - before.get("miss", 0) == 1
    assert after["hit"] - before.get("hit", 0) == 2
    assert 0 < after["ratio"] <= 1
    uncached = api.get(spellings[1], headers=auth())  # signed in: never from the cache
    assert uncached.content == bodies[0].content


def test_a_case_sensitive_filter_is_not_answered_from_another_cases_entry(api, auth, catalog):
    """Categories match exactly: `Higiene` must not be served `higiene`'s cached answer."""
    token = {"X-Consistency-Token": catalog}
    lower = api.get(SEARCH, params={"category": "higiene"}, headers=token).json()
    assert lower["total"] == 2
    upper = api.get(SEARCH, params={"category": "Higiene"}).json()
    signed_in = api.get(SEARCH, params={"category": "Higiene"}, headers=auth()).json()
    assert upper == signed_in  # whatever the store finds for it, not the other entry


STOREFRONT_PAGE = "public, max-age=300, stale-while-revalidate=60"
STOREFRONT_LEGAL = "public, max-age=3600, stale-while-revalidate=3600"


def test_every_route_has_its_caching_headers(api, catalog):
    """The table: the public catalog reads (the console's stylesheet, our JWKS) are `public` to
    anonymous callers; every other route and method answers `no-store`."""
    public = {
        ("GET", f"{API}/stock-items/{{sku}}"): PRODUCT_CACHE,
        ("GET", SEARCH): SEARCH_CACHE,
        ("GET", "/console/static/console.css"): "public, max-age=3600",  # a static asset
        # our public signing keys: verifiers may keep them a while (rotation keeps old keys)
        ("GET", "/.well-known/jwks.json"): "public, max-age=300",
        # the sandbox provider's SDK and its stylesheet (sandbox mode only), as a provider's
        ("GET", "/sandbox-provider/v1/sandbox.js"): "public, max-age=300",
        ("GET", "/sandbox-provider/v1/sandbox.css"): "public, max-age=300",
        # the storefront's public pages: a CDN may keep them (docs/storefront.md)
        ("GET", "/"): STOREFRONT_PAGE,
        ("GET", "/loja"): STOREFRONT_PAGE,
        ("GET", "/loja/busca"): STOREFRONT_PAGE,
        ("GET", "/loja/produto/{sku}"): "public, max-age=1800, stale-while-revalidate=60",
        ("GET", "/loja/privacidade"): STOREFRONT_LEGAL,
        ("GET", "/loja/trocas-e-devolucoes"): STOREFRONT_LEGAL,
        ("GET", "/loja/offline"): "public, max-age=3600, stale-while-revalidate=86400",
        ("GET", "/loja/manifest.webmanifest"): "public, max-age=0, must-revalidate",
        ("GET", "/loja/sw.js"): "no-cache",  # a service worker is always checked for updates
        ("GET", "/sitemap.xml"): "public, max-age=3600",  # for crawlers (issue 28)
    }
    table: dict[tuple[str, str], str] = {}
    for route in iter_route_contexts(api.app.routes):
        template = route.path_format
        if template is None or not route.methods:
            continue
        path = re.sub(r"\{sku\}", "ECO-0201", template)
        path = re.sub(r"\{[a-z_]+\}", "00000000-0000-4000-8000-000000000000", path)
        for method in sorted(route.methods):
            response = api.request(method, path)
            assert response.status_code < 500, (method, template, response.text)
            table[(method, template)] = response.headers.get("cache-control", "")
    wrong = {
        key: cache_control
        for key, cache_control in table.items()
        if (cache_control != public[key] if key in public else not _private(cache_control))
    }
    assert not wrong, "\n".join(f"{k}: {v}" for k, v in wrong.items())
    assert set(public) <= set(table)


def _private(cache_control: str) -> bool:
    return "no-store" in cache_control and "public" not in cache_control
