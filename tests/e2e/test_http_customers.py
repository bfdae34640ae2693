"""Customers and LGPD over HTTP: profile, address book, consents, marketing sends that
respect them, and every data-subject right, end to end on the real servers."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from infrastructure.store.event_log import EventLog
from tests.e2e.test_http_checkout import ADDRESS, cart_with, payment, settle
from tests.smtp_server import SmtpReceiver

API = "/api/v1"
CPF = "529.982.247-25"


@pytest.fixture
def smtp():
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def settings(settings, smtp):
    return settings.model_copy(update={"smtp_url": smtp.url})


def profile(name="Ana Souza", email="ana@example.com.br", **change):
    return {"name": name, "email": email, "phone": "(81) 99876-5432", "cpf": CPF, **change}


def put_profile(client, auth, sub="ana", **change):
    response = client.put(f"{API}/customers/me", json=profile(**change), headers=auth(sub=sub))
    assert response.status_code == 200, response.text
    return response.json()


def consent(client, auth, sub, purpose, granted):
    return client.put(
        f"{API}/customers/me/consents/{purpose}", json={"granted": granted}, headers=auth(sub=sub)
    )


def test_a_customer_keeps_a_profile_checked_field_by_field(client, auth):
    assert client.get(f"{API}/customers/me", headers=auth(sub="ana")).status_code == 404
    body = put_profile(client, auth)
    assert body == {
        "customer_id": "ana",
        "name": "Ana Souza",
        "email": "ana@example.com.br",
        "phone": "+5581998765432",
        "cpf": "52998224725",
        "erased": False,
    }
    assert client.get(f"{API}/customers/me", headers=auth(sub="ana")).json() == body
    for bad in ({"cpf": "529.982.247-26"}, {"email": "ana@@x"}, {"phone": "999"}):
        response = client.put(f"{API}/customers/me", json=profile(**bad), headers=auth(sub="ana"))
        assert response.status_code == 422, bad
    assert client.get(f"{API}/customers/me", headers=auth(sub="ana")).json() == body
    assert client.get(f"{API}/customers/me", headers=auth("admin", "adm")).status_code == 403


def test_saved_addresses_serve_checkout_and_are_nobody_elses(client, auth, product):
    saved = client.post(f"{API}/customers/me/addresses", json=ADDRESS, headers=auth(sub="ana"))
    assert saved.status_code == 201
    address_id = saved.json()["address_id"]
    listed = client.get(f"{API}/customers/me/addresses", headers=auth(sub="ana")).json()
    assert [a["line1"] for a in listed["items"]] == [ADDRESS["line1"]]
    assert client.get(f"{API}/customers/me/addresses", headers=auth(sub="bia")).json() == {
        "items": []
    }
    theirs = client.post(
        f"{API}/carts/{cart_with(client, auth, sub='bia', quantity=1)}/checkout",
        json={"shipping_address_id": address_id, "payment": payment()},
        headers=auth(sub="bia"),
    )
    assert theirs.status_code == 404
    checkout = client.post(
        f"{API}/carts/{cart_with(client, auth, quantity=1)}/checkout",
        json={"shipping_address_id": address_id, "payment": payment()},
        headers=auth(sub="ana"),
    )
    assert checkout.status_code == 202, checkout.text
    assert settle(client, auth, checkout.json()["order_id"])["status"] == "confirmed"
    both = client.post(
        f"{API}/carts/{cart_with(client, auth, quantity=1)}/checkout",
        json={"shipping_address_id": address_id, "shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    )
    assert both.status_code == 422
    assert (
        client.delete(
            f"{API}/customers/me/addresses/{address_id}", headers=auth(sub="bia")
        ).status_code
        == 404
    )
    assert (
        client.delete(
            f"{API}/customers/me/addresses/{address_id}", headers=auth(sub="ana")
        ).status_code
        == 204
    )


def test_consents_are_per_purpose_and_unknown_purposes_are_refused(client, auth):
    consents = client.get(f"{API}/customers/me/consents", headers=auth(sub="ana")).json()
    assert {p: c["granted"] for p, c in consents.items()} == {
        "marketing_email": False,
        "personalization": False,
        "analytics": False,
    }
    granted = consent(client, auth, "ana", "analytics", True)
    assert granted.status_code == 200
    assert granted.json()["granted"] is True
    assert granted.json()["by"] == "customer:ana"
    assert consent(client, auth, "ana", "telemarketing", True).status_code == 422


def test_a_marketing_send_goes_only_to_consenting_customers_at_their_real_email(
    client, auth, smtp, container, product
):
    for sub in ("ana", "bia", "caio"):
        put_profile(client, auth, sub=sub, email=f"{sub}@example.com.br")
        assert consent(client, auth, sub, "marketing_email", True).status_code == 200
    assert consent(client, auth, "bia", "marketing_email", False).status_code == 200
    admin = auth("admin", "adm")
    sent = client.post(
        f"{API}/marketing/sends",
        json={"kind": "newsletter", "subject": "Novidades", "body": "Oi!"},
        headers=admin,
    )
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"kind": "newsletter", "sent": 2, "skipped": 1}
    assert sorted(m.recipients[0] for m in smtp.messages) == [
        "ana@example.com.br",
        "caio@example.com.br",
    ]
    assert smtp.messages[0].message["Subject"] == "Novidades"
    alert = client.post(
        f"{API}/marketing/sends",
        json={"kind": "back_in_stock", "sku": product["sku"]},
        headers=admin,
    )
    assert alert.json()["skipped"] == 1
    outbox = (container.settings.data_dir / "notifications.jsonl").read_text()
    assert "@example.com.br" not in outbox  # the file outbox names customers, not addresses
    assert (
        client.post(
            f"{API}/marketing/sends", json={"kind": "newsletter"}, headers=auth(sub="ana")
        ).status_code
        == 403
    )


def test_order_notifications_reach_the_real_email_and_stop_after_erasure(
    client, auth, smtp, product
):
    put_profile(client, auth)
    order = client.post(
        f"{API}/carts/{cart_with(client, auth, quantity=1)}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    ).json()
    settle(client, auth, order["order_id"])
    for _ in range(200):
        if smtp.messages:
            break
        __import__("time").sleep(0.05)
    assert smtp.messages[0].recipients == ["ana@example.com.br"]
    client.delete(f"{API}/customers/ana/personal-data", headers=auth(sub="ana"))
    before = len(smtp.messages)
    cancelled = client.post(
        f"{API}/orders/{order['order_id']}/cancel", json={}, headers=auth("admin", "adm")
    )
    assert cancelled.status_code in (200, 202), cancelled.text
    __import__("time").sleep(1.5)
    assert len(smtp.messages) == before


def test_correction_shows_in_the_export_and_as_an_event_and_is_refused_after_erasure(client, auth):
    put_profile(client, auth)
    corrected = client.patch(
        f"{API}/customers/ana/personal-data",
        json={"email": "ana.souza@example.com.br"},
        headers=auth(sub="ana"),
    )
    assert corrected.status_code == 202, corrected.text
    assert corrected.json()["corrected"] == ["email"]
    export = client.get(f"{API}/customers/ana/personal-data", headers=auth(sub="ana")).json()
    assert export["profile"]["email"] == "ana.souza@example.com.br"
    assert [r["type"] for r in export["requests"]] == ["correction", "access"]
    assert all(r["completed_at"] for r in export["requests"])
    assert (
        client.patch(
            f"{API}/customers/bia/personal-data", json={"name": "X"}, headers=auth(sub="ana")
        ).status_code
        == 404
    )
    assert (
        client.patch(
            f"{API}/customers/ana/personal-data", json={"cpf": "123"}, headers=auth(sub="ana")
        ).status_code
        == 422
    )
    client.delete(f"{API}/customers/ana/personal-data", headers=auth(sub="ana"))
    assert (
        client.patch(
            f"{API}/customers/ana/personal-data", json={"name": "Outra"}, headers=auth(sub="ana")
        ).status_code
        == 409
    )


def test_portability_is_a_zip_of_json_and_csv_per_kind(client, auth):
    put_profile(client, auth)
    client.post(f"{API}/customers/me/addresses", json=ADDRESS, headers=auth(sub="ana"))
    consent(client, auth, "ana", "analytics", True)
    response = client.get(
        f"{API}/customers/ana/personal-data?format=portable", headers=auth(sub="ana")
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    package = zipfile.ZipFile(io.BytesIO(response.content))
    assert {
        "personal-data.json",
        "profile.csv",
        "addresses.csv",
        "consents.csv",
        "orders.csv",
        "requests.csv",
    } <= set(package.namelist())
    document = json.loads(package.read("personal-data.json"))
    assert document["profile"]["cpf"] == "52998224725"
    assert "Av. Paulista 1000" in package.read("addresses.csv").decode()
    assert "analytics,True" in package.read("consents.csv").decode()
    assert (
        client.get(
            f"{API}/customers/ana/personal-data?format=xml", headers=auth(sub="ana")
        ).status_code
        == 422
    )


def test_erasure_reaches_profile_addresses_consents_and_orders_and_is_idempotent(
    client, auth, container, product
):
    put_profile(client, auth)
    client.post(f"{API}/customers/me/addresses", json=ADDRESS, headers=auth(sub="ana"))
    consent(client, auth, "ana", "marketing_email", True)
    order = client.post(
        f"{API}/carts/{cart_with(client, auth, quantity=1)}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment()},
        headers=auth(sub="ana"),
    ).json()
    total = settle(client, auth, order["order_id"])["totals"]
    erased = client.delete(f"{API}/customers/ana/personal-data", headers=auth("admin", "adm"))
    assert (erased.status_code, erased.json()["status"]) == (202, "erased")
    head = container.head_position()
    again = client.delete(f"{API}/customers/ana/personal-data", headers=auth(sub="ana"))
    assert (again.status_code, again.json()["status"]) == (202, "already_erased")
    assert container.head_position() == head  # nothing more happened
    me = client.get(f"{API}/customers/me", headers=auth(sub="ana")).json()
    assert me == {
        "customer_id": "ana",
        "name": None,
        "email": None,
        "phone": None,
        "cpf": None,
        "erased": True,
    }
    assert client.get(f"{API}/customers/me/addresses", headers=auth(sub="ana")).json() == {
        "items": []
    }
    consents = client.get(f"{API}/customers/me/consents", headers=auth(sub="ana")).json()
    assert not any(c["granted"] for c in consents.values())
    export = client.get(f"{API}/customers/ana/personal-data", headers=auth("admin", "adm")).json()
    assert export["profile"] == {"erased": True}
    assert export["orders"][0]["shipping_address"] == {"erased": True}
    assert settle(client, auth, order["order_id"])["totals"] == total
    assert EventLog(container.database_url).verify_chain().ok


def test_the_request_log_shows_subjects_to_admins_and_pseudonyms_to_auditors(client, auth):
    put_profile(client, auth)
    client.get(f"{API}/customers/ana/personal-data", headers=auth(sub="ana"))
    client.delete(f"{API}/customers/ana/personal-data", headers=auth(sub="ana"))
    admin = client.get(f"{API}/lgpd/requests", headers=auth("admin", "adm")).json()["items"]
    assert [(r["type"], r["subject"]) for r in admin] == [("access", "ana"), ("erasure", "ana")]
    assert all(r["completed_at"] and r["seconds_to_complete"] >= 0 for r in admin)
    auditor = client.get(f"{API}/lgpd/requests", headers=auth("auditor", "aud")).json()["items"]
    assert {r["subject"] for r in auditor} == {auditor[0]["subject"]}
    assert "ana" not in json.dumps(auditor)
    assert client.get(f"{API}/lgpd/requests", headers=auth(sub="ana")).status_code == 403
