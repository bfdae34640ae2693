"""Three rules issue 26 asked to decide and document (docs/back-office.md): the free-shipping
threshold is on the subtotal after the coupon and the quote says so (`free_shipping`); an
erased customer takes no new personal data, profile or checkout alike (409
`subject-erased`); a consent is granted only to the current text (422 otherwise)."""

from __future__ import annotations

from application.customers import CONSENT_TEXT_VERSION
from tests.e2e.test_http_checkout import ADDRESS, cart_with, payment
from tests.e2e.test_http_promotions import promotion

API = "/api/v1"


def test_the_quote_says_free_shipping_is_on_the_subtotal_after_the_coupon(client, auth, product):
    admin = auth("admin", "adm")
    assert client.post(f"{API}/promotions", json=promotion("DEZ"), headers=admin).is_success
    cart_id = cart_with(client, auth, quantity=1)  # 129.90
    ana = auth(sub="ana")
    quote = client.post(
        f"{API}/carts/{cart_id}/shipping-quote", json={"postal_code": "01310-100"}, headers=ana
    ).json()
    assert quote["free_shipping"] == {
        "free_from": {"amount": "199.00", "currency": "BRL"},
        "applies_to": "subtotal_after_discount",
        "missing": {"amount": "69.10", "currency": "BRL"},
    }
    assert client.put(f"{API}/carts/{cart_id}/coupon", json={"code": "DEZ"}, headers=ana).is_success
    quote = client.post(
        f"{API}/carts/{cart_id}/shipping-quote", json={"postal_code": "01310-100"}, headers=ana
    ).json()
    assert quote["free_shipping"]["missing"]["amount"] == "82.09"  # 199.00 - 116.91


def test_an_erased_customer_cannot_check_out_as_they_cannot_update_their_profile(
    client, auth, product, container
):
    ana = auth(sub="ana")
    me = {"name": "Ana", "email": "ana@example.com.br"}
    assert client.put(f"{API}/customers/me", json=me, headers=ana).status_code == 200
    erased = client.delete(f"{API}/customers/ana/personal-data", headers=auth("admin", "adm"))
    assert erased.status_code == 202
    profile = client.put(f"{API}/customers/me", json=me, headers=ana)
    checkout = client.post(
        f"{API}/carts/{cart_with(client, auth, quantity=1)}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=ana,
    )
    assert (profile.status_code, checkout.status_code) == (409, 409)
    assert checkout.json()["code"] == "subject-erased"
    assert "sign up again" in checkout.json()["detail"]
    assert client.get(f"{API}/orders", headers=ana).json()["total"] == 0


def test_a_consent_to_an_older_text_is_refused_and_a_withdrawal_always_works(client, auth):
    ana = auth(sub="ana")
    old = client.put(
        f"{API}/customers/me/consents/marketing_email",
        json={"granted": True, "text_version": "2020-01"},
        headers=ana,
    )
    assert old.status_code == 422
    assert CONSENT_TEXT_VERSION in old.json()["detail"]
    current = client.put(
        f"{API}/customers/me/consents/marketing_email",
        json={"granted": True, "text_version": CONSENT_TEXT_VERSION},
        headers=ana,
    )
    assert current.json()["granted"] is True
    withdrawn = client.put(
        f"{API}/customers/me/consents/marketing_email",
        json={"granted": False, "text_version": "2020-01"},
        headers=ana,
    )
    assert withdrawn.json()["granted"] is False
