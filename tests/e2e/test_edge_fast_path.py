# ruff: noqa: F811  (the fixtures `api`, `catalog` and `search_store` are test_http_search's)
"""The fast path (api/http/fast_path.py) answers the hot public reads exactly as the full
pipeline does (status, every header in order, body), takes only the requests it may, hands
the others on, and a request it hands on draws one rate-limit token, not two."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from tests.e2e.test_http_search import api, catalog, search_store  # noqa: F401

API = "/api/v1"
ITEM = f"{API}/stock-items/ECO-0201"
SEARCH = f"{API}/products/search"
SAME_IDS = {"X-Correlation-ID": "fast-path-test"}
VARYING = {b"x-request-id", b"ratelimit-remaining"}  # new per request; a shared budget


@pytest.fixture
def full(container, search_store) -> Iterator[TestClient]:
    """The same system with every request through the full pipeline."""
    app = create_app(container, fast_path=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def answered(client: TestClient) -> int:
    return client.app.state.fast_path.answered  # type: ignore[attr-defined]


def compare(fast: TestClient, full: TestClient, url: str, **headers: str) -> bytes:
    """Both paths' answers to one request; fails unless they are the same. The body."""
    sent = {**SAME_IDS, **headers}
    reference = full.get(url, headers=sent)
    before = answered(fast)
    got = fast.get(url, headers=sent)
    assert got.status_code == reference.status_code, (url, headers, got.text)
    assert _stable(got.headers.raw) == _stable(reference.headers.raw), (url, headers)
    assert got.content == reference.content, (url, headers)
    assert answered(fast) == before + 1, f"the fast path did not answer {url} {headers}"
    return got.content


def _stable(raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name, b"" if name in VARYING else value) for name, value in raw]


def test_the_fast_path_answers_like_the_full_pipeline(api, full, auth, catalog):
    token = {"X-Consistency-Token": catalog}
    assert full.get(SEARCH, params={"q": "café"}, headers=token).status_code == 200  # caught up
    for url in ("/health", f"{API}/health", ITEM):
        compare(api, full, url)
    compare(api, full, ITEM, **auth())  # signed in: private, no-store
    compare(api, full, ITEM, **{"Accept-Encoding": "gzip"})
    etag = api.get(ITEM).headers["etag"]
    for if_none_match in (etag, "*", f'"0", W/{etag}', "garbage", '"2"'):
        compare(api, full, ITEM, **{"If-None-Match": if_none_match})
    for query in ("q=caf%C3%A9", "q=CAF%C3%89&size=20&page=1", "in_stock=true&sort=price_asc"):
        body = compare(api, full, f"{SEARCH}?{query}")
        search_etag = api.get(f"{SEARCH}?{query}").headers["etag"]
        compare(api, full, f"{SEARCH}?{query}", **{"If-None-Match": search_etag})
        compare(api, full, f"{SEARCH}?{query}", **{"Accept-Encoding": "gzip"})
    assert b'"items"' in body


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        (f"{API}/stock-items/eco-0201", {}),  # the route refuses the SKU: 422
        (f"{API}/stock-items/ECO-9999", {}),  # not stored: 404
        (f"{ITEM}?x=1", {}),  # an unknown query parameter: 422
        (ITEM, {"Origin": "https://elsewhere.example"}),  # CORS has work to do
        (f"{SEARCH}?facet=brand", {}),
        (f"{SEARCH}?q=a&q=b", {}),  # a parameter twice
        (f"{SEARCH}?sort=nonsense", {}),  # the search refuses it: 422
        (f"{SEARCH}?size=0", {}),
        (f"{SEARCH}?q=caf%C3%A9", {"Authorization": "Bearer x"}),  # never from the cache
        ("/health?x=1", {}),
    ],
)
def test_a_request_the_fast_path_does_not_take_gets_the_full_pipelines_answer(
    api, full, catalog, url, headers
):
    sent = {**SAME_IDS, **headers}
    before = answered(api)
    got, reference = api.get(url, headers=sent), full.get(url, headers=sent)
    assert answered(api) == before
    assert got.status_code == reference.status_code
    assert got.content == reference.content
    assert _stable(got.headers.raw) == _stable(reference.headers.raw)


@pytest.mark.parametrize("correlation_id", ["bad id", "tab\there", "x" * 101])
def test_a_correlation_id_the_edge_would_replace_is_left_to_the_full_pipeline(
    api, full, catalog, correlation_id
):
    before = answered(api)
    got = api.get(ITEM, headers={"X-Correlation-ID": correlation_id})
    assert answered(api) == before
    assert (
        got.status_code == full.get(ITEM, headers={"X-Correlation-ID": correlation_id}).status_code
    )


def test_a_read_the_fast_path_hands_on_draws_one_token(container, search_store):
    container.settings.ratelimit_reads_per_minute = 2
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        missing = f"{API}/stock-items/ECO-9999"  # not stored: handed on to the route (404)
        statuses = [client.get(missing).status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
