"""Who may call what (DESIGN.md, HTTP): every route of the app, for every role (no token,
customer, admin, auditor) answers 401 / 403 / allowed as the matrix below says. Routes are
read from the app itself, so a route added later without an entry here fails the test.
Beside it: a customer gets 404 for carts, orders, payments and personal data not theirs."""

from __future__ import annotations

import fnmatch
import re
import time
import uuid
from dataclasses import dataclass

from fastapi.routing import iter_route_contexts

from tests.e2e.conftest import PRODUCT

API = "/api/v1"
ROLES = ("customer", "admin", "auditor")
ME = "cliente-1"  # the subject of the `auth` fixture's customer tokens


@dataclass(frozen=True)
class Access:
    roles: frozenset[str]
    public: bool = False
    signed: bool = False  # authenticated by a provider's signature, whatever the JWT


PUBLIC = Access(frozenset(ROLES), public=True)
ANY_ROLE = Access(frozenset(ROLES))
CUSTOMER = Access(frozenset({"customer"}))
ADMIN = Access(frozenset({"admin"}))
AUDITOR = Access(frozenset({"auditor"}))
CUSTOMER_OR_ADMIN = Access(frozenset({"customer", "admin"}))
SIGNED = Access(frozenset(), signed=True)

# (method, path with {params}) -> who may call it. Paths with a `*` match by pattern.
# Entries for routes the app does not (yet) have are unused.
MATRIX: dict[tuple[str, str], Access] = {
    ("POST", f"{API}/stock-items"): ADMIN,
    ("POST", f"{API}/stock-items/{{}}/receipts"): ADMIN,
    ("POST", f"{API}/stock-items/{{}}/adjustments"): ADMIN,
    ("PUT", f"{API}/stock-items/{{}}/price"): ADMIN,
    ("PATCH", f"{API}/stock-items/{{}}"): ADMIN,
    ("POST", f"{API}/stock-items/{{}}/archive"): ADMIN,
    ("GET", f"{API}/stock-items/{{}}"): PUBLIC,
    ("GET", f"{API}/products/search"): PUBLIC,
    ("GET", f"{API}/products/suggest"): PUBLIC,
    ("POST", f"{API}/carts"): CUSTOMER,
    ("POST", f"{API}/carts/{{}}/items"): CUSTOMER,
    ("PUT", f"{API}/carts/{{}}/items/{{}}"): CUSTOMER,
    ("DELETE", f"{API}/carts/{{}}/items/{{}}"): CUSTOMER,
    ("GET", f"{API}/carts/{{}}"): CUSTOMER,
    ("POST", f"{API}/carts/{{}}/checkout"): CUSTOMER,
    ("PUT", f"{API}/carts/{{}}/coupon"): CUSTOMER,
    ("DELETE", f"{API}/carts/{{}}/coupon"): CUSTOMER,
    ("POST", f"{API}/carts/{{}}/shipping-quote"): CUSTOMER,
    ("GET", f"{API}/shipping/rates"): ADMIN,
    ("PUT", f"{API}/shipping/rates"): ADMIN,
    ("POST", f"{API}/orders/{{}}/returns"): CUSTOMER,
    ("POST", f"{API}/returns/{{}}/approve"): ADMIN,
    ("POST", f"{API}/returns/{{}}/reject"): ADMIN,
    ("POST", f"{API}/returns/{{}}/receive"): ADMIN,
    ("GET", f"{API}/returns/{{}}"): CUSTOMER_OR_ADMIN,
    ("POST", f"{API}/promotions"): ADMIN,
    ("GET", f"{API}/promotions/{{}}"): ADMIN,
    ("POST", f"{API}/promotions/{{}}/deactivate"): ADMIN,
    ("GET", f"{API}/orders/{{}}"): CUSTOMER_OR_ADMIN,
    ("GET", f"{API}/orders"): CUSTOMER_OR_ADMIN,
    ("POST", f"{API}/orders/{{}}/cancel"): CUSTOMER_OR_ADMIN,
    ("POST", f"{API}/orders/{{}}/ship"): ADMIN,
    ("POST", f"{API}/orders/{{}}/tracking"): ADMIN,
    ("POST", f"{API}/orders/{{}}/label"): ADMIN,
    ("POST", f"{API}/orders/{{}}/payment"): CUSTOMER,  # another try at paying (issue 27)
    ("POST", f"{API}/returns/{{}}/label"): ADMIN,  # reverse logistics (issue 27)
    ("PUT", f"{API}/stock-items/{{}}/fiscal"): ADMIN,
    ("GET", f"{API}/stock-items/{{}}/fiscal"): ADMIN,
    ("GET", f"{API}/payments/{{}}"): CUSTOMER_OR_ADMIN,
    ("POST", f"{API}/payments/webhooks/{{}}"): SIGNED,
    ("POST", f"{API}/shipping/webhooks/{{}}"): SIGNED,
    ("GET", f"{API}/payments/config"): PUBLIC,
    ("GET", f"{API}/analytics/finance"): ADMIN,
    ("GET", f"{API}/payments/disputes"): ADMIN,
    ("POST", f"{API}/payments/sandbox/tokens"): PUBLIC,
    ("POST", f"{API}/payments/sandbox/challenges/{{}}"): PUBLIC,
    ("POST", f"{API}/payments/{{}}/authentication"): CUSTOMER_OR_ADMIN,
    ("GET", f"{API}/payments/{{}}/authentication"): CUSTOMER_OR_ADMIN,
    ("GET", f"{API}/audit/aggregates/{{}}/events"): AUDITOR,
    ("GET", f"{API}/customers/{{}}/personal-data"): CUSTOMER_OR_ADMIN,
    ("DELETE", f"{API}/customers/{{}}/personal-data"): CUSTOMER_OR_ADMIN,
    ("PATCH", f"{API}/customers/{{}}/personal-data"): CUSTOMER_OR_ADMIN,
    ("GET", f"{API}/customers/me"): CUSTOMER,
    ("PUT", f"{API}/customers/me"): CUSTOMER,
    ("GET", f"{API}/customers/me/addresses"): CUSTOMER,
    ("POST", f"{API}/customers/me/addresses"): CUSTOMER,
    ("DELETE", f"{API}/customers/me/addresses/{{}}"): CUSTOMER,
    ("GET", f"{API}/customers/me/consents"): CUSTOMER,
    ("PUT", f"{API}/customers/me/consents/{{}}"): CUSTOMER,
    ("GET", f"{API}/customers/me/recommendations"): CUSTOMER,
    ("GET", f"{API}/customers/{{}}/recommendations"): CUSTOMER_OR_ADMIN,
    ("GET", f"{API}/lgpd/requests"): Access(frozenset({"admin", "auditor"})),
    ("POST", f"{API}/marketing/sends"): ADMIN,
    # The back office's lists and work queues (issue 26).
    ("GET", f"{API}/stock-items"): ADMIN,
    ("GET", f"{API}/returns"): ADMIN,
    ("GET", f"{API}/promotions"): ADMIN,
    ("GET", f"{API}/payments"): ADMIN,
    ("GET", f"{API}/webhook-deliveries"): ADMIN,
    ("GET", f"{API}/customers"): ADMIN,
    # DESIGN.md names no analytics route: analysts' read models are for admins.
    ("GET", f"{API}/analytics/*"): ADMIN,
    ("GET", "/health"): PUBLIC,
    ("GET", "/ready"): PUBLIC,
    ("GET", "/metrics"): ADMIN,  # or the metrics token (tests/e2e/test_edge_exposure.py)
    ("GET", f"{API}/health"): PUBLIC,
    ("GET", f"{API}/ready"): PUBLIC,
    ("GET", f"{API}/metrics"): ADMIN,
    ("GET", f"{API}/openapi.json"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/assets/{}"): PUBLIC,  # Swagger UI / ReDoc files (api/http/docs_offline.py)
    ("GET", "/redoc"): PUBLIC,
    # Accounts and sign-in (docs/accounts.md): signing in needs no token.
    ("POST", f"{API}/auth/register"): PUBLIC,
    ("POST", f"{API}/auth/verify-email"): PUBLIC,
    ("POST", f"{API}/auth/token"): PUBLIC,
    ("POST", f"{API}/auth/refresh"): PUBLIC,
    ("POST", f"{API}/auth/password-reset"): PUBLIC,
    ("POST", f"{API}/auth/password-reset/confirm"): PUBLIC,
    ("POST", f"{API}/auth/logout"): ANY_ROLE,
    ("POST", f"{API}/auth/password"): ANY_ROLE,
    ("POST", f"{API}/auth/accounts/{{}}/deactivate"): ADMIN,
    ("GET", "/.well-known/jwks.json"): PUBLIC,
    # The sandbox provider's own site (sandbox mode only): its SDK and issuer page.
    ("GET", "/sandbox-provider/v1/sandbox.js"): PUBLIC,
    ("GET", "/sandbox-provider/v1/sandbox.css"): PUBLIC,
    ("GET", "/sandbox-provider/challenge/{}"): PUBLIC,
    ("POST", "/sandbox-provider/challenge/{}"): PUBLIC,
    # Product images and reviews (issue 28, docs/catalog-media-and-reviews.md).
    ("POST", f"{API}/products/{{}}/images"): ADMIN,
    ("GET", f"{API}/products/{{}}/images"): PUBLIC,
    ("DELETE", f"{API}/products/{{}}/images/{{}}"): ADMIN,
    ("GET", "/media/images/{}"): PUBLIC,
    ("GET", f"{API}/products/{{}}/reviews"): PUBLIC,
    ("POST", f"{API}/products/{{}}/reviews"): CUSTOMER,
    ("POST", f"{API}/products/{{}}/reviews/{{}}/reports"): CUSTOMER,
    ("GET", f"{API}/reviews"): ADMIN,
    ("POST", f"{API}/reviews/{{}}/approve"): ADMIN,
    ("POST", f"{API}/reviews/{{}}/reject"): ADMIN,
    # The catalog (issue 28): products with variants, categories, certificates, pages.
    ("POST", f"{API}/products"): ADMIN,
    ("PATCH", f"{API}/products/{{}}"): ADMIN,
    ("GET", f"{API}/products/{{}}"): PUBLIC,
    ("GET", f"{API}/products/{{}}/jsonld"): PUBLIC,
    ("POST", f"{API}/products/{{}}/certifications"): ADMIN,
    ("POST", f"{API}/certifications/lapse"): ADMIN,
    ("GET", f"{API}/certifications/expired"): ADMIN,
    ("GET", f"{API}/categories"): PUBLIC,
    ("POST", f"{API}/categories"): ADMIN,
    ("PATCH", f"{API}/categories/{{}}"): ADMIN,
    ("PUT", f"{API}/stock-items/{{}}/gtin"): ADMIN,
    ("GET", "/sitemap.xml"): PUBLIC,
}

_PARAM = re.compile(r"\{[^}]*\}")
STOREFRONT = ("/", "/verify-email", "/reset-password")  # redirects into /loja


def shape(path: str) -> str:
    return _PARAM.sub("{}", path)


def access_for(method: str, path: str) -> Access | None:
    key = (method, shape(path))
    if key in MATRIX:
        return MATRIX[key]
    for (m, pattern), access in MATRIX.items():
        if m == method and "*" in pattern and fnmatch.fnmatchcase(key[1], pattern):
            return access
    return None


def app_routes(app) -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves; HEAD goes with GET. The
    console's HTML pages (cookie sessions, not bearer tokens) have their own matrix in
    tests/e2e/test_console_http.py, the storefront's in tests/e2e/test_storefront_purchase.py
    (its pages, `/` and the account mails' links)."""
    found = set()
    for route in iter_route_contexts(app.routes):
        if route.path_format.startswith(("/console", "/loja")) or route.path_format in STOREFRONT:
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, route.path_format))
    return sorted(found)


