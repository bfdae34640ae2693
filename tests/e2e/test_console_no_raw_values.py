"""No raw value reaches a console page: every page, rendered with real data (a shipped
order with a coupon, a return, a Pix payment awaiting, a customer), in Portuguese and in
English, shows no `None`, no Python dict or list, no raw ISO timestamp, and every status
badge in the page's language."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from api.console.i18n import MESSAGES
from application.customers import CONSENT_TEXT_VERSION
from application.product_ref import own_product_id
from application.reviews import ReviewDraft
from domain.customer import Profile
from infrastructure.catalog_media_wiring import catalog_media
from tests.checkout import check_out, fill_cart, register, settled, wait_until
from tests.e2e.test_console_http import sign_in

RAW = [
    (re.compile(r"\bNone\b"), "None"),
    (re.compile(r"\{'"), "a Python dict"),
    (re.compile(r"\[\]|\['"), "a Python list"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"), "a raw ISO timestamp"),
    (
        re.compile(
            r"\d{2,4}[-/]\d{2}[-/]\d{2,4} \d{2}:\d{2}(?::\d{2})?(?![:\d]| [+-]\d{2}| [A-Z]{2,5})"
        ),
        "a time without its zone",
    ),
]
PT_MONEY = re.compile(r"R\$ ?\d+\.\d{2}(?!\d)")  # R$ 34.80 in Portuguese
BADGE = re.compile(r'<span class="status status-(\w+)"[^>]*>([^<]*)</span>')
ADMIN_PAGES = [
    "/console",
    "/console/products",
    "/console/products?status=archived",
    "/console/products/ECO-1",
    "/console/products/new",
    "/console/returns?status=all",
    "/console/returns?status=requested",
    "/console/reviews?queue=pending",
    "/console/reviews?queue=reported",
    "/console/promotions",
    "/console/payments?queue=flagged",
    "/console/payments?queue=awaiting",
    "/console/webhooks",
    "/console/customers",
    "/console/shipping",
    "/console/catalog/import",
    "/console/orders",
    "/console/orders/{order_id}",
    "/console/read-side",
    "/console/analytics",
    "/console/lgpd",
    "/console/disputes",
    "/console/reconciliation",
]
AUDITOR_PAGES = ["/console/audit", "/console/lgpd", "/console/orders/{order_id}"]


def visible_text(page: str) -> str:
    """What a reader sees: the text between tags (not attributes, not the stylesheet)."""
    body = page.split("<body>", 1)[-1]
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def a_day_of_data(container) -> str:
    services = container.services
    register(services, "ECO-1", 10, "1234.50")
    register(services, "ECO-2", 2, "19.90")
    services.catalog.archive_stock_item("ECO-2")
    services.promotions.launch_promotion(
        code="DEZ",
        description="10 % off",
        kind="percent",
        value=Decimal("10"),
        valid_from=datetime.now(tz=UTC) - timedelta(days=1),
        valid_until=datetime.now(tz=UTC) + timedelta(days=9),
    )
    services.customers.update_profile("ana", Profile.parse("Ana Souza", "ana@example.com.br"))
    services.customers.set_consent("ana", "analytics", True, CONSENT_TEXT_VERSION)
    cart = fill_cart(services, {"ECO-1": 2}, customer="ana")
    services.checkout.apply_coupon(cart[0], cart[1], "DEZ")
    order_id = check_out(services, cart)
    wait_until(lambda: settled(services), what="the order settled")
    services.orders.ship_order(order_id, "Correios", "BR123")
    services.returns.request_return(order_id, "ana", [("ECO-1", 1)], "veio riscado")
    services.orders.track_order(order_id, "delivered", datetime.now(tz=UTC))  # issue 28
    draft = ReviewDraft(rating=4, title="Boa", body="Veio bem embalada")
    catalog_media(container).reviews.submit(own_product_id("ECO-1"), "ana", draft)
    return str(order_id)


@pytest.mark.parametrize("lang", ["pt", "en"])
def test_every_console_page_shows_no_raw_value_and_translated_statuses(client, container, lang):
    order_id = a_day_of_data(container)
    wait_until(
        lambda: container.readers.back_office.returns("requested").total == 1,
        what="the read models caught up",
    )
    problems = []
    for role, pages in (("admin", ADMIN_PAGES), ("auditor", AUDITOR_PAGES)):
        client.cookies.clear()
        sign_in(client, role)
        for path in pages:
            url = path.format(order_id=order_id)
            response = client.get(url, params={"lang": lang})
            assert response.status_code == 200, (url, response.text[:500])
            text = visible_text(response.text)
            for pattern, what in RAW:
                for found in pattern.findall(text):
                    problems.append(f"{role} {url} [{lang}]: {what}: {found!r}")
            if lang == "pt":
                problems += [f"{url}: money {m!r}" for m in PT_MONEY.findall(text)]
            for status, shown in BADGE.findall(response.text):
                want = MESSAGES[lang].get(f"status_{status}")
                if want is None or shown.strip() != want:
                    problems.append(f"{role} {url} [{lang}]: status {status} shown {shown!r}")
    assert problems == []
