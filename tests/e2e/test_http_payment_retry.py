"""Another try at paying, over HTTP (issue 27, item 4): a declined card leaves the order
awaiting_payment with its stock held; a Pix on `POST /orders/{id}/payment` confirms the same
order once the payer pays; a second try while one is under way is 409; bad input is 422;
at the deadline the order is cancelled and its stock released."""

from __future__ import annotations

from pathlib import Path

import pytest

from infrastructure.settings import Settings
from tests.checkout import wait_until
from tests.e2e.conftest import configured
from tests.e2e.test_http_pix_boleto import (
    available,
    check_out,
    deliver,
    order_when,
    sandbox_webhook,
)

API = "/api/v1"
DECLINED_CARD = {
    "method": "card",
    "card_number": "4000000000000002",
    "expiry": "12/39",
    "cvc": "123",
    "holder": "Bia Lima",
}


@pytest.fixture
def retry_s() -> int:
    return 600  # a test parametrized with its own value overrides this


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path, retry_s: int) -> Settings:
    return configured(
        database_url,
        redis_url,
        tmp_path,
        ECOVAREJO_PAYMENT_TIMEOUT_S=30,
        ECOVAREJO_PAYMENT_RETRY_S=retry_s,
        ECOVAREJO_SANDBOX_WEBHOOK_SECRET="sandbox-secret-for-tests",
    )


def declined_order(client, auth) -> dict:
    placed = check_out(client, auth, DECLINED_CARD)
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["order_id"]
    return order_when(
        client,
        auth,
        order_id,
        lambda o: o["status"] != "pending" and o["payment"]["status"] == "declined",
    )


def retry(client, auth, order_id: str, payment: dict, sub: str = "bia"):
    return client.post(
        f"{API}/orders/{order_id}/payment", json={"payment": payment}, headers=auth(sub=sub)
    )


def test_a_declined_card_then_a_pix_confirms_the_same_order_its_stock_held_between(
    client, auth, product
):
    order = declined_order(client, auth)
    assert order["status"] == "awaiting_payment"
    assert order["payment_retry"]["failure"] == "payment_declined"
    assert order["payment_retry"]["attempt"] == 1
    assert available(client, auth) == 8  # held while the shopper tries again

    answer = retry(client, auth, order["order_id"], {"method": "pix"})
    assert answer.status_code == 202, answer.text
    payment_id = answer.json()["payment_id"]
    assert payment_id != order["payment"]["payment_id"]
    waiting = order_when(
        client,
        auth,
        order["order_id"],
        lambda o: o["status"] == "awaiting_payment" and o["payment"]["status"] == "issued",
    )
    assert waiting["payment"]["payment_id"] == payment_id
    assert waiting["payment_retry"] == {**waiting["payment_retry"], "attempt": 2, "failure": None}
    assert available(client, auth) == 8

    again = retry(client, auth, order["order_id"], {"method": "pix"})
    assert again.status_code == 409, again.text
    assert "under way" in again.json()["detail"]

    paid = deliver(client, *sandbox_webhook(client, payment_id))
    assert paid.json()["outcome"] == "applied"
    confirmed = order_when(client, auth, order["order_id"], lambda o: o["status"] == "confirmed")
    assert confirmed["payment"]["status"] == "captured"
    assert available(client, auth) == 8
    trail = client.get(
        f"{API}/audit/aggregates/{order['order_id']}/events", headers=auth(role="auditor")
    ).json()
    assert [e["type"] for e in trail if "Payment" in e["type"]] == [
        "Order.PaymentFailed",
        "Order.PaymentRetried",
        "Order.AwaitingPayment",
    ]


def test_bad_tries_are_refused_and_change_nothing(client, auth, product):
    order = declined_order(client, auth)
    order_id = order["order_id"]
    not_a_method = retry(client, auth, order_id, {"method": "cheque"})
    assert not_a_method.status_code == 422
    bad_cpf = retry(client, auth, order_id, {"method": "boleto", "payer_cpf": "111.111.111-11"})
    assert bad_cpf.status_code == 422
    not_yours = retry(client, auth, order_id, {"method": "pix"}, sub="outra")
    assert not_yours.status_code == 404
    by_admin = client.post(
        f"{API}/orders/{order_id}/payment",
        json={"payment": {"method": "pix"}},
        headers=auth(role="admin"),
    )
    assert by_admin.status_code == 403
    unchanged = client.get(f"{API}/orders/{order_id}", headers=auth(sub="bia")).json()
    assert unchanged["version"] == order["version"]
    assert unchanged["payment_retry"]["attempt"] == 1


@pytest.mark.parametrize("retry_s", [3])
def test_at_the_deadline_the_order_is_cancelled_and_its_stock_released(
    client, auth, product, retry_s
):
    order = declined_order(client, auth)
    assert order["status"] == "awaiting_payment"
    assert available(client, auth) == 8
    cancelled = order_when(
        client, auth, order["order_id"], lambda o: o["status"] == "cancelled", timeout_s=30
    )
    assert cancelled["cancellation_reason"] == "payment_declined"
    late = retry(client, auth, order["order_id"], {"method": "pix"})
    assert late.status_code == 409
    wait_until(lambda: available(client, auth) == 10, what="the held stock released")
