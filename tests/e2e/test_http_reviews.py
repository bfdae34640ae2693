"""Reviews over HTTP: only a customer whose order with the product was delivered reviews
it, once; the review waits for moderation; the product shows its average and count per
star; a shopper reports, a moderator takes it down with a reason; an erased reviewer reads
as "Cliente"; bad words are 422 and nothing is saved."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from application.product_ref import own_product_id
from tests.e2e.test_http_delivery_and_withdrawal import shipped, track

API = "/api/v1"
PROFILE = {"name": "Ana Souza", "email": "ana@example.com", "phone": "", "cpf": ""}


def review(client, auth, product_id, sub: str = "ana", **body):
    return client.post(
        f"{API}/products/{product_id}/reviews",
        json={"rating": 5, "title": "Ótima", "body": "Não vaza, mantém o café quente.", **body},
        headers=auth(sub=sub),
    )


def delivered(client, auth) -> str:
    assert client.put(f"{API}/customers/me", json=PROFILE, headers=auth(sub="ana")).is_success
    order = shipped(client, auth)
    answer = track(client, auth, order["order_id"], "delivered", datetime.now(tz=UTC))
    assert answer.status_code == 200, answer.text
    return order["order_id"]


def reviews_of(client, product_id, token: str) -> dict:
    answer = client.get(
        f"{API}/products/{product_id}/reviews", headers={"X-Consistency-Token": token}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_delivered_buyer_reviews_once_and_the_approved_review_shows_in_the_rating(
    client, auth, product
):
    product_id = own_product_id(product["sku"])
    never_bought = review(client, auth, product_id, sub="bia")
    assert never_bought.status_code == 403, never_bought.text
    assert never_bought.json()["type"].endswith("not-a-verified-buyer")
    assert client.put(f"{API}/customers/me", json=PROFILE, headers=auth(sub="ana")).is_success
    order = shipped(client, auth)
    not_yet = review(client, auth, product_id)
    assert not_yet.status_code == 403, not_yet.text  # shipped is not delivered
    track(client, auth, order["order_id"], "delivered", datetime.now(tz=UTC))

    written = review(client, auth, product_id, order_id=order["order_id"])
    assert written.status_code == 201, written.text
    assert written.json()["status"] == "pending"
    again = review(client, auth, product_id, rating=1)
    assert again.status_code == 409, again.text
    shown = reviews_of(client, product_id, written.json()["consistency_token"])
    assert (shown["items"], shown["rating_count"], shown["rating_average"]) == ([], 0, None)

    queue = client.get(
        f"{API}/reviews?queue=pending",
        headers={
            **auth("admin", "adm"),
            "X-Consistency-Token": written.json()["consistency_token"],
        },
    )
    assert queue.status_code == 200, queue.text
    [pending] = queue.json()["items"]
    assert (pending["review_id"], pending["status"]) == (written.json()["review_id"], "pending")
    assert client.get(f"{API}/reviews", headers=auth(sub="ana")).status_code == 403

    approved = client.post(
        f"{API}/reviews/{pending['review_id']}/approve", headers=auth("admin", "adm")
    )
    assert approved.status_code == 200, approved.text
    shown = reviews_of(client, product_id, approved.json()["consistency_token"])
    assert shown["rating_average"] == "5.0"
    assert shown["rating_count"] == 1
    assert shown["rating_stars"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
    # The product itself shows its rating (the reviews' read model is already past it).
    page = client.get(f"{API}/products/{product_id}").json()
    assert (page["rating_average"], page["rating_count"]) == ("5.0", 1), page
    assert page["rating_stars"]["5"] == 1
    assert page["images"] == []
    [item] = shown["items"]
    assert item["author_name"] == "Ana"  # the profile's first name
    assert item["body"] == "Não vaza, mantém o café quente."
    assert item["verified_purchase"] is True
    assert "customer_id" not in item


def test_a_reported_review_is_taken_down_with_a_reason(client, auth, product):
    product_id = own_product_id(product["sku"])
    delivered(client, auth)
    review_id = review(client, auth, product_id, rating=3).json()["review_id"]
    client.post(f"{API}/reviews/{review_id}/approve", headers=auth("admin", "adm"))
    reported = client.post(
        f"{API}/products/{product_id}/reviews/{review_id}/reports",
        json={"reason": "offensive"},
        headers=auth(sub="bia"),
    )
    assert reported.status_code == 202, reported.text
    no_reason = client.post(
        f"{API}/reviews/{review_id}/reject", json={"reason": ""}, headers=auth("admin", "adm")
    )
    assert no_reason.status_code == 422
    rejected = client.post(
        f"{API}/reviews/{review_id}/reject",
        json={"reason": "linguagem ofensiva"},
        headers=auth("admin", "adm"),
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    shown = reviews_of(client, product_id, rejected.json()["consistency_token"])
    assert (shown["items"], shown["rating_count"]) == ([], 0)


def test_control_characters_or_ten_thousand_characters_are_422_and_nothing_is_saved(
    client, auth, product
):
    product_id = own_product_id(product["sku"])
    delivered(client, auth)
    for bad in ({"body": "ok\u0007beep"}, {"body": "x" * 10_000}, {"title": "a\nb"}, {"rating": 6}):
        answer = review(client, auth, product_id, **bad)
        assert answer.status_code == 422, (bad, answer.text)
    assert review(client, auth, product_id).status_code == 201  # none of them was kept


def test_after_the_reviewers_erasure_the_review_stays_as_cliente(client, auth, product):
    product_id = own_product_id(product["sku"])
    delivered(client, auth)
    review_id = review(client, auth, product_id, rating=4).json()["review_id"]
    client.post(f"{API}/reviews/{review_id}/approve", headers=auth("admin", "adm"))
    exported = client.get(f"{API}/customers/ana/personal-data", headers=auth(sub="ana")).json()
    [held] = exported["reviews"]  # LGPD access: the review and its words are hers
    assert (held["id"], held["author"]) == (review_id, {"text": "Ana"})
    erased = client.delete(f"{API}/customers/ana/personal-data", headers=auth(sub="ana"))
    assert erased.status_code == 202, erased.text
    for _ in range(400):
        shown = client.get(f"{API}/products/{product_id}/reviews").json()
        if shown["items"] and shown["items"][0]["author_name"] == "Cliente":
            break
        time.sleep(0.05)
    [item] = shown["items"]
    assert (item["author_name"], item["title"], item["body"]) == ("Cliente", None, None)
    assert (shown["rating_count"], shown["rating_average"]) == (1, "4.0")
