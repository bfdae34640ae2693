"""The operations console driven in headless Chromium: each role sees what it may and no
more, an order is followed from checkout to shipment in its saga timeline, a parked event is
retried, a projection rebuilt, the chain verified, the charts drawn."""

from __future__ import annotations

import json
import uuid
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
from eventsourcing.utils import register_topic
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from domain.base import EventMetadata, event_context
from domain.money import Money
from domain.order import CONFIRMED
from infrastructure.bootstrap import Container
from tests.browser.conftest import token
from tests.checkout import place_order, settled, wait_until

PRODUCTS = [
    ("ECO-GARRAFA", "Garrafa térmica de inox", "casa", "129.90", "3.2"),
    ("ECO-ESCOVA", "Escova de dentes de bambu", "higiene", "14.90", "0.1"),
    ("ECO-SACOLA", "Sacola de algodão orgânico", "moda", "39.90", "0.8"),
    ("ECO-SABAO", "Sabão vegetal", "higiene", "9.90", "0.2"),
]
NAV = {
    "admin": {"nav-orders", "nav-read-side", "nav-analytics", "nav-lgpd"}
    | {"nav-products", "nav-returns", "nav-promotions"}  # the back office (issue 26)
    | {"nav-reviews"}  # reviews' moderation (issue 28)
    | {"nav-disputes", "nav-reconciliation"},  # the money pages (issue 29)
    "auditor": {"nav-audit", "nav-lgpd"},
    "customer": {"nav-orders"},
}
FORBIDDEN = {
    "admin": "/console/audit",
    "auditor": "/console/orders",
    "customer": "/console/analytics",
}
# A page that refreshes itself (a job's) can swap its document between two driver calls:
# Chromium then answers "stale element" or, at times, "node does not belong to the document".
IGNORED = (NoSuchElementException, StaleElementReferenceException, WebDriverException)


class Shop:
    """The orders the tests look at, placed as customers and shipped by an admin."""

    def __init__(self, shipped: UUID, cancelled: UUID, confirmed: UUID):
        self.shipped = shipped
        self.cancelled = cancelled
        self.confirmed = confirmed


def _as(actor: str) -> Any:
    correlation = f"test-{uuid.uuid4()}"
    return event_context(EventMetadata(actor, correlation, f"request:{correlation}"))


@pytest.fixture(scope="module")
def orders(system: Container, base_url: str) -> Shop:
    services = system.services
    with _as("admin:adm-1"):
        for sku, name, category, price, kg in PRODUCTS:
            services.catalog.register_stock_item(
                sku=sku,
                name=name,
                description="",
                category=category,
                price=Money.brl(price),
                initial_quantity=100,
                sustainability={"carbon_footprint_kg": kg, "certifications": ["FSC"]},
            )
    placed = []
    for customer, items in [
        ("ana", {"ECO-GARRAFA": 1, "ECO-ESCOVA": 3}),
        ("ana", {"ECO-SACOLA": 2}),
        ("bruno", {"ECO-SABAO": 5, "ECO-ESCOVA": 1}),
        ("bruno", {"ECO-GARRAFA": 2}),
    ]:
        with _as(f"customer:{customer}"):
            placed.append(place_order(services, items, customer=customer))
    wait_until(lambda: settled(services), what="the saga to settle the orders")
    admin = {"Authorization": f"Bearer {token('admin', 'adm-1')}"}
    with httpx.Client(base_url=base_url, headers=admin, timeout=30) as api:  # a loaded CI
        shipped = api.post(
            f"/api/v1/orders/{placed[0]}/ship",
            json={"carrier": "Correios", "tracking_code": "BR123456789"},
        )
        assert shipped.status_code == 202, shipped.text
        cancelled = api.post(f"/api/v1/orders/{placed[3]}/cancel", json={"reason": "teste"})
        assert cancelled.status_code == 202, cancelled.text
    wait_until(lambda: settled(services), what="the compensation")
    assert system.wait_for_projections(system.head_position(), timeout=30)
    assert services.orders.order_of(placed[1]).status == CONFIRMED
    return Shop(shipped=placed[0], cancelled=placed[3], confirmed=placed[1])


