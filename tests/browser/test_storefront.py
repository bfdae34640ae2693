"""The storefront in headless Chromium, as new shoppers use it: on a 1280 px desktop and on
a 390 px phone (keyboard only there), search with a typo and take the page's correction,
filter by category, open a product and pick its other size, add it to the cart, apply a
coupon, register on the way to checkout (the link from the mail), give an address, pay by
Pix — the sandbox payer pays, and the order page moves on by itself — then see the order
delivered and ask for a withdrawal; another pays by boleto, another by card with 3-D
Secure through the sandbox's tokenization (each on both widths). The service worker keeps
seen catalog pages for offline browsing, never a personal page. Every page visited fits
both widths and axe-core finds no serious or critical violation on it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from api.http.app import create_app
from api.storefront.account import ERASE_WORD
from application.products import ProductInput, VariantInput
from domain.money import Money
from domain.product import ProductNotFoundError, SustainabilityProfile
from infrastructure.accounts_wiring import account_system
from infrastructure.bootstrap import Container
from projections.search import SearchQuery
from tests.browser.conftest import serving
from tests.checkout import wait_until

# One worker runs this module in file order (make test: --dist loadgroup): its last test
# checks that the purchases before it visited every kind of page.
pytestmark = pytest.mark.xdist_group("storefront-browser")

SHOP = "/loja"
PASSWORD = "verde-bambu-2026-sol"
SERIOUS = ("serious", "critical")
WIDTHS = (1280, 390)
PRODUCTS = [
    ("ECO-ESCOVA", "Escova de dentes de bambu", "higiene", "14.90", "0.150", ["FSC"]),
    ("ECO-SACOLA", "Sacola de algodão orgânico", "moda", "39.90", "0.900", ["GOTS"]),
    # found by the same word as the thermos, in another category: the filter leaves it out
    ("ECO-GARRAFA-VIDRO", "Garrafa de vidro reciclado", "cozinha", "49.90", "0.800", ["FSC"]),
]
THERMOS = "Garrafa térmica de inox"
VARIANTS = (("ECO-GARRAFA", "500 ml", "129.90"), ("ECO-GARRAFA-750", "750 ml", "149.90"))
checked: dict[str, list[str]] = {}


@pytest.fixture(scope="module")
def catalog(system: Container) -> list[str]:
    """The thermos is a product with two variants (sizes) in the category Casa; the rest
    are plain stock items."""
    services = system.services
    for sku, name, category, price, co2, certifications in PRODUCTS:
        services.catalog.register_stock_item(
            sku=sku,
            name=name,
            description=f"{name}: feito para durar.",
            category=category,
            price=Money.brl(price),
            initial_quantity=50,
            sustainability={
                "carbon_footprint_kg": co2,
                "certifications": certifications,
                "recyclable": True,
                "biodegradable": False,
            },
        )
    services.products.add_category("casa", "Casa")
    thermos = services.products.create_product(
        ProductInput(
            slug="garrafa-termica-de-inox",
            name=THERMOS,
            description=f"{THERMOS}: feita para durar.",
            option_names=("tamanho",),
            variants=[
                VariantInput(sku, {"tamanho": size}, Money.brl(price), 50)
                for sku, size, price in VARIANTS
            ],
            profile=SustainabilityProfile(Decimal("3.2"), 90, "recycled"),
            category="casa",
        )
    )
    now = datetime.now(tz=UTC)
    services.promotions.launch_promotion(
        code="VERDE10",
        description="10% na primeira compra",
        kind="percent",
        value=Decimal("10"),
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=30),
    )
    skus = [p[0] for p in PRODUCTS] + [v[0] for v in VARIANTS]
    wait_until(
        lambda: system.readers.search.search(SearchQuery()).total >= len(skus),
        what="the products in search",
    )
    wait_until(lambda: _family_shown(system, thermos.aggregate_id), what="the thermos's variants")
    return skus


def _family_shown(system: Container, product_id: uuid.UUID) -> bool:
    try:
        system.readers.products.get(str(product_id), system.services.products.catalog_today())
    except ProductNotFoundError:
        return False
    return True


def check_page(browser: Any, name: str, screenshots: Any = None) -> None:
    """Fits 1280 px and 390 px without sideways scrolling; axe-core: nothing serious."""
    from axe_selenium_python import Axe

    current = browser.get_window_size()
    problems = []
    for width in WIDTHS:
        browser.set_window_size(width, 900)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        if overflow > 0:
            problems.append(f"{width}px: the page scrolls sideways by {overflow}px")
        if screenshots is not None and name in ("home", "product", "cart", "order-pix"):
            kind = "desktop" if width > 400 else "phone"
            browser.save_screenshot(str(screenshots / f"storefront-{name}-{kind}.png"))
    browser.set_window_size(current["width"], current["height"])
    axe = Axe(browser)
    axe.inject()
    for violation in axe.run()["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [n["target"] for n in violation["nodes"]][:3]
            why = violation["nodes"][0].get("failureSummary", "")[:300]
            problems.append(f"axe {violation['id']} ({violation['impact']}): {targets} {why}")
    checked[name] = problems


def press(browser: Any, element: Any, keyboard: bool) -> None:
    """Activate a link or button (by keyboard: Enter on the focused element)."""
    page = browser.find_element(By.TAG_NAME, "html")
    if keyboard:
        element.send_keys(Keys.ENTER)
    else:
        element.click()
    WebDriverWait(browser, 20).until(lambda _: _gone(page))


def _gone(element: Any) -> bool:
    from selenium.common.exceptions import WebDriverException

    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def type_into(browser: Any, field_id: str, text: str) -> Any:
    element = browser.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(text)
    return element


def submit_of(browser: Any, form_selector: str) -> Any:
    return browser.find_element(By.CSS_SELECTOR, f"{form_selector} button[type=submit]")


def register_through_checkout(
    browser: Any, base_url: str, system: Container, email: str, keyboard: bool
) -> None:
    """From the cart: checkout asks to sign in; register, open the mail's link, confirm,
    sign in; back at checkout."""
    press(browser, browser.find_element(By.LINK_TEXT, "Finalizar compra"), keyboard)
    assert "/loja/entrar" in browser.current_url
    check_page(browser, "sign-in")
    type_into(browser, "r-email", email)
    type_into(browser, "r-password", PASSWORD)
    press(browser, submit_of(browser, "form[action^='/loja/cadastro']"), keyboard)
    assert browser.find_element(By.ID, "registered").is_displayed()
    mails = [m for m in account_system(system).outbox.mails() if m["kind"] == "verify_email"]
    link = re.search(r"(/verify-email\?token=\S+)", mails[-1]["body"]).group(1)  # type: ignore[union-attr]
    browser.get(base_url + link)
    check_page(browser, "verify")
    press(browser, browser.find_element(By.ID, "verify"), keyboard)
    type_into(browser, "f-email", email)
    type_into(browser, "f-password", PASSWORD)
    next_field = browser.find_element(
        By.CSS_SELECTOR, "form[action^='/loja/entrar'] input[name=next]"
    )
    assert next_field.get_attribute("value") == "/loja/checkout"
    press(browser, submit_of(browser, "form[action^='/loja/entrar']"), keyboard)
    assert browser.current_url.endswith("/loja/checkout"), browser.current_url


def choose(browser: Any, field_id: str, value: str, keyboard: bool) -> None:
    """Pick an option of a select (by keyboard: typing its text, as a shopper does)."""
    from selenium.webdriver.support.ui import Select

    field = browser.find_element(By.ID, field_id)
    option = field.find_element(By.CSS_SELECTOR, f"option[value='{value}']")
    if keyboard:
        field.send_keys(option.text)
    else:
        Select(field).select_by_value(value)
    assert option.is_selected()


def fill_basket(browser: Any, base_url: str, keyboard: bool, screenshots: Any) -> None:
    """Search with a typo, take the page's correction, filter by category, open the
    thermos, pick its other size, add two, apply a coupon."""
    browser.get(f"{base_url}{SHOP}")
    check_page(browser, "home", screenshots)
    search = type_into(browser, "busca-q", "garafa")
    page = browser.find_element(By.TAG_NAME, "html")
    search.send_keys(Keys.ENTER)
    WebDriverWait(browser, 20).until(lambda _: _gone(page))
    check_page(browser, "search-typo")
    assert "Nenhum produto encontrado" in browser.page_source
    press(browser, browser.find_element(By.CSS_SELECTOR, "#did-you-mean a"), keyboard)
    assert browser.find_element(By.ID, "busca-q").get_attribute("value") == "garrafa"
    assert "Garrafa de vidro reciclado" in browser.page_source
    check_page(browser, "search")
    choose(browser, "f-cat", "casa", keyboard)  # the tree's slug; the shopper reads "Casa"
    assert "Casa (" in browser.find_element(By.CSS_SELECTOR, "#f-cat option[value='casa']").text
    press(browser, submit_of(browser, "form.filters"), keyboard)
    assert "categoria=casa" in browser.current_url
    assert "Garrafa de vidro reciclado" not in browser.page_source  # filtered out
    check_page(browser, "search-filtered")
    press(browser, browser.find_element(By.LINK_TEXT, f"{THERMOS} — 500 ml"), keyboard)
    check_page(browser, "product", screenshots)
    press(browser, browser.find_element(By.LINK_TEXT, "750 ml"), keyboard)  # the other size
    assert browser.current_url.endswith("/produto/ECO-GARRAFA-750"), browser.current_url
    assert browser.find_element(By.TAG_NAME, "h1").text == f"{THERMOS} — 750 ml"
    assert "R$ 149,90" in browser.find_element(By.CSS_SELECTOR, ".product .price").text
    type_into(browser, "quantity", "2")
    add = submit_of(browser, "form.add")
    add.send_keys(Keys.ENTER) if keyboard else add.click()
    # htmx answers in place: the confirmation and a link to the cart, no page load
    WebDriverWait(browser, 20).until(lambda b: "Adicionado" in b.find_element(By.ID, "added").text)
    press(browser, browser.find_element(By.CSS_SELECTOR, "#added a"), keyboard)
    assert "/loja/carrinho" in browser.current_url
    assert f"{THERMOS} — 750 ml" in browser.page_source
    type_into(browser, "f-coupon", "verde10")
    press(browser, submit_of(browser, "form[action^='/loja/carrinho/cupom']"), keyboard)
    assert "Cupom VERDE10 aplicado" in browser.page_source
    check_page(browser, "cart", screenshots)


def give_address(browser: Any, keyboard: bool) -> None:
    check_page(browser, "checkout-address")
    for field, value in (
        ("f-postal_code", "01310-100"),
        ("f-line1", "Av. Paulista 1000"),
        ("f-city", "São Paulo"),
        ("f-state", "SP"),
    ):
        type_into(browser, field, value)
    press(browser, submit_of(browser, "#address-form"), keyboard)
    assert browser.find_element(By.ID, "pay-form")
    check_page(browser, "checkout")


def pay_sandbox(base_url: str, system: Container, payment_id: str) -> None:
    """The sandbox payer pays (what `ecovarejo sandbox pay --url` sends): a signed webhook."""
    services = system.services
    payment = services.payments.payment(uuid.UUID(payment_id))
    gateway = next(g for g in services.payments.gateways if g.name == payment.gateway)
    headers, body = gateway.payer_webhook(gateway.charge(payment.charge_id))
    answer = httpx.post(
        f"{base_url}/api/v1/payments/webhooks/sandbox", content=body, headers=headers
    )
    assert answer.status_code == 200, answer.text


def status_of(browser: Any) -> str:
    """The order's status on the page; "" while htmx swaps the element being read."""
    try:
        return str(browser.find_element(By.ID, "order-status").get_attribute("data-status"))
    except (StaleElementReferenceException, NoSuchElementException):
        return ""


