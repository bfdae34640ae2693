"""A shop's day in the back office, in headless Chromium, with no API call of the test's
own except the customer's: import the catalog CSV (dry run first), receive stock, edit a
product, launch a coupon; a customer's order arrives (through the API); ship it; the
customer asks for a return; approve and receive it; the home page then shows nothing
waiting. Every page visited fits 1280 px and a 390 px phone without scrolling the page
sideways, and axe-core finds no serious or critical violation on it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from domain.order import CONFIRMED, SHIPPED
from infrastructure.bootstrap import Container
from tests.browser.conftest import token
from tests.browser.test_console import follow, sign_in, wait_for_job
from tests.checkout import wait_until

CATALOG = (
    "sku;name;category;price;stock;certifications;recyclable\r\n"
    "ECO-CAMISETA;Camiseta de algodão orgânico;moda;89,90;30;GOTS;sim\r\n"
    "ECO-CANUDO;Canudo de inox;casa;19,90;50;;sim\r\n"
    "ECO-SHAMPOO;Shampoo sólido;higiene;34,80;25;Vegano|Cruelty free;não\r\n"
).encode("latin-1")
ADDRESS = {"line1": "Rua das Flores 10", "city": "Recife", "state": "PE"} | {
    "postal_code": "50010-000"
}
CARD = {"card_number": "4242424242424242", "expiry": "12/39", "cvc": "123", "holder": "Ana"}
WIDTHS = (1280, 390)
SERIOUS = ("serious", "critical")
checked: dict[str, list[str]] = {}  # page -> problems, filled as the day goes


def check_page(browser: Any, name: str, screenshots: Any = None) -> None:
    """The page fits both widths (tables scroll in their box) and axe-core finds nothing
    serious or critical; a screenshot at 1280 px for the README."""
    from axe_selenium_python import Axe

    problems = []
    for width in WIDTHS:
        browser.set_window_size(width, 900)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        if overflow > 0:
            problems.append(f"{width}px: the page scrolls sideways by {overflow}px")
    browser.set_window_size(1280, 900)
    if screenshots is not None:
        browser.save_screenshot(str(screenshots / f"back-office-{name}.png"))
    axe = Axe(browser)
    axe.inject()
    results = axe.run()
    for violation in results["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [n["target"] for n in violation["nodes"]][:3]
            problems.append(f"axe {violation['id']} ({violation['impact']}): {targets}")
    checked[name] = problems


def submit(browser: Any, form_id: str, **fields: str) -> None:
    form = browser.find_element(By.ID, form_id)
    for field_id, value in fields.items():
        element = browser.find_element(By.ID, field_id)
        element.clear()
        element.send_keys(value)
    follow(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def api(base_url: str, sub: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token('customer', sub)}"}
    return httpx.Client(base_url=f"{base_url}/api/v1", headers=headers, timeout=20)


def customer_orders(base_url: str, coupon: str) -> str:
    """The customer's part: a cart with the coupon, checked out with a card."""
    with api(base_url, "ana") as ana:
        cart = ana.post("/carts", json={}).json()["cart_id"]
        added = ana.post(f"/carts/{cart}/items", json={"sku": "ECO-CAMISETA", "quantity": 2})
        assert added.is_success, added.text
        assert ana.put(f"/carts/{cart}/coupon", json={"code": coupon}).is_success
        placed = ana.post(
            f"/carts/{cart}/checkout", json={"shipping_address": ADDRESS, "payment": CARD}
        )
        assert placed.is_success, placed.text
        return str(placed.json()["order_id"])


def customer_returns(base_url: str, order_id: str) -> None:
    with api(base_url, "ana") as ana:
        asked = ana.post(
            f"/orders/{order_id}/returns",
            json={"lines": [{"sku": "ECO-CAMISETA", "quantity": 1}], "reason": "ficou pequena"},
        )
        assert asked.status_code == 202, asked.text


@pytest.fixture(scope="module")
def catalog_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("catalog") / "catalogo.csv"
    path.write_bytes(CATALOG)
    return str(path)