def sign_in(browser: Any, base_url: str, role: str, sub: str | None = None) -> None:
    browser.get(f"{base_url}/console/login")
    browser.delete_all_cookies()
    browser.get(f"{base_url}/console/login")
    browser.find_element(By.ID, "token").send_keys(token(role, sub))
    follow(browser, browser.find_element(By.ID, "sign-in"))
    assert browser.find_element(By.ID, "who").text.find(sub or f"{role}-1") >= 0


def follow(browser: Any, element: Any) -> None:
    """Click a link or a button and wait for the next page."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 20).until(lambda _: _gone(page))


def _gone(element: Any) -> bool:
    try:
        element.is_enabled()
    except WebDriverException:  # stale, or its document is gone
        return True
    return False


def ids_of(browser: Any, css: str) -> set[str]:
    return {e.get_attribute("id") for e in browser.find_elements(By.CSS_SELECTOR, css)}


def wait_for_job(browser: Any) -> str:
    """The job page refreshes itself; wait until it says done (or failed)."""
    return str(
        WebDriverWait(browser, 60, 0.2, ignored_exceptions=IGNORED).until(
            lambda b: (
                b.find_element(By.ID, "job-state").get_attribute("class") or "job-running"
            ).replace("job-running", "")
        )
    )


def test_each_role_sees_its_pages_and_gets_a_403_page_for_the_others(
    browser, base_url, orders, screenshots
):
    browser.get(f"{base_url}/console/analytics")
    assert browser.current_url.startswith(f"{base_url}/console/login?next=")
    browser.save_screenshot(str(screenshots / "sign-in.png"))
    for role, links in NAV.items():
        sign_in(browser, base_url, role)
        assert ids_of(browser, "header nav a") == links
        browser.get(base_url + FORBIDDEN[role])
        assert browser.find_element(By.ID, "error-code").text.startswith("403")
        assert "role" in browser.find_element(By.ID, "error-detail").text


def test_an_admin_follows_an_order_from_checkout_to_shipment_in_its_timeline(
    browser, base_url, orders, screenshots
):
    sign_in(browser, base_url, "admin", "adm-1")
    follow(browser, browser.find_element(By.ID, "nav-orders"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr.order-row")) == 4
    browser.save_screenshot(str(screenshots / "orders.png"))
    browser.find_element(By.CSS_SELECTOR, "#filter-status option[value=shipped]").click()
    follow(browser, browser.find_element(By.ID, "filter"))
    assert "status=shipped" in browser.current_url  # a bookmarkable link
    [row] = browser.find_elements(By.CSS_SELECTOR, "tr.order-row")
    follow(browser, row.find_element(By.TAG_NAME, "a"))
    assert browser.current_url == f"{base_url}/console/orders/{orders.shipped}"
    assert browser.find_element(By.ID, "order-status").text == "enviado"  # pt-BR (issue 26)
    assert "ECO-GARRAFA" in browser.find_element(By.ID, "lines").text
    assert "R$" in browser.find_element(By.ID, "totals").text
    assert "BR123456789" in browser.find_element(By.ID, "order-facts").text
    steps = browser.find_elements(By.CSS_SELECTOR, "#timeline li.step")
    kinds = [s.get_attribute("data-type") for s in steps]
    assert kinds[0] == "Order.Placed"
    milestones = ["Order.Placed", "Payment.Authorized", "Order.Confirmed", "Order.Shipped"]
    assert [k for k in kinds if k in milestones] == milestones
    assert "Payment.Captured" in kinds
    assert not browser.find_elements(By.CSS_SELECTOR, "#timeline li.compensation")
    placed, shipped = steps[0].text, steps[kinds.index("Order.Shipped")].text
    assert "customer:ana" in placed
    assert "admin:adm-1" in shipped
    assert "request:" in shipped  # its causation: the HTTP request that shipped it
    browser.save_screenshot(str(screenshots / "order.png"))
    browser.execute_script("arguments[0].scrollIntoView()", steps[0])
    browser.save_screenshot(str(screenshots / "order-timeline.png"))
    follow(browser, steps[kinds.index("Order.Shipped")].find_element(By.CSS_SELECTOR, "a.raw"))
    raw = json.loads(browser.find_element(By.TAG_NAME, "body").text)
    assert raw["type"] == "Order.Shipped"
    assert raw["aggregate_id"] == str(orders.shipped)
    assert raw["data"]["carrier"] == "Correios"


def test_a_cancelled_orders_compensations_are_marked_in_its_timeline(browser, base_url, orders):
    sign_in(browser, base_url, "admin")
    browser.get(f"{base_url}/console/orders/{orders.cancelled}")
    assert browser.find_element(By.ID, "order-status").text == "cancelado"
    marked = {
        e.get_attribute("data-type")
        for e in browser.find_elements(By.CSS_SELECTOR, "#timeline li.compensation")
    }
    assert "Order.Cancelled" in marked
    assert "StockItem.Released" in marked
    assert marked & {"Payment.Voided", "Payment.VoidRequested", "Payment.Refunded"}


def test_a_customer_sees_only_their_own_orders_and_anothers_order_is_a_404_page(
    browser, base_url, orders
):
    sign_in(browser, base_url, "customer", "ana")
    browser.get(f"{base_url}/console/orders")
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.order-row")
    assert len(rows) == 2
    assert all("ana" in r.text for r in rows)
    assert not browser.find_elements(By.ID, "filter-customer")
    browser.get(f"{base_url}/console/orders/{orders.shipped}")
    assert browser.find_element(By.ID, "order-status").text == "enviado"
    assert not browser.find_elements(By.ID, "timeline")  # the log's internals are not theirs
    browser.get(f"{base_url}/console/orders/{orders.cancelled}")  # bruno's
    assert browser.find_element(By.ID, "error-code").text.startswith("404")
    browser.get(f"{base_url}/console/orders?customer_id=bruno")
    assert browser.find_element(By.ID, "error-code").text.startswith("403")


class RenamedEvent:
    """What a deploy that knows the parked event's type brings (here: an event the read
    models have nothing to do with)."""

    originator_id: UUID
    originator_version: int


def test_an_admin_retries_a_parked_event_until_it_goes_through(
    browser, base_url, system, orders, screenshots
):
    topic = f"domain.gone_{uuid.uuid4().hex[:6]}:Gone.Happened"
    with psycopg.connect(system.database_url, autocommit=True) as conn:
        [position] = conn.execute(
            "INSERT INTO ecovarejo_events (originator_id, originator_version, topic, state) "
            "VALUES (gen_random_uuid(), 1, %s, '{}'::bytea) RETURNING notification_id",
            (topic,),
        ).fetchone()
    wait_until(
        lambda: any(p["position"] == position for p in system.view("stock_items").parked()),
        what="the unreadable event to be parked",
    )
    sign_in(browser, base_url, "admin")
    follow(browser, browser.find_element(By.ID, "nav-read-side"))
    follower = browser.find_element(By.ID, "follower-stock_items").text
    assert "em execução" in follower
    row_id = f"parked-stock_items-{position}"
    assert topic in browser.find_element(By.ID, row_id).text
    browser.save_screenshot(str(screenshots / "read-side.png"))
    follow(
        browser, browser.find_element(By.ID, row_id).find_element(By.CSS_SELECTOR, "button.retry")
    )
    assert "TopicError" in browser.find_element(By.ID, "notice").text
    assert "(1\N{MULTIPLICATION SIGN})" in browser.find_element(By.ID, row_id).text  # counted
    register_topic(topic, RenamedEvent)  # the code that reads it is deployed
    follow(
        browser, browser.find_element(By.ID, row_id).find_element(By.CSS_SELECTOR, "button.retry")
    )
    notice = browser.find_element(By.ID, "notice")
    assert notice.get_attribute("class") == "ok", notice.text
    assert f"#{position}" in notice.text
    assert not browser.find_elements(By.ID, row_id)
    assert browser.find_elements(By.ID, f"parked-orders-{position}")  # retried only where asked
    assert all(p["position"] != position for p in system.view("stock_items").parked())


def test_an_admin_rebuilds_a_projection_and_watches_it_finish(browser, base_url, system, orders):
    sign_in(browser, base_url, "admin")
    browser.get(f"{base_url}/console/read-side")
    before = system.view("orders").generation
    follow(browser, browser.find_element(By.ID, "rebuild-orders"))
    assert "/console/jobs/" in browser.current_url
    progress = WebDriverWait(browser, 10, 0.1, ignored_exceptions=IGNORED).until(
        lambda b: b.find_element(By.ID, "job-progress").tag_name
    )
    assert progress == "progress"
    assert wait_for_job(browser) == "job-done"
    result = browser.find_element(By.ID, "job-result").text
    assert "events" in result
    assert system.view("orders").generation != before
    browser.get(f"{base_url}/console/orders")
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr.order-row")) == 4  # same answers


def test_the_charts_show_sales_by_day_and_category_co2_and_top_products(
    browser, base_url, orders, screenshots
):
    sign_in(browser, base_url, "admin")
    follow(browser, browser.find_element(By.ID, "nav-analytics"))
    for chart, at_least in [
        ("chart-sales-day", 1),
        ("chart-sales-category", 3),
        ("chart-co2-category", 3),
        ("chart-product", 3),
    ]:
        figure = browser.find_element(By.ID, chart)
        bars = figure.find_elements(By.CSS_SELECTOR, "svg rect.bar")
        assert len(bars) >= at_least, chart
    labels = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#chart-product .label")]
    # Confirmed and shipped orders only: bruno's cancelled order is not counted.
    assert labels == ["ECO-SABAO", "ECO-ESCOVA", "ECO-SACOLA", "ECO-GARRAFA"]
    values = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#chart-product .value")]
    assert values == ["5", "4", "2", "1"]
    browser.save_screenshot(str(screenshots / "analytics.png"))


def test_an_auditor_verifies_the_chain_and_replays_an_order_to_its_first_version(
    browser, base_url, orders, screenshots
):
    sign_in(browser, base_url, "auditor")
    follow(browser, browser.find_element(By.ID, "nav-audit"))
    follow(browser, browser.find_element(By.ID, "verify"))
    assert wait_for_job(browser) == "job-done"
    assert "Cadeia íntegra" in browser.find_element(By.ID, "job-result").text
    assert "Cadeia global até a posição #" in browser.find_element(By.ID, "job-global").text
    browser.get(f"{base_url}/console/audit")
    browser.find_element(By.ID, "aggregate-id").send_keys(str(orders.shipped))
    follow(browser, browser.find_element(By.ID, "show-history"))
    latest = json.loads(browser.find_element(By.ID, "state").text)
    assert latest["status"] == "shipped"
    follow(browser, browser.find_element(By.LINK_TEXT, "v1"))
    assert browser.find_element(By.ID, "current-version").text == "v1"
    first = json.loads(browser.find_element(By.ID, "state").text)
    assert (first["version"], first["status"]) == (1, "pending")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#history-events li")) == 1
    browser.save_screenshot(str(screenshots / "audit-history.png"))


def test_the_language_switch_changes_the_words_and_is_remembered(browser, base_url, orders):
    sign_in(browser, base_url, "admin")
    browser.get(f"{base_url}/console/orders")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Pedidos"
    follow(browser, browser.find_element(By.ID, "lang-en"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Orders"
    follow(browser, browser.find_element(By.ID, "nav-read-side"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Read side"
    follow(browser, browser.find_element(By.ID, "lang-pt"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Lado de leitura"