def order_id_of(browser: Any) -> uuid.UUID:
    found = re.search(r"/pedidos/([0-9a-f-]{36})", browser.current_url)
    assert found, browser.current_url
    return uuid.UUID(found.group(1))


@pytest.mark.parametrize(("width", "keyboard"), [(1280, False), (390, True)])
def test_a_new_shopper_buys_by_pix_and_the_page_moves_on_by_itself_when_paid(
    browser, base_url, system, catalog, screenshots, width, keyboard
):
    browser.delete_all_cookies()
    browser.set_window_size(width, 900)
    fill_basket(browser, base_url, keyboard, screenshots if width == 1280 else None)
    register_through_checkout(browser, base_url, system, f"pix-{width}@example.com.br", keyboard)
    give_address(browser, keyboard)
    assert browser.find_element(By.ID, "m-pix").is_selected()
    press(browser, browser.find_element(By.ID, "pay"), keyboard)
    WebDriverWait(browser, 20).until(lambda b: "pix-qr" in b.page_source)
    order_id = order_id_of(browser)
    check_page(browser, "order-pix", screenshots if width == 1280 else None)
    assert status_of(browser) == "awaiting_payment"
    assert browser.find_element(By.ID, "pix-code").get_attribute("value").startswith("000201")
    pay_sandbox(
        base_url, system, browser.find_element(By.ID, "payment-id").get_attribute("textContent")
    )
    # nobody touches the page: htmx polls and reloads it once the payment is in
    WebDriverWait(browser, 30).until(lambda b: status_of(b) == "confirmed")
    assert "Pagamento confirmado" in browser.page_source
    # the back button after paying: the checkout has no basket left, no second order
    browser.back()
    browser.get(f"{base_url}{SHOP}/checkout")
    assert "/loja/carrinho" in browser.current_url
    # the parcel travels and arrives; the shopper withdraws within 7 days (CDC art. 49)
    system.services.orders.ship_order(order_id, "correios", f"BR{width}XX")
    system.services.orders.track_order(order_id, "delivered", datetime.now(tz=UTC))
    browser.get(f"{base_url}{SHOP}/pedidos/{order_id}")
    WebDriverWait(browser, 20).until(lambda b: status_of(b) == "delivered" or b.refresh())
    assert browser.find_elements(By.CSS_SELECTOR, "ol.tracking li")  # the parcel's steps
    check_page(browser, "order-delivered")
    type_into(browser, "f-reason", "Mudei de ideia")
    press(browser, submit_of(browser, "#return-form"), keyboard)
    assert "Pedido de devolução registrado" in browser.page_source
    browser.get(f"{base_url}{SHOP}/conta")
    check_page(browser, "account")
    assert browser.page_source.count("/loja/pedidos/") == 1


