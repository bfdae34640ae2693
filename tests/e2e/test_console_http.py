"""The console over HTTP, without a browser: sign-in, CSRF, headers, and bad input rendered
as pages with the API's status codes."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient

from api.console.web import CONSOLE_CSP, CSRF_COOKIE, SESSION_COOKIE
from api.http.auth import issue_token
from tests.checkout import place_order, register, settled, wait_until
from tests.conftest import JWT_SECRET


def csrf_of(client: TestClient, path: str = "/console/login") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in(
    client: TestClient, role: str, sub: str | None = None, scopes: tuple[str, ...] = ()
) -> None:
    token = issue_token(JWT_SECRET, sub or f"{role}-1", role, 600, scopes)  # type: ignore[arg-type]
    response = client.post(
        "/console/login",
        data={"csrf": csrf_of(client), "token": token, "next": "/console"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert token not in response.headers["location"]


def test_a_stranger_is_sent_to_the_sign_in_page_and_the_page_has_the_console_headers(client):
    response = client.get("/console/orders", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Forders"
    page = client.get("/console/login")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONSOLE_CSP
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"]
    assert CSRF_COOKIE in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie


def test_signing_in_sets_an_http_only_strict_cookie_and_a_bad_token_is_a_401_page(client):
    token = issue_token(JWT_SECRET, "adm", "admin", 600)
    response = client.post(
        "/console/login",
        data={"csrf": csrf_of(client), "token": token},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    bad = client.post("/console/login", data={"csrf": csrf_of(client), "token": "nope"})
    assert bad.status_code == 401
    assert "invalid token" in bad.text


def test_a_forged_form_post_is_a_403_page_and_changes_nothing(client, container):
    sign_in(client, "admin")
    before = container.head_position()
    forged = client.post("/console/lgpd/erase", data={"customer_id": "c1", "confirm": "yes"})
    assert forged.status_code == 403
    assert forged.headers["content-type"].startswith("text/html")
    assert "CSRF" in forged.text
    wrong = client.post(
        "/console/lgpd/erase", data={"customer_id": "c1", "confirm": "yes", "csrf": "x" * 43}
    )
    assert wrong.status_code == 403
    as_json = client.post("/console/lgpd/erase", json={"customer_id": "c1"})
    assert as_json.status_code == 415
    assert container.head_position() == before


def test_bad_input_gets_the_apis_status_codes_as_pages(client, container):
    register(container.services, "ECO-1", 5)
    order_id = place_order(container.services, {"ECO-1": 1}, customer="ana")
    wait_until(lambda: settled(container.services))
    assert container.wait_for_projections(container.head_position())
    sign_in(client, "customer", "bruno")
    assert client.get(f"/console/orders/{order_id}").status_code == 404  # not yours
    assert client.get(f"/console/orders/{uuid.uuid4()}").status_code == 404
    page = client.get("/console/orders?customer_id=ana")
    assert page.status_code == 403
    assert "customers see only their own orders" in page.text
    assert client.get("/console/orders/not-a-uuid").status_code == 422
    assert client.get("/console/orders?status=lost").status_code == 422
    assert client.get("/console/analytics").status_code == 403
    sign_in(client, "auditor")
    assert client.get("/console/audit/history?aggregate_id=" + str(uuid.uuid4())).status_code == 404
    history = client.get(f"/console/audit/history?aggregate_id={order_id}&version=99")
    assert history.status_code == 422
    assert client.get("/console/audit/history?aggregate_id=x&as_of=yesterday").status_code == 422
    assert client.get("/console/events/999999.json").status_code == 404
    # The API itself still answers problem+json.
    assert client.get("/api/v1/orders/x").headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("role", "allowed", "forbidden"),
    [
        (
            "admin",
            ["/console/orders", "/console/read-side", "/console/analytics", "/console/lgpd"],
            ["/console/audit"],
        ),
        (
            "auditor",
            ["/console/audit", "/console/lgpd"],
            [
                "/console/orders",
                "/console/read-side",
                "/console/analytics",
                "/console/lgpd/export?customer_id=ana",
            ],
        ),
        (
            "customer",
            ["/console/orders"],
            ["/console/audit", "/console/read-side", "/console/analytics", "/console/lgpd"],
        ),
    ],
)
def test_each_role_opens_its_pages_and_gets_403_on_the_others(client, role, allowed, forbidden):
    sign_in(client, role)
    for path in allowed:
        assert client.get(path).status_code == 200, path
    for path in forbidden:
        assert client.get(path).status_code == 403, path


def test_the_dev_login_exists_only_on_the_embedded_default(client):
    page = client.get("/console/login")
    assert "dev-admin" not in page.text
    response = client.post("/console/dev-login", data={"csrf": csrf_of(client), "role": "admin"})
    assert response.status_code == 404


PUBLIC = frozenset({"stranger", "customer", "admin", "auditor"})
CONSOLE_MATRIX: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/console"): PUBLIC,
    ("GET", "/console/login"): PUBLIC,
    ("POST", "/console/login"): PUBLIC,
    ("POST", "/console/dev-login"): PUBLIC,
    ("POST", "/console/logout"): PUBLIC,
    ("GET", "/console/set-password"): PUBLIC,
    ("POST", "/console/set-password"): PUBLIC,
    ("GET", "/console/static/console.css"): PUBLIC,
    ("GET", "/console/orders"): frozenset({"customer", "admin"}),
    ("GET", "/console/orders/{order_id}"): frozenset({"customer", "admin", "auditor"}),
    ("GET", "/console/events/{position}.json"): frozenset({"admin", "auditor"}),
    ("GET", "/console/jobs/{job_id}"): frozenset({"admin", "auditor"}),
    ("GET", "/console/audit"): frozenset({"auditor"}),
    ("POST", "/console/audit/verify"): frozenset({"auditor"}),
    ("GET", "/console/audit/history"): frozenset({"auditor"}),
    ("GET", "/console/read-side"): frozenset({"admin"}),
    ("POST", "/console/read-side/{name}/parked/{position}/retry"): frozenset({"admin"}),
    ("POST", "/console/read-side/{name}/rebuild"): frozenset({"admin"}),
    ("GET", "/console/analytics"): frozenset({"admin"}),
    ("GET", "/console/lgpd"): frozenset({"admin", "auditor"}),
    ("GET", "/console/lgpd/export"): frozenset({"admin"}),
    ("POST", "/console/lgpd/erase"): frozenset({"admin"}),
    # the back office (issue 26): admins only
    **{
        (method, f"/console{path}"): frozenset({"admin"})
        for method, path in (
            ("GET", "/products"),
            ("GET", "/products/new"),
            ("POST", "/products"),
            ("GET", "/products/{sku}"),
            ("POST", "/products/{sku}/edit"),
            ("POST", "/products/{sku}/price"),
            ("POST", "/products/{sku}/receive"),
            ("POST", "/products/{sku}/adjust"),
            ("POST", "/products/{sku}/archive"),
            ("GET", "/catalog/import"),
            ("POST", "/catalog/import"),
            ("GET", "/catalog/export.csv"),
            ("GET", "/catalog/export.jsonl"),
            ("GET", "/returns"),
            ("POST", "/returns/{return_id}/approve"),
            ("POST", "/returns/{return_id}/reject"),
            ("POST", "/returns/{return_id}/receive"),
            ("GET", "/payments"),
            ("GET", "/webhooks"),
            ("GET", "/customers"),
            ("GET", "/promotions"),
            ("POST", "/promotions"),
            ("POST", "/promotions/{code}/deactivate"),
            ("GET", "/shipping"),
            ("POST", "/shipping"),
            ("POST", "/orders/{order_id}/ship"),
            ("POST", "/orders/{order_id}/cancel"),
            # money (issue 29)
            ("GET", "/disputes"),
            ("GET", "/reconciliation"),
            ("POST", "/reconciliation"),
            ("GET", "/reviews"),  # issue 28
            ("POST", "/reviews/{review_id}/approve"),
            ("POST", "/reviews/{review_id}/reject"),
        )
    },
}
FILL = {"order_id": str(uuid.UUID(int=7)), "position": "1", "job_id": "0" * 32, "name": "nope"}
FILL |= {"sku": "NOPE-1", "return_id": str(uuid.UUID(int=8)), "code": "NOPE"}  # issue 26
FILL |= {"review_id": str(uuid.UUID(int=9))}  # issue 28


def console_routes(app) -> list[tuple[str, str]]:
    from fastapi.routing import iter_route_contexts

    return sorted(
        (method, route.path_format)
        for route in iter_route_contexts(app.routes)
        if route.path_format.startswith("/console")
        for method in route.methods or ()
        if method != "HEAD"
    )


def test_every_console_route_answers_each_role_as_its_matrix_says(client):
    routes = console_routes(client.app)
    assert set(routes) == set(CONSOLE_MATRIX), "a console route without a matrix entry"
    wrong = []
    for who in ("stranger", "customer", "admin", "auditor"):
        client.cookies.clear()
        if who != "stranger":
            sign_in(client, who)
        csrf = csrf_of(client)
        for method, template in routes:
            path = re.sub(r"\{(\w+)\}", lambda m: FILL[m.group(1)], template)
            data = {"csrf": csrf} if method == "POST" else None
            if template.endswith("/login") and method == "POST":
                continue  # signing in again would change who we are
            if template.endswith("/logout"):
                continue
            response = client.request(method, path, data=data, follow_redirects=False)
            to_login = response.status_code == 303 and response.headers["location"].startswith(
                "/console/login"
            )
            if who == "stranger" and CONSOLE_MATRIX[(method, template)] != PUBLIC:
                seen = "sign-in" if to_login else str(response.status_code)
                want = "sign-in"
            else:
                seen = "403" if response.status_code == 403 else "allowed"
                want = "allowed" if who in CONSOLE_MATRIX[(method, template)] else "403"
                if to_login and template != "/console":
                    seen = "sign-in"
            if seen != want:
                wrong.append(f"{method} {template} as {who}: {response.status_code}")
            if response.status_code in (401, 403, 404, 422):
                assert response.headers["content-type"].startswith("text/html")
    assert wrong == []


def test_an_admin_exports_and_erases_a_subject_and_an_auditor_sees_no_such_forms(client, container):
    register(container.services, "ECO-1", 5)
    place_order(container.services, {"ECO-1": 1}, customer="ana")
    wait_until(lambda: settled(container.services))
    sign_in(client, "admin")
    exported = client.get("/console/lgpd/export?customer_id=ana")
    assert exported.status_code == 200
    assert 'id="export-json"' in exported.text
    assert "Rua das Flores 10" in exported.text  # her address, decrypted for the admin
    erased = client.post(
        "/console/lgpd/erase", data={"csrf": csrf_of(client), "customer_id": "ana"}
    )
    assert erased.status_code == 422  # the confirmation box was not ticked
    erased = client.post(
        "/console/lgpd/erase",
        data={"csrf": csrf_of(client), "customer_id": "ana", "confirm": "yes"},
    )
    assert erased.status_code == 200
    assert 'id="erasure"' in erased.text
    again = client.get("/console/lgpd/export?customer_id=ana")
    assert "Rua das Flores 10" not in again.text
    register_page = client.get("/console/lgpd").text
    assert register_page.count('class="lgpd-request') >= 3  # two exports and the erasure
    assert "<td>ana</td>" in register_page
    sign_in(client, "auditor")
    page = client.get("/console/lgpd")
    assert page.status_code == 200
    assert page.text.count('class="lgpd-request') >= 3
    assert "<td>ana</td>" not in page.text  # auditors see a pseudonym
    assert "subject-" in page.text
    assert 'id="export-customer"' not in page.text
    assert 'id="erase-customer"' not in page.text


def test_auditors_see_personal_data_masked_unless_their_token_has_the_pii_scope(
    client, container, caplog
):
    register(container.services, "ECO-1", 5)
    order_id = place_order(container.services, {"ECO-1": 1}, customer="ana")
    wait_until(lambda: settled(container.services))
    placed = container.services.event_log.aggregate_notifications(order_id)[0].id
    pages = [f"/console/audit/history?aggregate_id={order_id}", f"/console/events/{placed}.json"]
    sign_in(client, "auditor")
    for page in pages:
        text = client.get(page).text
        assert "Rua das Flores" not in text, page
        assert "***" in text, page
    assert client.get(f"/console/orders/{order_id}").status_code == 200  # the timeline
    assert not [r for r in caplog.records if r.name == "ecovarejo.disclosure"]
    sign_in(client, "auditor", scopes=("auditor:pii",))
    for page in pages:
        assert "Rua das Flores" in client.get(page).text, page
    disclosed = [r for r in caplog.records if r.name == "ecovarejo.disclosure"]
    assert len(disclosed) == 2
    assert {r.actor for r in disclosed} == {"auditor:auditor-1"}
