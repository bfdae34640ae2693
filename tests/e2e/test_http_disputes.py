"""Disputes (chargebacks) over HTTP against the local Stripe: its signed dispute webhooks
become events on the payment; a lost one is a refund in the books and the order shows it;
admins list the open ones by evidence deadline; forged, repeated or out-of-order deliveries
change nothing twice."""

from __future__ import annotations

import time
from uuid import UUID

from application.audit import trail
from tests.e2e.test_http_card_tokens_and_3ds import (  # noqa: F401 (fixtures)
    API,
    APPROVED,
    chain,
    deliver,
    mercadopago,
    order_when,
    placed,
    settings,
    stripe,
    wait_for,
)


def captured_order(client, auth, stripe) -> tuple[dict, str]:  # noqa: F811
    order = placed(client, auth, {"method": "card", "card_token": stripe.stripe_js_card(APPROVED)})
    assert order["status"] == "confirmed", order
    shipped = client.post(
        f"{API}/orders/{order['order_id']}/ship",
        json={"carrier": "Correios", "tracking_code": "BR1"},
        headers=auth("admin", "adm"),
    )
    assert shipped.status_code == 202
    wait_for(lambda: len(stripe.moved("capture")) == 1, "the capture")
    payment = client.get(
        f"{API}/payments/{order['payment']['payment_id']}", headers=auth(sub="bia")
    )
    wait_for(
        lambda: (
            client.get(
                f"{API}/payments/{order['payment']['payment_id']}", headers=auth(sub="bia")
            ).json()["status"]
            == "captured"
        ),
        "the payment to read captured",
    )
    assert payment.status_code == 200
    return order, stripe.moved("capture")[0]["id"]


def open_disputes(client, auth) -> list[dict]:
    answer = client.get(f"{API}/payments/disputes", headers=auth("admin", "adm"))
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_a_dispute_opened_then_lost_refunds_the_order_in_the_books(client, auth, product, stripe):  # noqa: F811
    order, intent = captured_order(client, auth, stripe)
    due = int(time.time()) + 5 * 86400
    opened = deliver(client, *stripe.dispute(intent, due_by=due))
    assert opened.json()["outcome"] == "applied", opened.text
    assert deliver(client, *stripe.dispute(intent, due_by=due)).json()["outcome"] == "ignored"
    wait_for(lambda: len(open_disputes(client, auth)) == 1, "the open dispute in the list")
    (listed,) = open_disputes(client, auth)
    assert listed["order_id"] == order["order_id"]
    assert listed["amount"] == {"amount": "259.80", "currency": "BRL"}
    assert listed["evidence_due_by"].startswith(time.strftime("%Y-%m-%d", time.gmtime(due)))
    metrics = client.get("/metrics", headers=auth("admin", "adm")).text
    assert "ecovarejo_dispute_evidence_due_seconds " in metrics
    assert client.get(f"{API}/payments/disputes", headers=auth(sub="bia")).status_code == 403

    lost = deliver(client, *stripe.dispute(intent, "charge.dispute.closed", "lost"))
    assert lost.json()["outcome"] == "applied"
    shown = order_when(
        client, auth, order["order_id"], lambda o: o["refunded_total"]["amount"] == "259.80"
    )
    assert shown["disputes"][0]["status"] == "lost"
    payment = client.get(
        f"{API}/payments/{order['payment']['payment_id']}", headers=auth(sub="bia")
    ).json()
    assert payment["status"] == "refunded"
    assert payment["refunded"] == {"amount": "259.80", "currency": "BRL"}
    wait_for(lambda: open_disputes(client, auth) == [], "the dispute to leave the open list")
    assert deliver(client, *stripe.dispute(intent)).json()["outcome"] == "ignored"  # late

    # The audit trail, the LGPD export and the analytics carry it.
    services = client.app.state.container.services
    steps = [
        s["type"] for s in trail(services.store.mapper, services.event_log, UUID(order["order_id"]))
    ]
    assert steps[-2:] == ["Payment.DisputeOpened", "Payment.DisputeLost"]
    (exported,) = services.data_subjects.export_personal_data("bia", "admin:adm")["payments"]
    assert exported["disputes"] == {"dp_fake1": "lost"}
    wait_for(
        lambda: any(
            r.get("chargebacks") == "259.80"
            for r in client.get(f"{API}/analytics/sales", headers=auth("admin", "adm")).json()[
                "rows"
            ]
        ),
        "the chargeback in the sales analytics",
    )


def test_a_dispute_won_out_of_order_leaves_the_money_and_a_forged_one_is_refused(
    client,
    auth,
    product,
    stripe,  # noqa: F811
):
    order, intent = captured_order(client, auth, stripe)
    won = deliver(
        client, *stripe.dispute(intent, "charge.dispute.closed", "won", dispute_id="dp_2")
    )
    assert won.json()["outcome"] == "applied"  # the close came before the open
    assert (
        deliver(client, *stripe.dispute(intent, dispute_id="dp_2")).json()["outcome"] == "ignored"
    )
    headers, body = stripe.dispute(intent, "charge.dispute.closed", "lost", dispute_id="dp_3")
    forged = deliver(
        client, {"stripe-signature": headers["stripe-signature"].replace("v1=", "v1=0")}, body
    )
    assert forged.status_code == 401
    shown = order_when(client, auth, order["order_id"], lambda o: len(o["disputes"]) == 1)
    assert shown["disputes"][0]["status"] == "won"
    assert shown["refunded_total"]["amount"] == "0.00"