def pick(browser: Any, element_id: str, keyboard: bool) -> None:
    """Choose a radio button (by keyboard: Space on it)."""
    element = browser.find_element(By.ID, element_id)
    element.send_keys(Keys.SPACE) if keyboard else element.click()
    assert element.is_selected()


@pytest.mark.parametrize(("width", "keyboard"), [(1280, False), (390, True)])
def test_a_shopper_pays_by_boleto_and_prints_it(
    browser, base_url, system, catalog, width, keyboard
):
    browser.delete_all_cookies()
    browser.set_window_size(width, 900)
    fill_basket(browser, base_url, keyboard, None)
    register_through_checkout(browser, base_url, system, f"boleto-{width}@example.com.br", keyboard)
    give_address(browser, keyboard)
    pick(browser, "m-boleto", keyboard)
    press(browser, browser.find_element(By.ID, "pay"), keyboard)
    assert "CPF" in browser.page_source  # no CPF: said on the page, nothing placed
    pick(browser, "m-boleto", keyboard)
    type_into(browser, "f-payer_cpf", "529.982.247-25")
    press(browser, browser.find_element(By.ID, "pay"), keyboard)
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.ID, "boleto-line"))
    assert re.fullmatch(r"[0-9 .]{47,60}", browser.find_element(By.ID, "boleto-line").text)
    check_page(browser, "order-boleto")
    press(browser, browser.find_element(By.LINK_TEXT, "Imprimir boleto"), keyboard)
    check_page(browser, "boleto")


