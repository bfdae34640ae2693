"""Issue 21: an erased customer's answers must not come back through `Idempotency-Key`.
The stored answer to a customer's POST is sealed under that customer's data key: before the
erasure a repeat gets it again; after it, the repeat is refused (nothing is run again) and
neither the answer nor Redis holds the customer's words."""

from __future__ import annotations

import base64

import redis

from tests.e2e.test_http_checkout import ADDRESS

API = "/api/v1"
STREET = "Rua Idempotente 4321"


def _all_redis_bytes(url: str) -> bytes:
    client = redis.Redis.from_url(url)
    try:
        found = []
        for key in client.scan_iter(count=1000):
            found.append(key)
            kind = client.type(key)
            if kind == b"string":
                found.append(client.get(key) or b"")
            elif kind == b"hash":
                found.extend(b"%s=%s" % kv for kv in client.hgetall(key).items())
            elif kind == b"zset":
                found.extend(m for m, _ in client.zrange(key, 0, -1, withscores=True))
            elif kind == b"set":
                found.extend(client.smembers(key))
            elif kind == b"list":
                found.extend(client.lrange(key, 0, -1))
        return b"\n".join(found)
    finally:
        client.close()


def test_a_replayed_address_after_erasure_shows_no_personal_data_and_redis_holds_none(
    client, auth, settings
):
    customer = {**auth(sub="erasable"), "Idempotency-Key": "addr-1"}
    body = {**ADDRESS, "line1": STREET}
    first = client.post(f"{API}/customers/me/addresses", json=body, headers=customer)
    assert first.status_code == 201
    assert STREET in first.text
    again = client.post(f"{API}/customers/me/addresses", json=body, headers=customer)
    assert (again.status_code, again.json()) == (201, first.json())  # still a replay
    assert again.headers["idempotent-replayed"] == "true"
    # The address is in the HTTP answer; sealed, it is in Redis neither clear nor in base64.
    held = _all_redis_bytes(settings.redis_url)
    assert STREET.encode() not in held
    assert base64.b64encode(first.content)[:40] not in held

    erased = client.delete(f"{API}/customers/erasable/personal-data", headers=auth("admin", "a"))
    assert erased.status_code == 202
    events = client.app.state.container.head_position()
    replay = client.post(f"{API}/customers/me/addresses", json=body, headers=customer)
    assert replay.status_code == 410
    assert replay.headers["content-type"] == "application/problem+json"
    assert STREET not in replay.text
    assert "São Paulo" not in replay.text
    assert client.app.state.container.head_position() == events  # nothing was run again
    held = _all_redis_bytes(settings.redis_url)
    assert STREET.encode() not in held
    assert base64.b64encode(first.content)[:40] not in held


def test_answers_to_callers_who_are_not_customers_are_kept_as_before(client, auth):
    admin = {**auth("admin", "ops"), "Idempotency-Key": "promo-1"}
    body = {"code": "IDEM10", "kind": "percent", "value": "10"}
    first = client.post(f"{API}/promotions", json=body, headers=admin)
    again = client.post(f"{API}/promotions", json=body, headers=admin)
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
