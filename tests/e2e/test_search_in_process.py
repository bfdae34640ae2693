"""Anonymous `GET /api/v1/products/search` answered by the in-process search index, through
the real app: the same bytes the store gives a signed-in caller, and a write seen once the
staleness bound has passed. The search-results cache (which answers first when on) is off
here, so every anonymous search reaches the index."""

from __future__ import annotations

import time

import pytest

from tests.e2e import test_http_search as http_search
from tests.e2e.test_http_search import API, SEARCH

# The search tests' fixtures: the app, the supervised search projector and the catalog.
api = http_search.api
catalog = http_search.catalog
search_store = http_search.search_store


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"search_cache_enabled": False})


QUERIES = [
    {"q": "café"},
    {"q": "ORGANICA", "sort": "price_asc"},
    {"q": "camisa"},  # a synonym of camiseta
    {"q": "de"},  # a stop word alone: nothing
    {"category": "higiene"},
    {},
    {"min_price": "12", "max_price": "39.90", "size": "2", "page": "2"},
    {"certification": "vegano", "in_stock": "true", "sort": "newest"},
]


def held(api):
    """The app's in-process index, brought up to date now (as its upkeep would)."""
    memory = api.app.state.search_memory
    assert memory is not None, "the in-process index is on by default with PostgreSQL search"
    memory.index.refresh()
    return memory


def answered_in_process(api, memory, params):
    """The anonymous answer once the index answers it (its words learnt in the background:
    until then the store answers)."""
    deadline = time.monotonic() + 10
    while True:
        before = memory.metrics.answered._value.get()
        response = api.get(SEARCH, params=params)
        if memory.metrics.answered._value.get() > before or time.monotonic() > deadline:
            return response
        time.sleep(0.02)


def test_anonymous_searches_are_answered_in_process_with_the_stores_bytes(api, auth, catalog):
    signed_in = auth("customer", "c-1", **{"X-Consistency-Token": catalog})
    stored = {str(q): api.get(SEARCH, params=q, headers=signed_in) for q in QUERIES}
    memory = held(api)
    for query in QUERIES:
        before = memory.metrics.answered._value.get()
        anonymous = answered_in_process(api, memory, query)
        assert anonymous.status_code == 200, anonymous.text
        assert memory.metrics.answered._value.get() == before + 1, query
        assert anonymous.content == stored[str(query)].content, query


def test_a_write_is_served_once_the_staleness_bound_has_passed(api, auth, catalog):
    api.get(SEARCH, headers=auth("c", "c", **{"X-Consistency-Token": catalog}))  # projected
    memory = held(api)
    memory.index.max_stale_s = 0.3
    assert api.get(SEARCH, params={"q": "bambu"}).json()["items"][0]["price"]["amount"] == "12.00"
    changed = api.put(
        f"{API}/stock-items/ECO-0204/price",
        json={"price": {"amount": "14.50", "currency": "BRL"}},
        headers=auth("admin", "adm"),
    )
    token = changed.json()["consistency_token"]
    projected = api.get(
        SEARCH, params={"q": "bambu"}, headers=auth("c", "c", **{"X-Consistency-Token": token})
    )
    assert projected.json()["items"][0]["price"]["amount"] == "14.50"
    time.sleep(0.35)  # past the bound: the snapshot answers nothing until confirmed again
    assert memory.index.fresh() is None
    api.get(SEARCH, params={"q": "bambu"})  # handed on (cache or store); starts the upkeep
    deadline = time.monotonic() + 5
    while memory.index.fresh() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    before = memory.metrics.answered._value.get()
    body = api.get(SEARCH, params={"q": "bambu"}).json()
    assert memory.metrics.answered._value.get() == before + 1
    assert body["items"][0]["price"]["amount"] == "14.50"