def concrete(path: str) -> str:
    values = {
        "sku": PRODUCT["sku"],
        "customer_id": ME,
        "gateway": "sandbox",
        "carrier": "melhorenvio",
    }

    def fill(match: re.Match[str]) -> str:
        return values.get(match.group()[1:-1], str(uuid.UUID(int=7)))

    return _PARAM.sub(fill, path)


def test_every_route_of_the_app_has_an_entry_in_the_matrix(client):
    routes = app_routes(client.app)
    assert len(routes) >= 20
    missing = [f"{method} {path}" for method, path in routes if access_for(method, path) is None]
    assert missing == [], f"routes without an authorization matrix entry: {missing}"


def expected(access: Access, role: str | None) -> str:
    if access.signed:
        return "401"  # no provider signature: refused, with or without a JWT
    if access.public:
        return "allowed"
    if role is None:
        return "401"
    return "allowed" if role in access.roles else "403"


def observed(status: int) -> str:
    return str(status) if status in (401, 403) else "allowed"


def test_every_route_answers_each_role_as_the_matrix_says(client, auth, product):
    wrong = []
    for method, path in app_routes(client.app):
        access = access_for(method, path)
        assert access is not None
        for role in (None, *ROLES):
            headers = {} if role is None else auth(role, ME if role == "customer" else role)
            body = {} if method in ("POST", "PUT") else None
            response = client.request(method, concrete(path), json=body, headers=headers)
            if observed(response.status_code) != expected(access, role):
                wrong.append(f"{method} {path} as {role}: {response.status_code}")
            if response.status_code in (401, 403):
                assert response.headers["content-type"] == "application/problem+json"
    assert wrong == []