def test_a_shops_day_in_the_back_office(
    browser, base_url, system: Container, screenshots, catalog_file
):
    sign_in(browser, base_url, "admin", "loja-1")
    check_page(browser, "home-morning")

    # The catalog: a dry run lists what would change, then the import runs as a job.
    browser.get(f"{base_url}/console/products")
    follow(browser, browser.find_element(By.ID, "catalog-import"))
    browser.find_element(By.ID, "import-file").send_keys(catalog_file)
    follow(browser, browser.find_element(By.ID, "run-import"))
    assert "3 criados" in browser.find_element(By.ID, "import-counts").text
    check_page(browser, "import-dry-run", screenshots)
    browser.find_element(By.ID, "import-file").send_keys(catalog_file)
    browser.find_element(By.ID, "import-dry-run").click()  # untick: the real run
    follow(browser, browser.find_element(By.ID, "run-import"))
    assert wait_for_job(browser) == "job-done"
    assert system.wait_for_projections(system.head_position(), timeout=30)
    browser.get(f"{base_url}/console/products")
    rows = browser.find_elements(By.CSS_SELECTOR, "#products .product-row")
    assert len(rows) == 3
    assert "R$ 34,80" in browser.find_element(By.ID, "products").text
    check_page(browser, "products", screenshots)

    # Receive stock and edit a product.
    browser.get(f"{base_url}/console/products/ECO-CANUDO")
    submit(browser, "receive-form", **{"receive-quantity": "20", "receive-reference": "NF 123"})
    assert browser.find_element(By.ID, "on-hand").text == "70"
    submit(browser, "edit-form", name="Canudo de inox com escovinha")
    assert "escovinha" in browser.find_element(By.TAG_NAME, "h1").text
    check_page(browser, "product", screenshots)

    # Launch a coupon (keyboard only: Enter in the last field submits the form).
    browser.get(f"{base_url}/console/promotions")
    browser.find_element(By.ID, "coupon-code").send_keys("BEMVINDO")
    browser.find_element(By.ID, "coupon-value").send_keys("10")
    until = (date.today() + timedelta(days=30)).strftime("%m%d%Y")
    browser.find_element(By.ID, "coupon-until").send_keys(until)
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "coupon-max-uses").send_keys("100", Keys.ENTER)
    WebDriverWait(browser, 20).until(lambda _: _stale(page))
    assert browser.find_element(By.ID, "promotion-BEMVINDO")
    check_page(browser, "promotions")

    # A customer's order arrives; the home page says one order waits to ship.
    order_id = customer_orders(base_url, "BEMVINDO")
    wait_until(
        lambda: system.services.orders.order_of(order_id).status == CONFIRMED, what="confirmed"
    )
    assert system.wait_for_projections(system.head_position(), timeout=30)
    browser.get(f"{base_url}/console")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#waiting-to_ship a"))
    follow(browser, browser.find_element(By.CSS_SELECTOR, f"a[href='/console/orders/{order_id}']"))
    check_page(browser, "order-to-ship")
    submit(browser, "ship-form", **{"ship-tracking": "BR123456789BR"})
    assert system.services.orders.order_of(order_id).status == SHIPPED
    assert browser.find_element(By.ID, "tracking").text == "BR123456789BR"

    # The customer asks for a return; approve it, then receive the parcel.
    customer_returns(base_url, order_id)
    assert system.wait_for_projections(system.head_position(), timeout=30)
    browser.get(f"{base_url}/console")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "#waiting-returns_to_decide a"))
    check_page(browser, "returns", screenshots)
    follow(browser, browser.find_element(By.CSS_SELECTOR, ".return-row button.approve"))
    assert system.wait_for_projections(system.head_position(), timeout=30)
    browser.get(f"{base_url}/console/returns?status=approved")
    follow(browser, browser.find_element(By.CSS_SELECTOR, ".return-row button.receive"))
    wait_until(
        lambda: (
            system.readers.back_office.count_returns("approved") == 0
            and system.readers.back_office.count_returns("requested") == 0
        ),
        what="the return received",
    )

    # Evening: nothing waits.
    browser.get(f"{base_url}/console")
    assert browser.find_element(By.ID, "nothing-waiting")
    assert browser.find_element(By.ID, "sales-total").text.startswith("R$ ")
    check_page(browser, "home-evening")
    browser.save_screenshot(str(screenshots / "back-office-home.png"))


def _stale(element: Any) -> bool:
    try:
        element.is_enabled()
    except Exception:
        return True
    return False


EVERY_PAGE = [
    "/console/customers",
    "/console/payments?queue=flagged",
    "/console/payments?queue=awaiting",
    "/console/webhooks",
    "/console/shipping",
    "/console/products/new",
    "/console/returns?status=all",
    "/console/orders",
    "/console/read-side",
    "/console/analytics",
    "/console/lgpd",
    "/console/catalog/import",
    "/console/products?lang=en",
    "/console?lang=en",
]


def test_every_back_office_page_fits_and_passes_axe(browser, base_url, screenshots):
    sign_in(browser, base_url, "admin", "loja-1")
    for path in EVERY_PAGE:
        browser.get(base_url + path)
        name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-")
        check_page(browser, name)
    sign_in(browser, base_url, "auditor", "aud-1")
    for path in ("/console/audit", "/console/lgpd"):
        browser.get(base_url + path)
        check_page(browser, f"auditor{path.replace('/', '-')}")
    failures = {page: found for page, found in checked.items() if found}
    assert failures == {}