@pytest.mark.parametrize(("width", "keyboard"), [(1280, False), (390, True)])
def test_a_shopper_pays_by_card_with_3d_secure_and_no_card_field_reaches_the_shop(
    browser, base_url, system, catalog, width, keyboard
):
    browser.delete_all_cookies()
    browser.set_window_size(width, 900)
    fill_basket(browser, base_url, keyboard, None)
    register_through_checkout(browser, base_url, system, f"cartao-{width}@example.com.br", keyboard)
    give_address(browser, keyboard)
    for field in ("c-number", "c-expiry", "c-cvc", "c-holder"):  # never posted to us
        # read in the page in one step: the pay form's script may re-render the fields
        # between a find and a read (a stale node), but never gives them a name
        name = browser.execute_script(
            "const f = document.getElementById(arguments[0]);"
            "return f === null ? 'missing' : f.getAttribute('name');",
            field,
        )
        assert name in (None, ""), (field, name)
    pick(browser, "m-card", keyboard)
    type_into(browser, "c-number", "4000002500003155")  # the sandbox's 3-D Secure card
    type_into(browser, "c-expiry", "12/39")
    type_into(browser, "c-cvc", "123")
    type_into(browser, "c-holder", "Ana Souza")
    pay = browser.find_element(By.ID, "pay")
    pay.send_keys(Keys.ENTER) if keyboard else pay.click()  # tokenized first, then posted
    WebDriverWait(browser, 30).until(
        lambda b: (
            "/pedidos/" in b.current_url
            and b.find_elements(By.ID, "order-status")
            and status_of(b) == "awaiting_authentication"
        )
    )
    check_page(browser, "order-3ds")
    press(browser, browser.find_element(By.ID, "authenticate"), keyboard)
    WebDriverWait(browser, 30).until(lambda b: status_of(b) == "confirmed")
    # then deletes the account: a wrong confirmation word is said, the right one erases
    browser.get(f"{base_url}{SHOP}/conta")
    type_into(browser, "f-confirm", "sim")
    press(browser, submit_of(browser, "form[action^='/loja/conta/excluir']"), keyboard)
    assert browser.find_element(By.ID, "f-confirm").get_attribute("aria-invalid") == "true"
    check_page(browser, "account-delete-refused")
    type_into(browser, "f-confirm", ERASE_WORD)
    press(browser, submit_of(browser, "form[action^='/loja/conta/excluir']"), keyboard)
    check_page(browser, "deleted")
    browser.get(f"{base_url}{SHOP}/conta")
    assert "/loja/entrar" in browser.current_url  # signed out


