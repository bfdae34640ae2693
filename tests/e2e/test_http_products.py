"""Products with variants, the category tree and certifications over HTTP (issue 28)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.base import SystemClock
from tests.accounts import SettableClock
from tests.checkout import wait_until
from tests.e2e.test_http_checkout import ADDRESS, payment, settle

API = "/api/v1"
SIZES = ("P", "M", "G", "GG")
COLOURS = ("azul", "cru")
GTINS = {"CAM-ORG-P-AZUL": "7891000315507", "CAM-ORG-M-CRU": "4006381333931"}


def variants() -> list[dict]:
    out = []
    for size in SIZES:
        for colour in COLOURS:
            sku = f"CAM-ORG-{size}-{colour.upper()}"
            variant = {
                "sku": sku,
                "options": {"tamanho": size, "cor": colour},
                "price": {"amount": "89.90" if size == "GG" else "79.90", "currency": "BRL"},
                "initial_quantity": 5,
                "weight_grams": 200,
            }
            if sku in GTINS:
                variant["gtin"] = GTINS[sku]
            out.append(variant)
    return out


SHIRT = {
    "slug": "camiseta-organica",
    "name": "Camiseta de algodão orgânico",
    "description": "Algodão orgânico, tingimento natural. " * 8,
    "category": "camisetas",
    "options": ["tamanho", "cor"],
    "attributes": {"material": "algodão orgânico"},
    "variants": variants(),
    "sustainability": {
        "carbon_footprint_kg": "2.000",
        "recyclable_percent": 80,
        "packaging": "compostable",
    },
}


def admin(auth):
    return auth("admin", "adm")


def post(client, auth, path: str, body: dict, status: int = 201) -> dict:
    answer = client.post(f"{API}{path}", json=body, headers=admin(auth))
    assert answer.status_code == status, answer.text
    return answer.json()


def read(client, path: str, token: str | None = None, **headers: str) -> dict:
    if token:
        headers["X-Consistency-Token"] = token
    answer = client.get(f"{API}{path}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def shop_tree(client, auth) -> str:
    post(client, auth, "/categories", {"slug": "roupas", "name": "Roupas"})
    post(
        client, auth, "/categories", {"slug": "camisetas", "name": "Camisetas", "parent": "roupas"}
    )
    return post(
        client, auth, "/categories", {"slug": "basicas", "name": "Básicas", "parent": "camisetas"}
    )["consistency_token"]


def test_a_product_in_4_sizes_and_2_colours_is_created_read_and_bought_in_two_variants(
    client, auth
):
    shop_tree(client, auth)
    created = post(client, auth, "/products", SHIRT)
    token = created["consistency_token"]
    product = read(client, f"/products/{created['product_id']}", token)
    assert read(client, "/products/camiseta-organica", token) == product
    assert len(product["variants"]) == 8
    assert {v["sku"]: v["gtin"] for v in product["variants"] if v["gtin"]} == GTINS
    assert (product["price_min"]["amount"], product["price_max"]["amount"]) == ("79.90", "89.90")
    assert product["category_path"] == ["roupas", "camisetas"]
    assert (product["available"], product["in_stock"]) == (40, True)
    assert product["meta_description"].endswith("…")
    assert len(product["meta_description"]) <= 155
    # 40 x 0.8 (2 kg) + 0 certifications + 15 x 80% + 15 compostable
    assert product["sustainability_score"] == 32 + 12 + 15
    # Each variant is a stock item of its own, named after the product and its options.
    item = read(client, "/stock-items/CAM-ORG-M-AZUL", token)
    assert item["name"] == "Camiseta de algodão orgânico — M / azul"
    assert item["category"] == "Camisetas"
    assert (item["product_id"], item["gtin"]) == (created["product_id"], "")
    assert read(client, "/stock-items/CAM-ORG-P-AZUL", token)["gtin"] == GTINS["CAM-ORG-P-AZUL"]

    cart = client.post(f"{API}/carts", json={}, headers=auth(sub="ana")).json()["cart_id"]
    for sku, quantity in (("CAM-ORG-M-AZUL", 2), ("CAM-ORG-GG-CRU", 1)):
        added = client.post(
            f"{API}/carts/{cart}/items",
            json={"sku": sku, "quantity": quantity},
            headers=auth(sub="ana"),
        )
        assert added.status_code == 200, added.text
    checkout = client.post(
        f"{API}/carts/{cart}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    )
    assert checkout.status_code == 202, checkout.text
    order = settle(client, auth, checkout.json()["order_id"])
    assert order["status"] == "confirmed"
    assert {line["sku"]: line["name"] for line in order["lines"]} == {
        "CAM-ORG-M-AZUL": "Camiseta de algodão orgânico — M / azul",
        "CAM-ORG-GG-CRU": "Camiseta de algodão orgânico — GG / cru",
    }
    wait_until(  # the reservations reach the product's variants
        lambda: read(client, "/products/camiseta-organica")["available"] == 37,
        what="the reservations on the product",
    )
    bought = read(client, "/products/camiseta-organica")
    stock = {v["sku"]: v["available"] for v in bought["variants"]}
    assert (stock["CAM-ORG-M-AZUL"], stock["CAM-ORG-GG-CRU"], stock["CAM-ORG-P-AZUL"]) == (3, 4, 5)


def test_a_category_moves_and_renames_and_counts_include_the_children(client, auth):
    shop_tree(client, auth)
    token = post(client, auth, "/products", SHIRT)["consistency_token"]
    tree = read(client, "/categories", token)["items"]
    [roupas] = tree
    assert (roupas["slug"], roupas["count"], roupas["children"][0]["count"]) == ("roupas", 1, 1)

    moved = client.patch(
        f"{API}/categories/camisetas",
        json={"parent": None, "slug": "camisetas-basicas"},
        headers=admin(auth),
    )
    assert moved.status_code == 200, moved.text
    token = moved.json()["consistency_token"]
    tree = {c["slug"]: c for c in read(client, "/categories", token)["items"]}
    assert (tree["roupas"]["count"], tree["camisetas-basicas"]["count"]) == (0, 1)
    assert tree["camisetas-basicas"]["children"][0]["path"] == ["camisetas-basicas", "basicas"]
    product = read(client, "/products/camiseta-organica", token)
    assert product["category_path"] == ["camisetas-basicas"]


def test_a_category_under_its_own_child_is_refused_and_nothing_changes(client, auth):
    token = shop_tree(client, auth)
    before = read(client, "/categories", token)
    for parent in ("basicas", "roupas"):  # its grandchild; itself
        refused = client.patch(
            f"{API}/categories/roupas", json={"parent": parent}, headers=admin(auth)
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "category-cycle"
    # A rename in the same request is not half-applied either.
    refused = client.patch(
        f"{API}/categories/roupas",
        json={"parent": "basicas", "name": "Vestuário"},
        headers=admin(auth),
    )
    assert refused.status_code == 422
    token = post(client, auth, "/categories", {"slug": "casa", "name": "Casa"})["consistency_token"]
    after = read(client, "/categories", token)
    assert [c for c in after["items"] if c["slug"] != "casa"] == before["items"]


def test_an_expired_certification_drops_out_of_the_score_and_the_facets(client, auth, container):
    shop_tree(client, auth)
    product_id = post(client, auth, "/products", SHIRT)["product_id"]
    today = datetime.now(tz=UTC)
    added = post(
        client,
        auth,
        f"/products/{product_id}/certifications",
        {
            "name": "GOTS",
            "issuer": "Control Union",
            "number": "CU-820093",
            "valid_until": (today + timedelta(days=1)).date().isoformat(),
        },
    )
    token = added["consistency_token"]
    product = read(client, f"/products/{product_id}", token)
    [certificate] = product["certifications"]
    assert (certificate["counts"], certificate["expired"]) == (True, False)
    assert product["sustainability_score"] == 59 + 15
    facets = read(client, "/products/search?q=camiseta", token)["facets"]
    assert facets["certification"] == {"GOTS": 8}

    clock = SettableClock()
    clock.advance(2 * 86400)
    container.services.products.clock = clock  # test only: two days later
    try:
        product = read(client, f"/products/{product_id}")  # past its date: it already drops
        assert product["sustainability_score"] == 59
        swept = client.post(f"{API}/certifications/lapse", headers=admin(auth))
        assert swept.status_code == 200, swept.text
        assert swept.json()["lapsed_products"] == [product_id]
        token = swept.json()["consistency_token"]
        again = client.post(f"{API}/certifications/lapse", headers=admin(auth)).json()
        assert again["lapsed_products"] == []  # nothing lapses twice
        product = read(client, f"/products/{product_id}", token)
        assert product["certifications"][0]["expired"] is True
        assert product["sustainability_score"] == 59
        assert read(client, "/products/search?q=camiseta", token)["facets"]["certification"] == {}
        flagged = client.get(f"{API}/certifications/expired", headers=admin(auth)).json()["items"]
        assert [(f["slug"], f["certification"]["number"]) for f in flagged] == [
            ("camiseta-organica", "CU-820093")
        ]
    finally:
        container.services.products.clock = SystemClock()


def test_json_ld_and_the_sitemap_describe_the_product_for_search_engines(client, auth):
    shop_tree(client, auth)
    token = post(client, auth, "/products", SHIRT)["consistency_token"]
    answer = client.get(
        f"{API}/products/camiseta-organica/jsonld", headers={"X-Consistency-Token": token}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/ld+json")
    data = answer.json()
    assert (data["@context"], data["@type"], data["name"]) == (
        "https://schema.org",
        "Product",
        SHIRT["name"],
    )
    offers = data["offers"]
    assert (offers["@type"], offers["lowPrice"], offers["highPrice"], offers["offerCount"]) == (
        "AggregateOffer",
        "79.90",
        "89.90",
        8,
    )
    assert {o["sku"]: o.get("gtin") for o in offers["offers"] if o.get("gtin")} == GTINS
    assert "aggregateRating" not in data  # no ratings yet
    sitemap = client.get("/sitemap.xml", headers={"X-Consistency-Token": token})
    assert sitemap.status_code == 200
    assert sitemap.headers["content-type"].startswith("application/xml")
    assert "<loc>http://localhost:8000/produtos/camiseta-organica</loc>" in sitemap.text
    assert "<loc>http://localhost:8000/categorias/roupas/camisetas/basicas</loc>" in sitemap.text


def test_bad_product_input_is_refused_and_nothing_is_stored(client, auth):
    shop_tree(client, auth)
    wrong_digit = {**SHIRT["variants"][0], "gtin": "7891000315508"}
    cases = [
        ({**SHIRT, "variants": [wrong_digit]}, "invalid-gtin"),
        ({**SHIRT, "name": "x" * 121}, None),
        ({**SHIRT, "name": "Camiseta\u0007"}, None),
        ({**SHIRT, "description": "a\x00b"}, None),
        ({**SHIRT, "category": "nao-existe"}, "invalid-category"),
        ({**SHIRT, "slug": "search"}, "invalid-product"),
        (
            {
                **SHIRT,
                "variants": [{**v, "options": {"tamanho": "P"}} for v in SHIRT["variants"][:1]],
            },
            "invalid-product",
        ),
        ({**SHIRT, "variants": SHIRT["variants"][:2] + SHIRT["variants"][:1]}, "invalid-product"),
    ]
    for body, code in cases:
        answer = client.post(f"{API}/products", json=body, headers=admin(auth))
        assert answer.status_code == 422, (body["slug"], answer.text)
        if code:
            assert answer.json()["code"] == code
    token = post(client, auth, "/categories", {"slug": "casa", "name": "Casa"})["consistency_token"]
    assert (
        client.get(
            f"{API}/products/camiseta-organica", headers={"X-Consistency-Token": token}
        ).status_code
        == 404
    )
    assert client.get(f"{API}/stock-items/CAM-ORG-P-AZUL").status_code == 404
    product_id = post(client, auth, "/products", SHIRT)["product_id"]
    again = client.post(f"{API}/products", json=SHIRT, headers=admin(auth))
    assert again.status_code == 409
    certificate = {"name": "GOTS", "issuer": "CU", "number": "1", "valid_until": "2020-01-01"}
    expired = client.post(
        f"{API}/products/{product_id}/certifications", json=certificate, headers=admin(auth)
    )
    assert expired.status_code == 422, expired.text


def test_the_storefront_page_of_a_variant_links_the_products_other_variants(client, auth):
    shop_tree(client, auth)
    token = post(client, auth, "/products", SHIRT)["consistency_token"]
    read(client, "/stock-items/CAM-ORG-M-AZUL", token)  # both read models are past it
    read(client, "/products/camiseta-organica", token)
    page = client.get("/loja/produto/CAM-ORG-M-AZUL")
    assert page.status_code == 200, page.text
    assert '<strong aria-current="page">M / azul</strong>' in page.text
    assert 'href="/loja/produto/CAM-ORG-GG-CRU"' in page.text
    assert page.text.count('<li><a href="/loja/produto/CAM-ORG-') == 7  # the seven others


def test_a_changed_gtin_reaches_the_stock_item_and_the_product(client, auth, product):
    changed = client.put(
        f"{API}/stock-items/{product['sku']}/gtin", json={"gtin": "96385074"}, headers=admin(auth)
    )
    assert changed.status_code == 200, changed.text
    token = changed.json()["consistency_token"]
    stock = read(client, f"/stock-items/{product['sku']}", token)
    assert stock["gtin"] == "96385074"
    [variant] = read(client, f"/products/{stock['product_id']}", token)["variants"]
    assert variant["gtin"] == "96385074"