# Not yours: 404 -------------------------------------------------------------------------

ADDRESS = {"line1": "Rua B 2", "city": "Curitiba", "state": "PR", "postal_code": "80000-000"}
CARD = {"card_number": "4242424242424242", "expiry": "12/39", "cvc": "123", "holder": "Ana"}


def anas_order(client, auth) -> tuple[str, str, str]:
    """Ana's checked-out cart, her confirmed order and its payment."""
    ana = auth(sub="ana")
    cart_id = client.post(f"{API}/carts", json={}, headers=ana).json()["cart_id"]
    line = {"sku": PRODUCT["sku"], "quantity": 1}
    assert client.post(f"{API}/carts/{cart_id}/items", json=line, headers=ana).is_success
    checkout = {"shipping_address": ADDRESS, "payment": CARD}
    placed = client.post(f"{API}/carts/{cart_id}/checkout", json=checkout, headers=ana)
    order_id = placed.json()["order_id"]
    for _ in range(200):
        order = client.get(f"{API}/orders/{order_id}", headers=ana).json()
        if order.get("status") == "confirmed":
            break
        time.sleep(0.05)
    view = client.app.state.container.view("orders")
    payment_id = view.get(f"order:{order_id}")["payment_id"]
    return cart_id, order_id, payment_id


