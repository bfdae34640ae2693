"""The sandbox as a card provider, the way production works: its tokenization endpoint
stands for a browser SDK, checkout takes the token, its challenge page stands for the
issuer's 3-D Secure. In production mode no card number is taken anywhere in the API."""

from __future__ import annotations

from tests.e2e.test_http_card_tokens_and_3ds import (
    API,
    APPROVED,
    RAW_CARD,
    THREE_DS,
    available,
    cart_of,
    check_out,
    order_when,
    placed,
)
from tests.integration.test_lgpd import found_in_postgres, found_in_redis


def sandbox_token(client, number: str = APPROVED) -> str:
    response = client.post(
        f"{API}/payments/sandbox/tokens", json={**RAW_CARD, "card_number": number}
    )
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["last4"] == number[-4:]
    assert number not in made["card_token"]
    return str(made["card_token"])


def test_the_sandbox_config_points_at_its_tokenization_endpoint(client):
    card = client.get(f"{API}/payments/config").json()["card"]
    assert card["provider"] == "sandbox"
    assert card["public_key"] == "pk_sandbox"
    assert card["tokenization_url"] == f"{API}/payments/sandbox/tokens"
    assert card["raw_card_fields"] is True


def test_a_sandbox_token_checks_out_once(client, auth, product):
    token = sandbox_token(client)
    order = placed(client, auth, {"method": "card", "card_token": token, "installments": 3})
    assert order["status"] == "confirmed"
    assert order["payment"]["installments"]["count"] == 3
    _, again = check_out(client, auth, {"method": "card", "card_token": token})
    assert again.status_code == 422
    _, forged = check_out(client, auth, {"method": "card", "card_token": "tok_" + "0" * 24})
    assert forged.status_code == 422


def test_the_sandbox_challenge_plays_3ds_end_to_end(client, auth, product):
    order = placed(client, auth, {"method": "card", "card_token": sandbox_token(client, THREE_DS)})
    assert order["status"] == "awaiting_authentication"
    challenge = order["payment"]["authentication"]["redirect_url"]
    assert challenge.startswith(f"{API}/payments/sandbox/challenges/")
    assert client.post(challenge, json={"authenticated": True}).status_code == 200
    answer = client.post(
        f"{API}/payments/{order['payment']['payment_id']}/authentication",
        json={},
        headers=auth(sub="bia"),
    )
    assert answer.json()["status"] == "authorized", answer.text
    order_when(client, auth, order["order_id"], lambda o: o["status"] == "confirmed")
    assert (
        client.post(
            f"{API}/payments/sandbox/challenges/nope", json={"authenticated": True}
        ).status_code
        == 404
    )


def test_in_production_mode_no_card_number_reaches_the_api(client, auth, product):
    # What the bootstrap does when ECOVAREJO_PRODUCTION=true (infrastructure/bootstrap.py).
    client.app.state.container.services.checkout.raw_cards_allowed = False
    cart_id, response = check_out(client, auth, {"method": "card", **RAW_CARD})
    assert response.status_code == 422, response.text
    assert "card_token" in response.json()["detail"]
    assert cart_of(client, auth, cart_id)["status"] == "open"
    assert client.post(f"{API}/payments/sandbox/tokens", json=RAW_CARD).status_code == 404
    assert client.get(f"{API}/payments/config").json()["card"]["raw_card_fields"] is False
    assert available(client, auth) == 10
    container = client.app.state.container
    assert found_in_postgres(container.database_url, APPROVED) == []
    assert found_in_redis(container.redis_url, APPROVED) == []


def test_the_sandbox_bank_disputes_a_capture_and_a_lost_dispute_refunds_the_order(
    client, auth, product, settings
):
    from tests.e2e.test_cli import run
    from tests.e2e.test_cli_sandbox import env_of

    order = placed(client, auth, {"method": "card", "card_token": sandbox_token(client)})
    shipped = client.post(
        f"{API}/orders/{order['order_id']}/ship",
        json={"carrier": "Correios", "tracking_code": "BR9"},
        headers=auth("admin", "adm"),
    )
    assert shipped.status_code == 202
    payment_id = order["payment"]["payment_id"]
    order_when(client, auth, order["order_id"], lambda o: o["payment"]["status"] == "captured")
    opened = run("sandbox", "dispute", payment_id, "--json", env=env_of(settings))
    assert opened.returncode == 0, opened.stderr
    assert '"outcome": "applied"' in opened.stdout
    lost = run("sandbox", "dispute", payment_id, "--outcome", "lost", env=env_of(settings))
    assert lost.stdout.strip() == f"dispute lost on {payment_id}: applied", lost.stderr
    refunded = order_when(
        client, auth, order["order_id"], lambda o: o["refunded_total"]["amount"] == "259.80"
    )
    assert refunded["disputes"][0]["status"] == "lost"
    bad = run("sandbox", "dispute", payment_id, "--outcome", "maybe", env=env_of(settings))
    assert bad.returncode == 2
