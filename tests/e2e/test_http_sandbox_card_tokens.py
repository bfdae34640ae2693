"""The sandbox as a card provider, the way production works: its tokenization endpoint
stands for a browser SDK, checkout takes the token, its challenge page stands for the
issuer's 3-D Secure. In production mode no card number is taken anywhere in the API."""

from __future__ import annotations

from tests.e2e.test_http_card_tokens_and_3ds import (
    API,
    APPROVED,
    RAW_CARD,
    THREE_DS,
    authentication,
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
    action = authentication(client, auth, order["payment"]["payment_id"])
    challenge = action["redirect_url"]
    assert challenge.startswith("/sandbox-provider/challenge/")
    authorization_id = challenge.rsplit("/", 1)[1]
    page = client.get(challenge, params={"return_to": f"/shop/orders/{order['order_id']}"})
    assert page.status_code == 200, page.text
    assert "script-src" not in page.headers["content-security-policy"]  # no script at all
    assert "<script" not in page.text
    answered = client.post(
        challenge,
        data={"authenticated": "true", "return_to": f"/shop/orders/{order['order_id']}"},
        follow_redirects=False,
    )
    assert answered.status_code == 303, answered.text
    assert answered.headers["location"] == f"/shop/orders/{order['order_id']}"
    # a second answer does not change the first
    client.post(
        f"{API}/payments/sandbox/challenges/{authorization_id}", json={"authenticated": False}
    )
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


def test_the_sandbox_sdk_is_a_static_script_a_strict_csp_page_can_load(client):
    config = client.get(f"{API}/payments/config").json()["card"]
    assert config["sdk"] == "/sandbox-provider/v1/sandbox.js"
    script = client.get(config["sdk"])
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cross-origin-resource-policy"] == "cross-origin"
    assert config["tokenization_url"] in script.text  # it posts the card there, not to a shop
    assert "eval(" not in script.text
    assert "innerHTML" not in script.text


def test_the_sandbox_challenge_page_refuses_what_it_does_not_know(client, auth, product):
    order = placed(client, auth, {"method": "card", "card_token": sandbox_token(client, THREE_DS)})
    challenge = authentication(client, auth, order["payment"]["payment_id"])["redirect_url"]
    assert client.get("/sandbox-provider/challenge/primary-nope").status_code == 404
    elsewhere = client.post(
        challenge,
        data={"authenticated": "false", "return_to": "//evil.example/steal"},
        follow_redirects=False,
    )
    assert elsewhere.status_code == 200  # never sent to another site: a page says how it went
    assert "recusada" in elsewhere.text
    assert client.post(challenge, data={"authenticated": "maybe"}).status_code == 422
    assert client.post(challenge, json={"authenticated": True}).status_code == 415


def test_in_production_mode_no_card_number_reaches_the_api(client, auth, product):
    # What the bootstrap does when ECOVAREJO_PRODUCTION=true (infrastructure/bootstrap.py).
    client.app.state.container.services.checkout.raw_cards_allowed = False
    for page in ("/sandbox-provider/v1/sandbox.js", "/sandbox-provider/challenge/primary-x"):
        assert client.get(page).status_code == 404, page
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
