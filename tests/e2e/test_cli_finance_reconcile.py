"""`ecovarejo finance reconcile` for a month against the local Stripe's balance
transactions: everything matches to the centavo, or exactly what is missing on either side
is listed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.e2e.test_cli import clean_env, run
from tests.e2e.test_http_card_tokens_and_3ds import (  # noqa: F401 (fixtures)
    API,
    APPROVED,
    chain,
    mercadopago,
    placed,
    settings,
    stripe,
    wait_for,
)


def env_of(settings, stripe) -> dict[str, str]:  # noqa: F811
    return clean_env(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        ECOVAREJO_JWT_SECRET="s" * 40,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
        ECOVAREJO_MASTER_KEY=settings.master_key.get_secret_value(),
        ECOVAREJO_GATEWAYS="stripe",
        ECOVAREJO_STRIPE_API_KEY=stripe.api_key,
        ECOVAREJO_STRIPE_WEBHOOK_SECRET=stripe.webhook_secret,
        ECOVAREJO_STRIPE_API_BASE=stripe.url,
    )


def captured(client, auth, stripe, count: int) -> list[str]:  # noqa: F811
    for n in range(count):
        order = placed(
            client, auth, {"method": "card", "card_token": stripe.stripe_js_card(APPROVED)}
        )
        assert order["status"] == "confirmed", order
        client.post(
            f"{API}/orders/{order['order_id']}/ship",
            json={"carrier": "Correios", "tracking_code": f"BR{n}"},
            headers=auth("admin", "adm"),
        )
        wait_for(lambda n=n: len(stripe.moved("capture")) == n + 1, "the capture")
    services = client.app.state.container.services
    wait_for(
        lambda: all(
            p.status == "captured"
            for p in (services.payments.payment(pid) for pid in _payments(services))
        ),
        "the captures to be recorded",
    )
    return [row["id"] for row in stripe.moved("capture")]


def _payments(services) -> list:
    from domain.payment import Payment

    position, found = 0, set()
    while batch := services.store.recorder.select_notifications(position + 1, 500):
        found |= {
            n.originator_id for n in batch if n.topic.startswith(Payment.__module__ + ":Payment.")
        }
        position = batch[-1].id
    return sorted(found)


def reconcile(settings, stripe, *extra: str):  # noqa: F811
    today = datetime.now(UTC).date()
    month = today.replace(day=1).isoformat()
    return run(
        "finance",
        "reconcile",
        "--provider",
        "stripe",
        "--from",
        month,
        "--to",
        today.isoformat(),
        "--json",
        *extra,
        env=env_of(settings, stripe),
    )


def test_a_month_with_one_missing_capture_and_one_unknown_line_reports_exactly_those(
    client,
    auth,
    product,
    stripe,  # noqa: F811
    settings,  # noqa: F811
):
    intents = captured(client, auth, stripe, 3)
    clean = reconcile(settings, stripe, "--record")
    assert clean.returncode == 0, clean.stderr + clean.stdout
    report = json.loads(clean.stdout)
    assert len(report["matched"]) == 3
    assert report["totals"]["books_captured"] == report["totals"]["settled_captured"] == "779.40"
    # 3 x (259.80 x 3.99 % = 10.37, + 0.39) = 32.28
    assert report["fees"] == "32.28"
    assert report["totals"]["net"] == "747.12"
    # Recorded: the analytics carry gross, fees and net for the provider and the month.
    finance = f"{API}/analytics/finance"
    wait_for(
        lambda: client.get(finance, headers=auth("admin", "adm")).json()["rows"],
        "the settlement in the analytics",
    )
    (row,) = client.get(finance, headers=auth("admin", "adm")).json()["rows"]
    assert (row["provider"], row["gross"], row["fees"], row["net"]) == (
        "stripe",
        "779.40",
        "32.28",
        "747.12",
    )
    assert (row["matched"], row["unresolved"]) == (3, 0)

    stripe.hidden_balance.add(intents[1])  # Stripe never settled this capture
    stripe.extra_balance.append(
        {
            "id": "txn_unknown",
            "object": "balance_transaction",
            "amount": 5000,
            "fee": 239,
            "net": 4761,
            "currency": "brl",
            "created": int(datetime.now(UTC).timestamp()),
            "reporting_category": "charge",
            "source": {"id": "ch_unknown", "payment_intent": "pi_notours"},
        }
    )
    found = reconcile(settings, stripe)
    assert found.returncode == 1, found.stderr
    report = json.loads(found.stdout)
    assert [m["authorization_id"] for m in report["missing_at_provider"]] == [intents[1]]
    assert [m["source_id"] for m in report["missing_in_books"]] == ["pi_notours"]
    assert report["discrepancies"] == []
    assert len(report["matched"]) == 2


def test_bad_input_is_one_line_and_exit_2(settings, stripe, tmp_path, container):  # noqa: F811
    bad = reconcile(settings, stripe, "--file", str(tmp_path / "none.csv"))
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: cannot read")
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"nope": 1}')
    assert reconcile(settings, stripe, "--file", str(garbage)).returncode == 2
    wrong = run(
        "finance",
        "reconcile",
        "--provider",
        "pagseguro",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-31",
        env=env_of(settings, stripe),
    )
    assert wrong.returncode == 2
    assert "not configured" in wrong.stderr
