"""The edge's limits and hygiene through the real app and servers: per-client rate limits,
the body size limit (also for chunked bodies), JSON-only commands, CORS, security headers,
and RFC 9457 problems for every kind of error, never a stack trace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.errors import KINDS, PROBLEM_BASE
from infrastructure.bootstrap import Container
from tests.e2e.conftest import PRODUCT

API = "/api/v1"
SKU_URL = f"{API}/stock-items/{PRODUCT['sku']}"
MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(container: Container) -> Iterator[MakeClient]:
    """A client of a new app over the same container, with some settings changed."""
    clients: list[TestClient] = []

    def make(base_url: str = "http://testserver", **settings: object) -> TestClient:
        for name, value in settings.items():
            setattr(container.settings, name, value)
        client = TestClient(create_app(container), base_url, raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def assert_problem(response, status: int, kind: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"].removeprefix(PROBLEM_BASE) in KINDS  # a stable, documented kind
    assert {"type", "title", "status", "detail"} <= body.keys()
    if kind is not None:
        assert body["type"] == PROBLEM_BASE + kind
    assert "Traceback" not in response.text
    return body


# Rate limits -----------------------------------------------------------------------------


def test_a_client_over_its_budget_gets_429_with_retry_after(make_client, auth, product):
    client = make_client(ratelimit_reads_per_minute=3)
    for _ in range(3):
        response = client.get(SKU_URL, headers=auth())
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"] == "3"
    refused = client.get(SKU_URL, headers=auth())
    assert_problem(refused, 429, "rate-limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 20
    assert refused.headers["ratelimit-remaining"] == "0"


def test_orders_are_limited_more_strictly_than_catalog_reads(make_client, auth, product):
    client = make_client(ratelimit_orders_per_minute=2, ratelimit_reads_per_minute=10)
    cancel = f"{API}/orders/00000000-0000-0000-0000-000000000001/cancel"
    for _ in range(2):
        assert client.post(cancel, json={}, headers=auth()).status_code == 404
    assert_problem(client.post(cancel, json={}, headers=auth()), 429)
    checkout = f"{API}/carts/00000000-0000-0000-0000-000000000001/checkout"
    assert client.post(checkout, json={}, headers=auth()).status_code == 429
    for _ in range(5):
        assert client.get(SKU_URL, headers=auth()).status_code == 200


def test_each_subject_has_its_own_budget(make_client, auth, product):
    client = make_client(ratelimit_reads_per_minute=2)
    for _ in range(2):
        client.get(SKU_URL, headers=auth(sub="ana"))
    assert client.get(SKU_URL, headers=auth(sub="ana")).status_code == 429
    assert client.get(SKU_URL, headers=auth(sub="bruno")).status_code == 200


def test_without_a_valid_token_the_client_is_its_address(make_client, auth, product):
    client = make_client(ratelimit_default_per_minute=2)
    orders = f"{API}/orders"  # needs a token (a product is public to read)
    assert client.get(orders).status_code == 401
    assert client.get(orders, headers={"Authorization": "Bearer forged"}).status_code == 401
    assert_problem(client.get(orders), 429)
    assert client.get(orders, headers=auth()).status_code == 200


def test_a_spent_budget_refills_with_time(make_client, auth, product):
    client = make_client(ratelimit_reads_per_minute=60)  # a token a second
    for _ in range(200):
        refused = client.get(SKU_URL, headers=auth())
        if refused.status_code == 429:
            break
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    time.sleep(1.1)
    assert client.get(SKU_URL, headers=auth()).status_code == 200


def test_probes_metrics_and_docs_are_not_rate_limited(make_client, auth):
    client = make_client(ratelimit_default_per_minute=1, ratelimit_reads_per_minute=1)
    for path in ("/health", f"{API}/health", "/metrics", f"{API}/metrics", "/docs") * 3:
        assert client.get(path, headers=auth("admin", "ops")).status_code == 200, path


def test_rate_limits_can_be_switched_off(make_client, auth, product):
    client = make_client(ratelimit_enabled=False, ratelimit_reads_per_minute=1)
    for _ in range(5):
        response = client.get(SKU_URL, headers=auth())
        assert response.status_code == 200
        assert "ratelimit-limit" not in response.headers


# Bodies ------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413(make_client, auth):
    client = make_client(max_body_bytes=1024)
    big = {**PRODUCT, "description": "x" * 2000}
    response = client.post(f"{API}/stock-items", json=big, headers=auth("admin"))
    assert_problem(response, 413, "payload-too-large")
    assert client.app.state.container.head_position() == 0


def test_a_body_without_content_length_over_the_limit_is_413(make_client, auth):
    client = make_client(max_body_bytes=1024)

    def chunks() -> Iterator[bytes]:
        yield b'{"sku": "ECO-0100", "description": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}'

    response = client.post(
        f"{API}/stock-items",
        content=chunks(),
        headers={**auth("admin"), "Content-Type": "application/json"},
    )
    assert_problem(response, 413)


def test_a_chunked_body_is_cut_off_at_the_limit_without_being_read_whole(container):
    container.settings.max_body_bytes = 1024
    app = create_app(container)
    chunks = [b"{" + b" " * 511] * 10
    served: list[int] = []
    sent: list[dict] = []

    async def receive() -> dict:
        served.append(1)
        return {"type": "http.request", "body": chunks[len(served) - 1], "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{API}/carts",
        "raw_path": f"{API}/carts".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert len(served) == 3  # 512 + 512 + 512 > 1024: the rest was never read


def test_a_command_body_that_is_not_json_is_415(client, auth):
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = auth() if content_type is None else {**auth(), "Content-Type": content_type}
        response = client.post(f"{API}/carts", content=b"{}", headers=headers)
        assert_problem(response, 415, "unsupported-media-type")
    assert client.app.state.container.head_position() == 0


def test_json_media_types_with_parameters_are_accepted(client, auth):
    headers = {**auth(), "Content-Type": "application/json; charset=utf-8"}
    assert client.post(f"{API}/carts", content=b"{}", headers=headers).status_code == 201
    assert client.post(f"{API}/carts", headers=auth()).status_code == 201  # no body at all


def test_malformed_json_is_a_422_problem_not_a_500(client, auth):
    for content in (b'{"sku": ', b"\xff\xfe", b"[1, 2", b"nul"):
        response = client.post(
            f"{API}/stock-items",
            content=content,
            headers={**auth("admin"), "Content-Type": "application/json"},
        )
        assert_problem(response, 422, "malformed-json")


# Problems everywhere -----------------------------------------------------------------------


def test_every_kind_of_error_is_a_problem_with_its_own_type(client, auth, product):
    assert_problem(client.get(f"{API}/orders"), 401, "unauthorized")
    assert_problem(client.post(f"{API}/stock-items", json=PRODUCT, headers=auth()), 403)
    assert_problem(client.get(f"{API}/stock-items/ECO-4040", headers=auth()), 404, "not-found")
    assert_problem(client.get(f"{API}/no-such-thing", headers=auth()), 404, "not-found")
    assert_problem(
        client.post(f"{API}/stock-items", json=PRODUCT, headers=auth("admin")),
        409,
        "already-exists",
    )
    stale = client.post(
        f"{SKU_URL}/receipts", json={"quantity": 1}, headers={**auth("admin"), "If-Match": '"9"'}
    )
    assert_problem(stale, 409, "version-conflict")
    assert_problem(client.post(f"{API}/carts", json={"x": 1}, headers=auth()), 422)
    not_allowed = client.delete(SKU_URL, headers=auth("admin"))
    assert_problem(not_allowed, 405, "method-not-allowed")
    assert "GET" in not_allowed.headers["allow"]


def test_an_unexpected_error_is_a_500_problem_without_details(client, auth, monkeypatch):
    def explode(*_: object) -> None:
        raise RuntimeError("secret detail 4242424242424242")

    monkeypatch.setattr(client.app.state.container.services.checkout, "create_cart", explode)
    response = client.post(f"{API}/carts", json={}, headers={**auth(), "X-Correlation-ID": "c-1"})
    body = assert_problem(response, 500, "internal-error")
    assert "secret" not in response.text
    assert "RuntimeError" not in response.text
    assert body["correlation_id"] == "c-1"
    assert response.headers["x-content-type-options"] == "nosniff"


# CORS and security headers ----------------------------------------------------------------


def test_cors_answers_allowed_origins_only(make_client, auth, product):
    client = make_client(cors_origins=["https://loja.example"])
    preflight = client.options(
        SKU_URL,
        headers={
            "Origin": "https://loja.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, idempotency-key, if-match",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://loja.example"
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "idempotency-key", "if-match"} <= set(allowed.split(", "))
    simple = client.get(SKU_URL, headers={**auth(), "Origin": "https://loja.example"})
    assert simple.headers["access-control-allow-origin"] == "https://loja.example"
    assert "etag" in simple.headers["access-control-expose-headers"].lower()
    other = client.get(SKU_URL, headers={**auth(), "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    refused = client.options(
        SKU_URL,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in refused.headers
    assert_problem(refused, 400, "cors-refused")


def test_no_origin_is_allowed_by_default(client, auth, product):
    response = client.get(SKU_URL, headers={**auth(), "Origin": "https://loja.example"})
    assert "access-control-allow-origin" not in response.headers


def test_every_answer_carries_the_security_headers(client, auth, product):
    for response in (
        client.get(SKU_URL, headers=auth()),
        client.get(SKU_URL),
        client.get("/health"),
        client.get(f"{API}/nowhere"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "strict-transport-security" not in response.headers


def test_the_docs_page_loads_swagger_ui_from_the_app_only(client):
    response = client.get("/docs")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "https:" not in csp  # no CDN: the assets are the app's (api/http/docs_offline.py)
    assert "'unsafe-inline'" not in csp
    assert "swagger-ui" in response.text
    assert "cdn.jsdelivr.net" not in response.text
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_https_answers_carry_strict_transport_security(make_client):
    client = make_client(base_url="https://testserver")
    response = client.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")
