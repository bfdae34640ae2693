"""Trust and exposure by configuration: forwarded headers believed only from
ECOVAREJO_TRUSTED_PROXIES, /metrics and /ready's checks for operators only (an admin, the
metrics token, or the separate operations listener)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from api.http.app import create_app
from api.http.ops_server import OperationsServer, operations_app
from infrastructure.settings import Settings
from tests.e2e.test_cli import free_port
from tests.e2e.test_edge_limits import make_client  # noqa: F401  (a fixture)

API = "/api/v1"
METRICS_TOKEN = "metrics-token-for-the-scraper-0123456789"


def test_metrics_are_for_admins_and_the_metrics_token_only(make_client, auth):  # noqa: F811
    client = make_client(metrics_token=SecretStr(METRICS_TOKEN))
    for path in ("/metrics", f"{API}/metrics"):
        assert client.get(path).status_code == 401
        for role in ("customer", "auditor"):
            assert client.get(path, headers=auth(role, "x")).status_code == 403
        assert client.get(path, headers=auth("admin", "ops")).status_code == 200
        scraper = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        assert client.get(path, headers=scraper).status_code == 200
        wrong = {"Authorization": f"Bearer {METRICS_TOKEN}x"}
        assert client.get(path, headers=wrong).status_code == 401
    for path in ("/ready", f"{API}/ready"):
        assert "checks" not in client.get(path).json()
        assert "checks" in client.get(path, headers=scraper).json()


def test_without_a_metrics_token_only_admins_read_metrics(make_client, auth):  # noqa: F811
    client = make_client(metrics_token=None)
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer None"}).status_code == 401
    assert client.get("/metrics", headers=auth("admin", "ops")).status_code == 200


def test_the_operations_listener_serves_metrics_and_ready_without_a_token_and_nothing_else(
    container,
):
    main = create_app(container)
    with TestClient(operations_app(main)) as ops:
        assert ops.get("/metrics").status_code == 200
        assert "ecovarejo_http_requests" in ops.get("/metrics").text
        assert "checks" in ops.get("/ready").json()
        assert ops.get(f"{API}/stock-items/ECO-0100").status_code == 404
        assert ops.get(f"{API}/openapi.json").status_code == 404
    port = free_port()
    server = OperationsServer(main, f"127.0.0.1:{port}").start()
    try:
        for _ in range(100):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
    finally:
        server.stop()
    assert not server.thread.is_alive()


def anonymous_from(make, peer: str, **settings: object) -> TestClient:
    client = make(**settings)
    return TestClient(client.app, raise_server_exceptions=False, client=(peer, 40000))


def test_forwarded_for_is_ignored_by_default(make_client):  # noqa: F811
    client = anonymous_from(make_client, "127.0.0.1", ratelimit_default_per_minute=1)
    with client:
        first = client.get(f"{API}/orders", headers={"X-Forwarded-For": "198.51.100.1"})
        again = client.get(f"{API}/orders", headers={"X-Forwarded-For": "198.51.100.2"})
    assert first.status_code == 401
    assert again.status_code == 429  # one client (the peer), whatever it claims to forward


def test_forwarded_for_is_read_from_trusted_proxies_only(make_client):  # noqa: F811
    settings = {"ratelimit_default_per_minute": 1, "trusted_proxies": "10.0.0.0/8, ::1"}
    proxied = anonymous_from(make_client, "10.1.2.3", **settings)
    with proxied:
        # Each distinct client behind the proxy has its own budget; a client cannot pick
        # its address by prepending one (the rightmost untrusted hop counts).
        for client_ip in ("198.51.100.1", "198.51.100.2"):
            hop = {"X-Forwarded-For": f"{client_ip}, 10.0.0.9"}
            assert proxied.get(f"{API}/orders", headers=hop).status_code == 401
        spoof = {"X-Forwarded-For": "203.0.113.77, 198.51.100.1, 10.0.0.9"}
        assert proxied.get(f"{API}/orders", headers=spoof).status_code == 429
    direct = anonymous_from(make_client, "192.0.2.50", **settings)
    with direct:
        assert (
            direct.get(f"{API}/orders", headers={"X-Forwarded-For": "1.1.1.1"}).status_code == 401
        )
        again = direct.get(f"{API}/orders", headers={"X-Forwarded-For": "1.1.1.2"})
        assert again.status_code == 429


@pytest.mark.parametrize("value", ["nonsense", "10.0.0.0/40", "1.2.3.4,,x"])
def test_a_bad_trusted_proxies_setting_is_refused_at_start(value):
    with pytest.raises(ValidationError, match=r"does not appear|network"):
        Settings(ECOVAREJO_TRUSTED_PROXIES=value)


def test_auditors_see_personal_fields_masked_unless_they_hold_the_pii_scope(
    client, auth, product, caplog
):
    from api.http.auth import issue_token
    from tests.conftest import JWT_SECRET
    from tests.e2e.test_edge_observability import ADDRESS, place_order

    order_id = place_order(client, auth, "4242424242424242")
    path = f"{API}/audit/aggregates/{order_id}/events"

    def address_seen(scopes: tuple[str, ...]) -> dict:
        token = issue_token(JWT_SECRET, "aud-1", "auditor", 600, scopes)
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        placed = next(e for e in response.json() if e["type"] == "Order.Placed")
        return placed["data"]["shipping_address"]

    with caplog.at_level("INFO", logger="ecovarejo.disclosure"):
        masked = address_seen(())
        assert masked["masked"] is True
        assert masked["line1"] == masked["city"] == masked["postal_code"] == "***"
        assert masked["state"] == ADDRESS["state"]
        assert ADDRESS["line1"] not in str(masked)
        assert [r for r in caplog.records if r.name == "ecovarejo.disclosure"] == []
        assert address_seen(("other",))["masked"] is True
        revealed = address_seen(("auditor:pii",))
    assert revealed["line1"] == ADDRESS["line1"]
    [record] = [r for r in caplog.records if r.name == "ecovarejo.disclosure"]
    assert record.actor == "auditor:aud-1"
    assert record.aggregate_id == order_id


def test_compose_prometheus_scrapes_the_operations_listener():
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    bind = compose["services"]["api"]["environment"]["ECOVAREJO_METRICS_BIND"]
    prometheus = yaml.safe_load((root / "ops/prometheus/prometheus.yml").read_text())
    [job] = [j for j in prometheus["scrape_configs"] if j["job_name"] == "ecovarejo-api"]
    assert job["static_configs"][0]["targets"] == [f"api:{bind.rpartition(':')[2]}"]
    assert Settings(ECOVAREJO_METRICS_BIND=bind).metrics_bind == bind


def test_405_and_options_answer_the_true_allow_list(client, auth):
    def allow(response) -> set[str]:
        return {m.strip() for m in response.headers["allow"].split(",")}

    path = f"{API}/customers/ana/personal-data"
    refused = client.put(path, json={}, headers=auth("admin", "adm"))
    assert refused.status_code == 405
    assert refused.headers["content-type"] == "application/problem+json"
    assert {"GET", "HEAD", "DELETE", "OPTIONS"} <= allow(refused)
    assert "PUT" not in allow(refused)
    options = client.options(path)
    assert options.status_code == 204
    assert allow(options) == allow(refused)
    item = f"{API}/carts/{uuid.uuid4()}/items/ECO-1"
    assert allow(client.options(item)) == {"PUT", "DELETE", "OPTIONS"}
    assert allow(client.get(item, headers=auth())) == {"PUT", "DELETE", "OPTIONS"}
    assert client.options(f"{API}/nowhere").status_code == 404
