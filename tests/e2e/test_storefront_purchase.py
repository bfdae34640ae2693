"""The storefront over HTTP: a new shopper browses, fills a basket, registers on the way to
checkout, pays by Pix (the sandbox payer pays) and sees the order confirmed; catalog pages
are publicly cacheable, personal ones not; bad input is said on the page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from infrastructure.settings import Settings
from tests.e2e.conftest import PRODUCT, configured, register_product, shared_system, unwritten
from tests.storefront import (
    ORIGIN,
    SHOP,
    add_to_cart,
    csrf_of,
    pay_sandbox,
    post_form,
    register_and_sign_in,
    wait_for,
)

ADDRESS = {
    "postal_code": "01310-100",
    "line1": "Av. Paulista 1000",
    "line2": "",
    "city": "São Paulo",
    "state": "SP",
}


def storefront_settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return configured(
        database_url,
        redis_url,
        tmp_path,
        ECOVAREJO_PAYMENT_TIMEOUT_S=30,
        ECOVAREJO_SANDBOX_WEBHOOK_SECRET="sandbox-secret-for-tests",
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        signin_failure_floor_ms=0,
    )


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return storefront_settings(database_url, redis_url, tmp_path)


# The tests that only read (a refused form writes nothing) share one system with the product
# registered (module scope: one database and bootstrap instead of one per test), each with
# no cookies of another test (a shopper of its own) and checking on leaving that the log's
# head did not move; the tests that write take the function-scoped `client` and `product`,
# a fresh system each.


@pytest.fixture(scope="module")
def shared_shop(servers, tmp_path_factory) -> Iterator[TestClient]:
    with (
        shared_system(servers, tmp_path_factory, 6, storefront_settings) as container,
        TestClient(create_app(container), raise_server_exceptions=False) as test_client,
    ):
        register_product(test_client)
        yield test_client


@pytest.fixture
def shop(shared_shop) -> Iterator[TestClient]:
    shared_shop.cookies.clear()
    with unwritten(shared_shop) as test_client:
        yield test_client
    shared_shop.cookies.clear()


def _searchable(client, sku: str) -> None:
    wait_for(lambda: sku in client.get(f"{SHOP}/busca").text)


def _checkout_to_order(client) -> str:
    page = client.get(f"{SHOP}/checkout")
    assert page.status_code == 200, page.text
    saved = post_form(client, f"{SHOP}/checkout/endereco", page.text, **ADDRESS)
    assert saved.status_code == 303, saved.text
    page = client.get(saved.headers["location"])
    assert 'id="pay-form"' in page.text, page.text
    return page.text


def _pay_fields(page: str) -> dict[str, str]:
    names = ("cart_id", "version", "address_id", "total_standard", "total_express")
    found = {}
    for name in names:
        match = re.search(rf'name="{name}" value="([^"]*)"', page)
        if match:
            found[name] = match.group(1)
    return found


def test_a_new_shopper_buys_by_pix_registering_on_the_way_and_the_order_moves_on_when_paid(
    client, product
):
    _searchable(client, PRODUCT["sku"])
    home = client.get(SHOP)
    assert home.status_code == 200
    assert PRODUCT["name"] in home.text
    found = client.get(f"{SHOP}/busca", params={"q": "garrafa"})
    assert PRODUCT["name"] in found.text
    page = client.get(f"{SHOP}/produto/{PRODUCT['sku']}")
    assert page.status_code == 200
    assert "Adicionar ao carrinho" in page.text
    assert add_to_cart(client, PRODUCT["sku"], 2).status_code == 303
    cart = client.get(f"{SHOP}/carrinho")
    assert "R$ 259,80" in cart.text  # 2 x 129,90, today's price
    assert (
        client.get(f"{SHOP}/checkout", follow_redirects=False)
        .headers["location"]
        .startswith(f"{SHOP}/entrar")
    )
    register_and_sign_in(client, "nova@example.com.br")
    pay_page = _checkout_to_order(client)
    paid = post_form(
        client,
        f"{SHOP}/checkout/pagar",
        pay_page,
        **_pay_fields(pay_page),
        method="pix",
        shipping_method="standard",
    )
    assert paid.status_code == 303, paid.text
    order_url = paid.headers["location"]
    order_page = wait_for(lambda: (p := client.get(order_url).text) and "pix-qr" in p and p)
    assert "<svg" in order_page
    assert "Pix copia e cola" in order_page
    payment_id = re.search(r'id="payment-id">([^<]+)<', order_page).group(1)
    status_url = (
        re.search(r'hx-get="([^"]+situacao[^"]+)"', order_page).group(1).replace("&amp;", "&")
    )
    assert client.get(status_url).status_code == 204  # nothing new: htmx keeps polling
    pay_sandbox(client, payment_id)
    moved = wait_for(lambda: client.get(status_url).headers.get("hx-refresh") == "true")
    assert moved
    assert "Pagamento confirmado" in client.get(order_url).text
    # the same page posted again (a double click, the back button): no second order
    again = post_form(
        client,
        f"{SHOP}/checkout/pagar",
        pay_page,
        **_pay_fields(pay_page),
        method="pix",
        shipping_method="standard",
    )
    assert again.status_code == 303
    assert again.headers["location"].split("?")[0] == order_url.split("?")[0]
    account = client.get(f"{SHOP}/conta").text
    assert account.count("/loja/pedidos/") == 1


def test_catalog_pages_are_publicly_cacheable_with_an_etag_and_personal_pages_are_not(shop):
    _searchable(shop, PRODUCT["sku"])
    page = shop.get(f"{SHOP}/produto/{PRODUCT['sku']}")
    assert page.headers["cache-control"].startswith("public, max-age=")
    assert "stale-while-revalidate=" in page.headers["cache-control"]
    again = shop.get(
        f"{SHOP}/produto/{PRODUCT['sku']}", headers={"If-None-Match": page.headers["etag"]}
    )
    assert again.status_code == 304
    assert "set-cookie" not in page.headers
    cart = shop.get(f"{SHOP}/carrinho")
    assert cart.headers["cache-control"] == "private, no-store"
    assert "script-src 'self'" in cart.headers["content-security-policy"]
    cookie = cart.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie


def test_static_files_are_content_hashed_and_immutable(shop):
    home = shop.get(SHOP).text
    css = re.search(r'href="(/loja/static/storefront\.[0-9a-f]{12}\.css)"', home).group(1)
    answer = shop.get(css)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert shop.get("/loja/static/storefront.000000000000.css").status_code == 404


@pytest.mark.parametrize(
    ("quantity", "shown"),
    [
        ("", "Preencha este campo"),
        ("abc", "A quantidade deve ser"),
        ("0", "A quantidade deve ser"),
        ("9" * 20, "no máximo"),
        ("²", "A quantidade deve ser"),  # str.isdigit says yes, int() refuses: was a 500
        ("①", "A quantidade deve ser"),
    ],
)
def test_a_bad_quantity_is_said_on_the_page_and_changes_nothing(shop, quantity, shown):
    answer = shop.post(
        f"{SHOP}/carrinho/itens", data={"sku": PRODUCT["sku"], "quantity": quantity}, headers=ORIGIN
    )
    assert answer.status_code == 422
    assert shown in answer.text
    assert "Seu carrinho está vazio" in answer.text


def test_a_form_from_another_site_is_refused(shop):
    answer = shop.post(
        f"{SHOP}/carrinho/itens",
        data={"sku": PRODUCT["sku"], "quantity": "1"},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert "text/html" in answer.headers["content-type"]
    cart = shop.get(f"{SHOP}/carrinho")
    forged = shop.post(
        f"{SHOP}/carrinho/cupom", data={"coupon": "X", "csrf": "wrong"}, headers=ORIGIN
    )
    assert forged.status_code == 403
    assert cart.status_code == 200


def test_an_unknown_coupon_and_a_bad_cep_are_said_and_what_was_typed_is_kept(client, product):
    _searchable(client, PRODUCT["sku"])
    add_to_cart(client, PRODUCT["sku"])
    cart = client.get(f"{SHOP}/carrinho").text
    answer = post_form(client, f"{SHOP}/carrinho/cupom", cart, coupon="NAOEXISTE")
    assert answer.status_code == 422
    assert "Cupom não encontrado" in answer.text
    assert 'value="NAOEXISTE"' in answer.text
    answer = post_form(client, f"{SHOP}/carrinho/frete", cart, cep="123\x01")
    assert answer.status_code == 422
    answer = post_form(client, f"{SHOP}/carrinho/frete", cart, cep="1234")
    assert answer.status_code == 422
    assert "CEP válido" in answer.text
    assert 'value="1234"' in answer.text
    answer = post_form(client, f"{SHOP}/carrinho/frete", cart, cep="01310-100")
    assert answer.status_code == 200
    assert "Normal:" in answer.text


def test_a_product_archived_while_in_the_basket_is_said_and_checkout_waits(client, product, auth):
    _searchable(client, PRODUCT["sku"])
    add_to_cart(client, PRODUCT["sku"])
    client.post(f"/api/v1/stock-items/{PRODUCT['sku']}/archive", headers=auth("admin", "adm"))
    cart = client.get(f"{SHOP}/carrinho").text
    assert "saiu de linha" in cart
    assert f"{SHOP}/checkout" not in cart.split("</main>")[0].split("<main")[1]


def test_an_unknown_page_or_product_is_a_404_page_not_a_problem_document(shop):
    answer = shop.get(f"{SHOP}/produto/NAO-EXISTE")
    assert answer.status_code == 404
    assert "text/html" in answer.headers["content-type"]
    assert shop.get(f"{SHOP}/nada").status_code == 404
    assert shop.get(f"{SHOP}/busca", params={"min": "abc", "pagina": "x"}).status_code == 200


def _signed_in_with_basket(client, email: str) -> None:
    _searchable(client, PRODUCT["sku"])
    add_to_cart(client, PRODUCT["sku"])
    register_and_sign_in(client, email)


def test_a_price_changed_after_the_page_was_shown_is_said_and_nothing_is_charged(
    client, product, auth
):
    _signed_in_with_basket(client, "preco@example.com.br")
    pay_page = _checkout_to_order(client)
    changed = client.put(
        f"/api/v1/stock-items/{PRODUCT['sku']}/price",
        json={"price": {"amount": "139.90", "currency": "BRL"}},
        headers=auth("admin", "adm"),
    )
    assert changed.status_code == 200, changed.text
    paid = post_form(
        client,
        f"{SHOP}/checkout/pagar",
        pay_page,
        **_pay_fields(pay_page),
        method="pix",
        shipping_method="standard",
    )
    assert paid.status_code == 409
    assert "O preço mudou" in paid.text
    assert client.get(f"{SHOP}/conta").text.count("/loja/pedidos/") == 0


def test_a_coupon_deactivated_while_in_the_basket_is_said_at_checkout_and_left_out(
    client, product, auth
):
    coupon = {
        "code": "SOHOJE",
        "description": "hoje",
        "kind": "percent",
        "value": "10",
        "valid_from": "2020-01-01T00:00:00Z",
        "valid_until": "2099-01-01T00:00:00Z",
    }
    assert (
        client.post("/api/v1/promotions", json=coupon, headers=auth("admin", "adm")).status_code
        == 201
    )
    _searchable(client, PRODUCT["sku"])
    add_to_cart(client, PRODUCT["sku"])
    cart = client.get(f"{SHOP}/carrinho").text
    assert post_form(client, f"{SHOP}/carrinho/cupom", cart, coupon="SOHOJE").status_code == 200
    client.post("/api/v1/promotions/SOHOJE/deactivate", headers=auth("admin", "adm"))
    register_and_sign_in(client, "cupom@example.com.br")
    page = client.get(f"{SHOP}/checkout")
    assert page.status_code == 200
    assert "Este cupom foi desativado" in page.text


def test_a_bad_address_and_a_bad_cpf_are_said_and_what_was_typed_is_kept(client, product):
    _signed_in_with_basket(client, "endereco@example.com.br")
    page = client.get(f"{SHOP}/checkout").text
    bad = post_form(
        client,
        f"{SHOP}/checkout/endereco",
        page,
        **{**ADDRESS, "state": "XX", "line1": "Rua\x07 1"},
    )
    assert bad.status_code == 422
    assert "sigla do estado" in bad.text
    assert "caracteres invisíveis" in bad.text
    assert 'value="São Paulo"' in bad.text
    pay_page = _checkout_to_order(client)
    paid = post_form(
        client,
        f"{SHOP}/checkout/pagar",
        pay_page,
        **_pay_fields(pay_page),
        method="boleto",
        payer_cpf="111.111.111-11",
        shipping_method="standard",
    )
    assert paid.status_code == 422
    assert "CPF inválido" in paid.text
    assert 'value="111.111.111-11"' in paid.text


@pytest.mark.parametrize(
    ("encoded", "shown"),
    [
        ("Avenida Hostil%00", "caracteres invisíveis"),
        ("Avenida Hostil%ED%A0%80", ""),
    ],  # NUL; a lone surrogate
)
def test_hostile_text_in_a_form_is_refused_and_no_address_is_kept(client, product, encoded, shown):
    _signed_in_with_basket(client, f"hostil{len(shown)}@example.com.br")
    page = client.get(f"{SHOP}/checkout").text
    fields = {**ADDRESS, "line1": "LINE1", "csrf": csrf_of(page)}
    body = urlencode(fields).replace("LINE1", encoded).encode()
    kind = {"content-type": "application/x-www-form-urlencoded", **ORIGIN}
    answer = client.post(f"{SHOP}/checkout/endereco", content=body, headers=kind)
    assert answer.status_code == 422, answer.text
    assert shown in answer.text
    assert "Avenida Hostil" not in client.get(f"{SHOP}/conta").text  # nothing was kept


PERSONAL = (
    "/loja/checkout",
    "/loja/conta",
    "/loja/conta/meus-dados",
    f"/loja/pedidos/{'0' * 8}-0000-4000-8000-{'0' * 12}",
)


@pytest.mark.parametrize("path", PERSONAL)
def test_a_personal_page_sends_a_stranger_to_sign_in_and_a_bearer_token_is_no_session(
    shop, auth, path
):
    for headers in ({}, auth()):  # the storefront's session is its cookie, not a bearer
        answer = shop.get(path, headers=headers, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/loja/entrar?next=")


def test_another_shoppers_order_is_a_404_page(client, product):
    _searchable(client, PRODUCT["sku"])
    register_and_sign_in(client, "curiosa@example.com.br", next_path="/loja/conta")
    answer = client.get(f"/loja/pedidos/{uuid.uuid4()}")
    assert answer.status_code == 404
    assert "text/html" in answer.headers["content-type"]


def test_the_mail_links_and_the_root_lead_into_the_shop(shop):
    assert shop.get("/", follow_redirects=False).headers["location"] == "/loja"
    verify = shop.get("/verify-email?token=abc", follow_redirects=False)
    assert verify.headers["location"] == "/loja/confirmar-email?token=abc"
    reset = shop.get("/reset-password?token=abc", follow_redirects=False)
    assert reset.headers["location"] == "/loja/senha?token=abc"


def test_the_web_manifest_is_installable_and_its_icons_are_served(shop):
    manifest = shop.get("/loja/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert body["start_url"].startswith(body["scope"])
    assert body["display"] == "standalone"
    sizes = set()
    for icon in body["icons"]:
        answer = shop.get(icon["src"])
        assert answer.status_code == 200
        assert answer.content.startswith(b"\x89PNG")
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes
    worker = shop.get("/loja/sw.js")
    assert worker.headers["service-worker-allowed"] == "/loja"
    assert "/loja/static/storefront." in worker.text  # this build's files to precache
    assert "/loja/conta" not in worker.text.split("CATALOG")[1].split("\n")[0]


def test_the_search_page_sorts_the_whole_result_and_answers_a_typo_with_did_you_mean(client, auth):
    # 13 products: by SKU (the order without words) the dearest comes first, so a sort
    # made within the page of 12 would leave the cheapest alone on page 2
    for i in range(1, 14):
        item = {**PRODUCT, "sku": f"ECO-S{i:02d}", "name": f"Vela de soja {i:02d}"}
        item["price"] = {"amount": f"{200 - i}.00", "currency": "BRL"}
        answer = client.post("/api/v1/stock-items", json=item, headers=auth("admin", "adm"))
        assert answer.status_code == 201, answer.text
    wait_for(lambda: "13 produto" in client.get(f"{SHOP}/busca", params={"q": "vela"}).text)
    last = client.get(f"{SHOP}/busca", params={"q": "vela", "ordem": "price_asc", "pagina": 2})
    assert re.findall(r"Vela de soja \d\d", last.text) == ["Vela de soja 01"], last.text
    typo = client.get(f"{SHOP}/busca", params={"q": "velaa"})
    assert typo.status_code == 200
    assert 'id="did-you-mean"' in typo.text, typo.text
    assert f'href="{SHOP}/busca?q=vela">vela</a>' in typo.text  # the word it was meant to be
    assert re.search(rf'href="{SHOP}/busca\?q=Vela\+de\+soja\+\d\d"', typo.text)


def test_a_new_price_shows_on_the_search_page_within_the_second_it_is_kept(client, product, auth):
    _searchable(client, PRODUCT["sku"])
    url = f"{SHOP}/busca?q=garrafa"
    first = client.get(url)
    assert "R$ 129,90" in first.text
    assert client.get(url).content == first.content  # kept: every process answers the same
    changed = client.put(
        f"/api/v1/stock-items/{PRODUCT['sku']}/price",
        json={"price": {"amount": "99.90", "currency": "BRL"}},
        headers=auth("admin", "adm"),
    )
    assert changed.status_code == 200, changed.text
    # the projection's lag plus at most the page's second in Redis, not the page's max-age
    # (300 s): were the page kept as long as browsers may keep it, this would time out
    wait_for(lambda: "R$ 99,90" in client.get(url).text, timeout_s=15)