def test_a_customer_gets_404_for_what_is_not_theirs(client, auth, product):
    cart_id, order_id, payment_id = anas_order(client, auth)
    bruno = auth(sub="bruno")
    sku = PRODUCT["sku"]
    checkout = {"shipping_address": ADDRESS, "payment": CARD}
    attempts = [
        ("GET", f"{API}/carts/{cart_id}", None),
        ("POST", f"{API}/carts/{cart_id}/items", {"sku": sku, "quantity": 1}),
        ("PUT", f"{API}/carts/{cart_id}/items/{sku}", {"quantity": 1}),
        ("DELETE", f"{API}/carts/{cart_id}/items/{sku}", None),
        ("POST", f"{API}/carts/{cart_id}/checkout", checkout),
        ("GET", f"{API}/orders/{order_id}", None),
        ("POST", f"{API}/orders/{order_id}/cancel", {"reason": "not mine"}),
        ("GET", f"{API}/payments/{payment_id}", None),
        ("GET", f"{API}/customers/ana/personal-data", None),
        ("DELETE", f"{API}/customers/ana/personal-data", None),
        ("PATCH", f"{API}/customers/ana/personal-data", {"name": "Not Mine"}),
    ]
    served = {(method, shape(path)) for method, path in app_routes(client.app)}
    head = client.app.state.container.head_position()
    tried = 0
    for method, url, body in attempts:
        template = re.sub(r"/(customers|carts|orders|payments|items)/[^/]+", r"/\1/{}", url)
        if (method, template) not in served:
            continue  # a route DESIGN.md names that the app does not have yet
        response = client.request(method, url, json=body, headers=bruno)
        assert response.status_code == 404, f"{method} {url}: {response.status_code}"
        assert response.headers["content-type"] == "application/problem+json"
        tried += 1
    assert tried >= 8
    assert client.app.state.container.head_position() == head
    assert client.get(f"{API}/orders", headers=bruno).json()["total"] == 0
    assert client.get(f"{API}/orders?customer_id=ana", headers=bruno).status_code == 403


def test_an_admin_sees_any_customers_order_and_payment(client, auth, product):
    _, order_id, payment_id = anas_order(client, auth)
    admin = auth("admin", "adm")
    assert client.get(f"{API}/orders/{order_id}", headers=admin).status_code == 200
    assert client.get(f"{API}/payments/{payment_id}", headers=admin).status_code == 200
    listed = client.get(f"{API}/orders?customer_id=ana", headers=admin).json()
    assert [o["order_id"] for o in listed["items"]] == [order_id]
