"""The console's money pages, over HTTP: open disputes with their evidence deadlines (those
due within two days called out, as the alert does), and reconciliation — a provider and a
period, its report fetched or uploaded, what matched, what is missing on either side, the
discrepancies and the totals to the centavo; bad input is a 422 page that runs nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from domain.settlement import Settlement
from tests.e2e.test_console_http import csrf_of, sign_in
from tests.e2e.test_http_card_tokens_and_3ds import RAW_CARD, order_when, placed, wait_for

API = "/api/v1"


def captured_sandbox_payment(client, auth) -> dict:
    order = placed(client, auth, {"method": "card", **RAW_CARD})
    assert order["status"] == "confirmed", order
    shipped = client.post(
        f"{API}/orders/{order['order_id']}/ship",
        json={"carrier": "Correios", "tracking_code": "BR7"},
        headers=auth("admin", "adm"),
    )
    assert shipped.status_code == 202, shipped.text
    return order_when(
        client, auth, order["order_id"], lambda o: o["payment"]["status"] == "captured"
    )


def dispute(container, order: dict, days: float) -> None:
    services = container.services
    payment = services.payments.payment(UUID(order["payment"]["payment_id"]))
    gateway = next(g for g in services.payments.gateways if g.name == payment.gateway)
    due = datetime.now(UTC) + timedelta(days=days)
    headers, body = gateway.dispute_webhook(
        payment.authorization_id, str(payment.id), payment.captured.amount, "opened", due
    )
    assert services.payments.receive_webhook("sandbox", headers, {}, body).outcome == "applied"


def test_open_disputes_are_listed_soonest_first_and_those_due_soon_called_out(
    client, auth, product, container
):
    soon, later = captured_sandbox_payment(client, auth), captured_sandbox_payment(client, auth)
    dispute(container, later, days=9)
    dispute(container, soon, days=1)
    wait_for(
        lambda: (
            len(
                client.get(f"{API}/payments/disputes", headers=auth("admin", "adm")).json()["items"]
            )
            == 2
        ),
        "the disputes to be listed",
    )
    sign_in(client, "admin")
    page = client.get("/console/disputes")
    assert page.status_code == 200, page.text
    rows = re.findall(
        r'<tr class="dispute-row( due-soon)?">.*?/console/orders/([0-9a-f-]+)', page.text, re.S
    )
    assert [(bool(flag), order) for flag, order in rows] == [
        (True, soon["order_id"]),
        (False, later["order_id"]),
    ]
    assert 'id="disputes-due-soon"' in page.text
    assert "R$ 259,80" in page.text
    sign_in(client, "customer", "bia")
    assert client.get("/console/disputes").status_code == 403


def reconcile(client, fields: dict[str, str], file: tuple[str, bytes] | None = None):
    files = {"file": file} if file else {"file": ("", b"", "application/octet-stream")}
    return client.post(
        "/console/reconciliation",
        data={"csrf": csrf_of(client, "/console/reconciliation"), **fields},
        files=files,
    )


def test_a_reconciliation_fetched_from_the_sandbox_matches_to_the_centavo(client, auth, product):
    captured_sandbox_payment(client, auth)
    sign_in(client, "admin")
    form = client.get("/console/reconciliation")
    assert '<option value="sandbox"' in form.text
    today = datetime.now(UTC).date().isoformat()
    page = reconcile(client, {"provider": "sandbox", "start": today, "end": today})
    assert page.status_code == 200, page.text
    assert 'id="reconcile-verdict" class="ok"' in page.text
    assert 'id="total-settled_captured">R$ 259,80<' in page.text
    assert 'id="total-net">R$ 259,80<' in page.text
    assert len(re.findall(r"<tr><td>capture</td>", page.text)) == 1


def test_an_uploaded_report_lists_its_unknown_duplicate_and_foreign_lines(
    client, auth, product, container
):
    captured_sandbox_payment(client, auth)
    (row,) = [
        r for g in container.services.payments.gateways for r in g.ledger() if r["op"] == "capture"
    ]
    csv = (
        "key,op,amount,authorization_id\n"
        f"{row['key']},capture,{row['amount']},{row['authorization_id']}\n"
        f"{row['key']},capture,{row['amount']},{row['authorization_id']}\n"
        "k-unknown,capture,50.00,primary-not-ours\n"
        "k-odd,teleport,1.00,primary-x\n"
    ).encode()
    sign_in(client, "admin")
    today = datetime.now(UTC).date().isoformat()
    page = reconcile(
        client,
        {"provider": "sandbox", "start": today, "end": today},
        ("ledger.csv", csv, "text/csv"),
    )
    assert page.status_code == 200, page.text
    assert 'id="reconcile-verdict" class="error"' in page.text
    assert "duplicate_line" in page.text
    assert "unknown_type" in page.text
    missing = page.text.split('id="reconcile-missing-in-books"')[1].split("</table>")[0]
    assert "primary-not-ours" in missing
    assert 'id="total-settled_captured">R$ 259,80<' in page.text  # counted once

    # Recorded: for the audit, who ran it and what it left unresolved, by id.
    recorded = reconcile(
        client,
        {"provider": "sandbox", "start": today, "end": today, "record": "yes"},
        ("ledger.csv", csv, "text/csv"),
    )
    assert recorded.status_code == 200, recorded.text
    settlement = Settlement.create_id("sandbox", today, today)
    (run,) = [
        e
        for e in container.services.store.repository.event_store.get(settlement)
        if isinstance(e, Settlement.Reconciled)
    ]
    assert run.actor == "admin:admin-1"
    assert (run.gross.amount, run.matched, run.unresolved) == (Decimal("259.80"), 1, 3)
    assert run.missing_in_books == ["primary-not-ours"]
    assert sorted(p.split(":")[0] for p in run.discrepancies) == ["duplicate_line", "unknown_type"]
    wait_for(
        lambda: "recorded-settlements" in client.get("/console/reconciliation").text,
        "the recorded run on the page",
    )


def test_bad_reconciliation_input_is_a_422_page_that_runs_nothing(client, auth, product):
    sign_in(client, "admin")
    today = datetime.now(UTC).date()
    cases = [
        {"provider": "stripe", "start": today.isoformat(), "end": today.isoformat()},
        {"provider": "paypal", "start": today.isoformat(), "end": today.isoformat()},
        {
            "provider": "sandbox",
            "start": today.isoformat(),
            "end": (today - timedelta(days=1)).isoformat(),
        },
        {"provider": "sandbox", "start": "31/12/2026", "end": today.isoformat()},
    ]
    for fields in cases:
        page = reconcile(client, fields)
        assert page.status_code == 422, (fields, page.text)
        assert 'id="reconcile-refused"' in page.text
    garbage = reconcile(
        client,
        {"provider": "sandbox", "start": today.isoformat(), "end": today.isoformat()},
        ("x.csv", b"\xff\xfe\x00garbage", "text/csv"),
    )
    assert garbage.status_code == 422
    forged = client.post(
        "/console/reconciliation",
        data={"csrf": "forged", "provider": "sandbox", "start": "2026-01-01", "end": "2026-01-02"},
        files={"file": ("", b"", "application/octet-stream")},
    )
    assert forged.status_code == 403
