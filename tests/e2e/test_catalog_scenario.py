"""Issue 28's "Done when", as one shop would live it over HTTP: a T-shirt in 4 sizes and 2
colours is created under a category tree, given a photo (through a real S3 API server, with
its renditions), bought in two variants, delivered, reviewed by the buyer and approved; a
shopper finds it by `camiseta organica`, `CAMISETA` and (suggested) `camisteta`, sorts by
price and filters by the parent category; its certificate lapses and leaves the facets.

The other lines of "Done when" are proved where they can fail on their own:
- stock items of old read as single-variant products, on stored rows:
  tests/integration/test_products_from_old_stock_items.py (and test_event_upcasting.py);
- a rebuild of every read model writes the same bytes: tests/integration/test_rebuilds.py
  (the Redis read models, and the search index's rows and state with products folded in),
  test_one_pass_rebuilds.py;
- bad input (images that lie, bombs, GTINs, cycles, reviews of things never bought):
  test_http_products.py, test_http_product_images.py, test_http_reviews.py;
- both search adapters, one behaviour: tests/contract/test_search_contract.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from application.product_images import IMMUTABLE
from domain.base import SystemClock
from infrastructure.settings import Settings
from tests.accounts import SettableClock
from tests.e2e.conftest import configured
from tests.e2e.test_http_checkout import ADDRESS, payment, settle
from tests.e2e.test_http_delivery_and_withdrawal import track, wait_for
from tests.e2e.test_http_products import SHIRT, admin, post, read, shop_tree
from tests.images import photo_with_gps
from tests.s3_server import s3_endpoint, s3_settings, stored_object  # noqa: F401

API = "/api/v1"
PROFILE = {"name": "Ana Souza", "email": "ana@example.com", "phone": "", "cpf": ""}
BOUGHT = {"CAM-ORG-M-AZUL": 2, "CAM-ORG-GG-CRU": 1}


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path, s3_endpoint: str) -> Settings:  # noqa: F811
    return configured(database_url, redis_url, tmp_path, **s3_settings(s3_endpoint))


def search(client, token: str, **params) -> dict:
    answer = client.get(
        f"{API}/products/search", params=params, headers={"X-Consistency-Token": token}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def photograph(client, auth, product_id: str, s3_endpoint: str) -> None:  # noqa: F811
    """Upload a photo; each rendition is in the bucket, content-hashed, typed, immutable,
    and served by the API as stored."""
    answer = client.post(
        f"{API}/products/{product_id}/images",
        files={"file": ("camiseta.jpg", photo_with_gps(), "image/jpeg")},
        data={"alt": "Camiseta azul dobrada"},
        headers=admin(auth),
    )
    assert answer.status_code == 201, answer.text
    renditions = answer.json()["image"]["renditions"]
    assert {r["format"] for r in renditions} == {"webp", "jpeg"}
    for rendition in renditions:
        held = stored_object(s3_endpoint, rendition["url"].removeprefix("/media/"))
        assert held["CacheControl"] == IMMUTABLE
        served = client.get(rendition["url"])
        assert (served.status_code, served.content) == (200, held["Body"].read())


def buy_and_receive(client, auth) -> str:
    """Ana buys two variants; the order is paid, shipped and delivered."""
    assert client.put(f"{API}/customers/me", json=PROFILE, headers=auth(sub="ana")).is_success
    cart = client.post(f"{API}/carts", json={}, headers=auth(sub="ana")).json()["cart_id"]
    for sku, quantity in BOUGHT.items():
        added = client.post(
            f"{API}/carts/{cart}/items",
            json={"sku": sku, "quantity": quantity},
            headers=auth(sub="ana"),
        )
        assert added.status_code == 200, added.text
    placed = client.post(
        f"{API}/carts/{cart}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    )
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["order_id"]
    assert settle(client, auth, order_id)["status"] == "confirmed"
    ship = {"carrier": "Correios", "tracking_code": "BR123"}
    shipped = client.post(f"{API}/orders/{order_id}/ship", json=ship, headers=auth("admin"))
    assert shipped.status_code == 202, shipped.text
    wait_for(client, auth, f"/orders/{order_id}", lambda o: o["payment"]["status"] == "captured")
    assert track(client, auth, order_id, "delivered", datetime.now(tz=UTC)).status_code == 200
    wait_for(client, auth, f"/orders/{order_id}", lambda o: o["status"] == "delivered")
    return order_id


def review_and_approve(client, auth, product_id: str, order_id: str) -> str:
    written = client.post(
        f"{API}/products/{product_id}/reviews",
        json={"rating": 5, "title": "Veste bem", "body": "Tecido macio.", "order_id": order_id},
        headers=auth(sub="ana"),
    )
    assert written.status_code == 201, written.text
    assert written.json()["status"] == "pending"
    approved = client.post(
        f"{API}/reviews/{written.json()['review_id']}/approve", headers=admin(auth)
    )
    assert approved.status_code == 200, approved.text
    return approved.json()["consistency_token"]


def certify_until_tomorrow(client, auth, product_id: str) -> str:
    tomorrow = (datetime.now(tz=UTC) + timedelta(days=1)).date().isoformat()
    body = {"name": "GOTS", "issuer": "Control Union", "number": "CU-1", "valid_until": tomorrow}
    return post(client, auth, f"/products/{product_id}/certifications", body)["consistency_token"]


def test_a_t_shirt_is_created_imaged_bought_reviewed_found_and_loses_its_certificate(
    client,
    auth,
    container,
    s3_endpoint,  # noqa: F811
):
    shop_tree(client, auth)  # roupas > camisetas > basicas
    created = post(client, auth, "/products", SHIRT)  # 4 sizes x 2 colours, in camisetas
    product_id = created["product_id"]
    assert (
        len(read(client, f"/products/{product_id}", created["consistency_token"])["variants"]) == 8
    )

    photograph(client, auth, product_id, s3_endpoint)
    order_id = buy_and_receive(client, auth)
    token = review_and_approve(client, auth, product_id, order_id)
    page = read(client, f"/products/{product_id}", token)
    assert (page["rating_average"], page["rating_count"], len(page["images"])) == ("5.0", 1, 1)

    # Found in any case and without accents, each variant carrying the product's fields.
    found = search(client, token, q="camiseta organica", size=20)
    assert found["total"] == 8
    assert {(h["rating_average"], h["rating_count"]) for h in found["items"]} == {("5.00", 1)}
    assert {h["sustainability_score"] for h in found["items"]} == {32 + 12 + 15}
    assert search(client, token, q="CAMISETA")["total"] == 8
    suggested = client.get(f"{API}/products/suggest", params={"q": "camisteta"}).json()
    assert {s["name"].split(" — ")[0] for s in suggested["items"]} == {SHIRT["name"]}
    # Sorted by price: the seven at 79.90 before the GG at 89.90 (ties by SKU).
    by_price = search(client, token, q="camiseta", sort="price_asc", size=20)["items"]
    assert [h["price"]["amount"] for h in by_price] == ["79.90"] * 6 + ["89.90"] * 2
    # Filtered by the parent category: a parent finds its children's products.
    in_roupas = search(client, token, category="ROUPAS", in_stock="true", size=20)
    assert in_roupas["total"] == 8
    assert in_roupas["facets"]["category"] == {"camisetas": 8, "roupas": 8}

    # A certificate counts in the facets and the score until it lapses.
    token = certify_until_tomorrow(client, auth, product_id)
    certified = search(client, token, category="roupas")
    assert certified["facets"]["certification"] == {"GOTS": 8}
    assert {h["sustainability_score"] for h in certified["items"]} == {32 + 15 + 12 + 15}
    clock = SettableClock()
    clock.advance(2 * 86400)
    container.services.products.clock = clock  # two days later
    try:
        swept = client.post(f"{API}/certifications/lapse", headers=admin(auth))
        assert swept.status_code == 200, swept.text
        lapsed = search(client, swept.json()["consistency_token"], category="roupas")
    finally:
        container.services.products.clock = SystemClock()
    assert lapsed["facets"]["certification"] == {}
    assert {h["sustainability_score"] for h in lapsed["items"]} == {32 + 12 + 15}