def in_cache(browser: Any, url: str) -> bool:
    """Whether the page's caches hold `url` (Selenium hands the callback in last)."""
    return bool(
        browser.execute_async_script(
            "const url = arguments[0], done = arguments[arguments.length - 1];"
            "caches.match(url).then(r => done(Boolean(r)), e => done(String(e)));",
            url,
        )
    )


def worker_scope(browser: Any) -> str:
    return str(
        browser.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.serviceWorker.ready.then(r => done(r.scope), e => done(String(e)));"
        )
    )


def test_the_service_worker_takes_the_shop_and_serves_seen_catalog_pages_offline(
    browser, system, catalog
):
    """The shop on its own server, stopped half-way: the product seen is served from the
    worker's cache, a page never seen and a personal page show the offline page."""
    browser.set_window_size(1280, 900)
    with serving(create_app(system)) as shop:
        browser.delete_all_cookies()
        browser.get(f"{shop}{SHOP}")
        assert worker_scope(browser) == f"{shop}{SHOP}"
        product = f"{shop}{SHOP}/produto/ECO-ESCOVA"
        browser.get(product)  # seen once, with the worker in charge
        assert browser.execute_script("return Boolean(navigator.serviceWorker.controller)")
        wait_until(lambda: in_cache(browser, product), what="the product page in the cache")
        browser.get(f"{shop}{SHOP}/carrinho")  # a personal page, seen with the worker on
        browser.get(f"{shop}{SHOP}/privacidade")
        wait_until(lambda: in_cache(browser, f"{shop}{SHOP}/privacidade"), what="a later page")
        assert not in_cache(browser, f"{shop}{SHOP}/carrinho"), "a personal page was kept"
        assert in_cache(browser, f"{shop}{SHOP}/offline")  # precached at install
    # the server is gone: the shopper is offline
    browser.get(product)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Escova de dentes de bambu"
    for unseen in ("/busca?q=nunca-vista", "/carrinho"):
        browser.get(f"{shop}{SHOP}{unseen}")
        assert "Você está sem conexão" in browser.page_source, unseen
    check_page(browser, "offline-served")


def test_every_storefront_page_visited_fits_and_passes_axe(browser, base_url):
    for page in (
        "/privacidade",
        "/trocas-e-devolucoes",
        "/cookies",
        "/offline",
        "/nada",
        "/senha",
        "/busca?q=garrafa&lang=en",
        "/busca?min=abc&max=-1",
    ):
        browser.get(f"{base_url}{SHOP}{page}")
        check_page(browser, page)
    problems = {name: found for name, found in checked.items() if found}
    assert not problems, problems
    assert {"home", "search", "product", "cart", "checkout", "order-pix", "deleted"} <= set(checked)
