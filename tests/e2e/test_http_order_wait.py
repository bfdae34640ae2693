"""`GET /orders/{id}?wait=`: after a checkout the client is answered once the saga has
decided the order, in one request, instead of polling; the wait is bounded and never
shows someone else's order."""

from __future__ import annotations

import time
import uuid

from tests.e2e.test_http_checkout import ADDRESS, cart_with, payment

API = "/api/v1"


def checked_out(client, auth, number: str = "4242424242424242") -> dict:
    cart_id = cart_with(client, auth)
    placed = client.post(
        f"{API}/carts/{cart_id}/checkout",
        json={"shipping_address": ADDRESS, "payment": payment(number)},
        headers=auth(sub="ana"),
    )
    assert placed.status_code == 202, placed.text
    return placed.json()


def test_a_read_with_wait_answers_the_decided_order_in_one_request(client, auth, product):
    for number, status in (("4242424242424242", "confirmed"), ("4000000000000002", "cancelled")):
        placed = checked_out(client, auth, number)
        headers = auth(sub="ana", **{"X-Consistency-Token": placed["consistency_token"]})
        got = client.get(f"{API}/orders/{placed['order_id']}?wait=10", headers=headers)
        assert got.status_code == 200, got.text
        assert got.json()["status"] == status


def test_someone_elses_order_or_no_order_is_a_404_at_once_even_with_a_wait(client, auth, product):
    placed = checked_out(client, auth)
    headers = auth(sub="bia", **{"X-Consistency-Token": placed["consistency_token"]})
    for order_id in (placed["order_id"], str(uuid.uuid4())):
        started = time.monotonic()
        got = client.get(f"{API}/orders/{order_id}?wait=10", headers=headers)
        assert got.status_code == 404
        assert time.monotonic() - started < 5  # not held for the wait


def test_a_wait_beyond_ten_seconds_or_below_zero_is_refused(client, auth, product):
    placed = checked_out(client, auth)
    for wait in ("11", "-1", "soon"):
        got = client.get(f"{API}/orders/{placed['order_id']}?wait={wait}", headers=auth(sub="ana"))
        assert got.status_code == 422, (wait, got.text)
