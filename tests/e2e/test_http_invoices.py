"""NF-e over HTTP with Focus NFe configured (its local fake, after the documented API): the
sale's note issued on confirmation with its access key and taxes on the order, cancelled when
the order is, a return note on a received return; a product without fiscal data or a provider
outage never blocks the order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.invoice import check_access_key
from infrastructure.settings import Settings
from tests.e2e.conftest import PRODUCT, configured
from tests.e2e.test_console_http import sign_in
from tests.e2e.test_http_checkout import ADDRESS, cart_with, payment, settle
from tests.e2e.test_http_delivery_and_withdrawal import wait_for
from tests.fakes.focus_nfe import FakeFocusNfe

API = "/api/v1"
PROFILE = {"name": "Ana Souza", "email": "ana@example.com", "phone": "", "cpf": "529.982.247-25"}


@pytest.fixture
def fiscal_server() -> Iterator[FakeFocusNfe]:
    with FakeFocusNfe() as server:
        yield server


@pytest.fixture
def settings(
    database_url: str, redis_url: str, tmp_path: Path, fiscal_server: FakeFocusNfe
) -> Settings:
    return configured(
        database_url,
        redis_url,
        tmp_path,
        ECOVAREJO_FISCAL_PROVIDER="focusnfe",
        ECOVAREJO_FOCUSNFE_TOKEN=fiscal_server.token,
        ECOVAREJO_FOCUSNFE_API_BASE=fiscal_server.url,
        ECOVAREJO_CARRIER_TIMEOUT_S=1,
    )


def fiscal_data(client, auth, ncm: str = "0901.11.00"):
    body = {"ncm": ncm, "origin": 0, "cfop": "5102"}
    return client.put(
        f"{API}/stock-items/{PRODUCT['sku']}/fiscal", json=body, headers=auth("admin")
    )


def confirmed_order(client, auth) -> str:
    client.put(f"{API}/customers/me", json=PROFILE, headers=auth(sub="ana"))
    cart_id = cart_with(client, auth, quantity=1)
    placed = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    )
    order_id = placed.json()["order_id"]
    assert settle(client, auth, order_id)["status"] == "confirmed"
    return order_id


def invoice_when(client, auth, order_id: str, done, kind: str = "sale") -> dict:
    order = wait_for(
        client,
        auth,
        f"/orders/{order_id}",
        lambda o: any(i["kind"] == kind and done(i) for i in o.get("invoices", [])),
    )
    return next(i for i in order["invoices"] if i["kind"] == kind)


def test_a_confirmed_order_gets_its_nfe_with_access_key_and_taxes(client, auth, product):
    assert fiscal_data(client, auth).status_code == 200
    order_id = confirmed_order(client, auth)
    invoice = invoice_when(client, auth, order_id, lambda i: i["status"] == "issued")
    assert check_access_key(invoice["access_key"]) == invoice["access_key"]
    assert invoice["taxes"]["amount"] != "0.00"
    assert invoice["danfe_url"].endswith(".pdf")


def test_cancelling_the_order_cancels_its_nfe(client, auth, product, fiscal_server):
    fiscal_data(client, auth)
    order_id = confirmed_order(client, auth)
    invoice_when(client, auth, order_id, lambda i: i["status"] == "issued")
    cancel = client.post(
        f"{API}/orders/{order_id}/cancel", json={"reason": ""}, headers=auth(sub="ana")
    )
    assert cancel.status_code == 202
    invoice_when(client, auth, order_id, lambda i: i["status"] == "cancelled")
    assert len(fiscal_server.moved("cancel")) == 1


def test_a_received_return_gets_a_return_nfe_referring_to_the_sale(
    client, auth, product, fiscal_server
):
    fiscal_data(client, auth)
    order_id = confirmed_order(client, auth)
    sale = invoice_when(client, auth, order_id, lambda i: i["status"] == "issued")
    ship = {"carrier": "Correios", "tracking_code": "BR1"}
    client.post(f"{API}/orders/{order_id}/ship", json=ship, headers=auth("admin"))
    wait_for(  # shipped, and the capture done: a refund waits for it (409 meanwhile)
        client,
        auth,
        f"/orders/{order_id}",
        lambda o: o["status"] == "shipped" and o["payment"]["status"] == "captured",
    )
    line = {"sku": PRODUCT["sku"], "quantity": 1}
    return_id = client.post(
        f"{API}/orders/{order_id}/returns", json={"lines": [line]}, headers=auth(sub="ana")
    ).json()["return_id"]
    for step in ("approve", "receive"):
        done = client.post(f"{API}/returns/{return_id}/{step}", headers=auth("admin"))
        assert done.status_code == 202, done.text
    back = invoice_when(client, auth, order_id, lambda i: i["status"] == "issued", "return")
    assert back["return_id"] == return_id
    sent = fiscal_server.notes[back["invoice_id"]]["request"]
    assert sent["notas_referenciadas"] == [{"chave_nfe": sale["access_key"]}]


def test_a_product_without_fiscal_data_leaves_the_nfe_waiting_with_the_reason(
    client, auth, product
):
    order_id = confirmed_order(client, auth)
    invoice = invoice_when(client, auth, order_id, lambda i: i["failure"] is not None)
    assert invoice["status"] == "requested"
    assert PRODUCT["sku"] in invoice["failure"]
    assert client.get(f"{API}/orders/{order_id}", headers=auth("admin")).json()["status"] == (
        "confirmed"
    )


def test_a_provider_outage_delays_the_nfe_and_never_the_order(client, auth, product, fiscal_server):
    fiscal_data(client, auth)
    fiscal_server.faults += ["500", "500"]
    order_id = confirmed_order(client, auth)
    invoice_when(client, auth, order_id, lambda i: i["status"] == "issued")


def test_an_ncm_that_does_not_exist_is_422_and_stores_nothing(client, auth, product):
    for ncm in ("7712.34.56", "9912.34.56", "1234"):
        response = fiscal_data(client, auth, ncm)
        assert response.status_code == 422, (ncm, response.text)
    assert (
        client.get(f"{API}/stock-items/{PRODUCT['sku']}/fiscal", headers=auth("admin")).status_code
        == 404
    )


def test_the_console_order_page_shows_the_tracking_history_and_the_nfe(client, auth, product):
    fiscal_data(client, auth)
    order_id = confirmed_order(client, auth)
    invoice = invoice_when(client, auth, order_id, lambda i: i["status"] == "issued")
    ship = {"carrier": "Correios", "tracking_code": "BR123"}
    client.post(f"{API}/orders/{order_id}/ship", json=ship, headers=auth("admin"))
    wait_for(client, auth, f"/orders/{order_id}", lambda o: o["status"] == "shipped")
    step = {"step": "in_transit", "at": datetime.now(tz=UTC).isoformat()}
    client.post(f"{API}/orders/{order_id}/tracking", json=step, headers=auth("admin"))
    wait_for(client, auth, f"/orders/{order_id}", lambda o: len(o["tracking"]) == 1)
    sign_in(client, "admin")
    page = client.get(f"/console/orders/{order_id}", params={"lang": "en"})
    assert page.status_code == 200, page.text[:300]
    tracking = page.text.split('id="tracking-history"', 1)[1].split("</table>", 1)[0]
    assert "in transit" in tracking
    nfe = page.text.split('id="invoices"', 1)[1].split("</table>", 1)[0]
    assert invoice["access_key"] in nfe
    assert f'href="{invoice["danfe_url"]}"' in nfe
    assert invoice["danfe_url"].startswith("http")
