"""Promotions over HTTP and the CLI: an admin launches a coupon, a customer applies it to a
cart, the order charges the discount the cart showed; bad coupons are clear errors."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from tests.e2e.test_cli import clean_env, run
from tests.e2e.test_http_checkout import ADDRESS, cart_with, payment, settle

API = "/api/v1"
NOW = datetime.now(tz=UTC)


def promotion(code: str = "BEMVINDO10", **change) -> dict:
    return {
        "code": code,
        "description": "10 % na primeira compra",
        "kind": "percent",
        "value": "10",
        "valid_from": (NOW - timedelta(days=1)).isoformat(),
        "valid_until": (NOW + timedelta(days=30)).isoformat(),
        "max_uses": 100,
        **change,
    }


def test_a_coupon_shown_in_the_cart_is_what_the_order_charges(client, auth, product):
    admin = auth("admin", "adm")
    created = client.post(f"{API}/promotions", json=promotion(), headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "BEMVINDO10"
    cart_id = cart_with(client, auth)  # 2 x 129.90
    applied = client.put(
        f"{API}/carts/{cart_id}/coupon", json={"code": "bemvindo10"}, headers=auth(sub="ana")
    )
    assert applied.status_code == 200, applied.text
    token = {"X-Consistency-Token": applied.json()["consistency_token"]}
    cart = client.get(f"{API}/carts/{cart_id}", headers=auth(sub="ana", **token)).json()
    assert (cart["coupon"], cart["discount"]["amount"], cart["total"]["amount"]) == (
        "BEMVINDO10",
        "25.98",
        "233.82",
    )
    response = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    )
    assert response.status_code == 202, response.text
    order = settle(client, auth, response.json()["order_id"])
    assert order["status"] == "confirmed"
    assert order["coupon"] == "BEMVINDO10"
    assert order["totals"]["discount"]["amount"] == "25.98"
    assert order["totals"]["total"]["amount"] == "233.82"  # free shipping from 199.00
    assert [line["net_total"]["amount"] for line in order["lines"]] == ["233.82"]
    shown = client.get(f"{API}/promotions/BEMVINDO10", headers=admin).json()
    assert (shown["uses"], shown["active"]) == (1, True)


def test_bad_coupons_are_refused_with_a_code_that_says_why(client, auth, product):
    admin = auth("admin", "adm")
    client.post(f"{API}/promotions", json=promotion("UMA", max_uses=1), headers=admin)
    future = promotion("FUTURO", valid_from=(NOW + timedelta(days=2)).isoformat())
    client.post(f"{API}/promotions", json=future, headers=admin)
    client.post(f"{API}/promotions", json=promotion("VELHA"), headers=admin)
    assert client.post(f"{API}/promotions/VELHA/deactivate", headers=admin).status_code == 200
    cart_id = cart_with(client, auth)
    for code, status, problem in [
        ("NADA", 422, "unknown-coupon"),
        ("FUTURO", 422, "coupon-not-yet-valid"),
        ("VELHA", 422, "coupon-inactive"),
        ("mal formado!", 422, None),
    ]:
        answer = client.put(
            f"{API}/carts/{cart_id}/coupon", json={"code": code}, headers=auth(sub="ana")
        )
        assert answer.status_code == status, answer.text
        if problem:
            assert answer.json()["code"] == problem
    duplicate = client.post(f"{API}/promotions", json=promotion("UMA"), headers=admin)
    assert duplicate.status_code == 409
    assert (
        client.post(f"{API}/promotions", json=promotion(kind="half"), headers=admin).status_code
        == 422
    )
    assert (
        client.post(f"{API}/promotions", json=promotion("X"), headers=auth(sub="ana")).status_code
        == 403
    )
    assert client.get(f"{API}/promotions/NADA", headers=admin).status_code == 404


def test_the_cli_creates_shows_and_deactivates_promotions(settings):
    env = clean_env(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        ECOVAREJO_JWT_SECRET="s" * 40,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
    )
    created = run(
        "promotions",
        "create",
        "FRETE5",
        "--kind",
        "fixed",
        "--value",
        "5.00",
        "--max-uses",
        "3",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created FRETE5"
    shown = run("promotions", "show", "frete5", "--json", env=env)
    assert '"max_uses": 3' in shown.stdout
    assert run("promotions", "deactivate", "FRETE5", env=env).returncode == 0
    bad = run("promotions", "create", "ERRADO", "--value", "dez", env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: --value must be a decimal, got 'dez'"
    assert "Traceback" not in run("promotions", "show", "NADA", env=env).stderr


ODD_CODE = "ÇA\uff11\u0663"  # an accent, a fullwidth one, an Arabic-Indic three
ODD_PROMOTIONS = [
    ([ODD_CODE], "invalid code"),
    (["STRASSE-ß"], "invalid code"),
    (["GRANDE", "--kind", "fixed", "--value", "1e30"], "fixed amount off is at most"),
    (["INFINITO", "--value", "Infinity"], "--value must be a finite decimal"),
    (["FRACAO", "--kind", "fixed", "--value", "1.234"], "at most two decimal places"),
    (["MINIMO", "--min-subtotal", "1e30"], "error: "),
    (["TEXTO", "--description", os.fsdecode(b"promo\xff")], "--description: text must not"),
    (["CONTROLE", "--category", "casa\x07"], "--category: text must not"),
    (["DATA", "--valid-from", "amanhã"], "--valid-from must be an ISO 8601 instant"),
    (["LONGE", "--valid-from", "9999-12-31T00:00:00Z"], "give --valid-until"),
]


def test_odd_promotion_input_is_one_error_line_and_the_same_code_rule_as_http(
    settings, client, auth
):
    env = clean_env(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        ECOVAREJO_JWT_SECRET="s" * 40,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
    )
    for args, expected in ODD_PROMOTIONS:
        done = run("promotions", "create", *args, env=env)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, (args, done.stderr)
        assert lines[0].startswith("error: "), (args, done.stderr)
        assert expected in lines[0], (args, lines[0])
    admin = auth("admin", "adm")
    for code in (ODD_CODE, "STRASSE-ß"):  # refused over HTTP by the same rule
        refused = client.post(f"{API}/promotions", json=promotion(code), headers=admin)
        assert refused.status_code == 422
    for code in ("GRANDE", ODD_CODE):  # nothing was launched
        assert run("promotions", "show", code, env=env).returncode == 2
