"""The worker's Redis read models write together: after a drained read of the log their
batches go to Redis in ONE script call (not one per read model), each model's changes
still only with its position; a generation moved under one refuses the whole write."""

from __future__ import annotations

import pytest
import redis
from eventsourcing.persistence import Tracking

from infrastructure.read_stores.redis_keys import active_key
from infrastructure.read_stores.redis_views import RedisDocumentView
from infrastructure.runtime.fanout import FanOut
from projections.base import APPLICATION, Batch, GenerationMovedError, Put
from projections.carts import CartsProjection
from projections.orders import OrdersProjection

MODELS = (CartsProjection, OrdersProjection)


def script_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("evalsha", "eval"))


def fanout_of(client: redis.Redis) -> tuple[FanOut, list[Batch]]:
    batches = [Batch(RedisDocumentView(client, m.name, follow_active=True)) for m in MODELS]
    members = [(m.name, m(b), b) for m, b in zip(MODELS, batches, strict=True)]
    return FanOut(members), batches


def test_the_read_models_of_a_drained_read_are_written_in_one_script_call(redis_url):
    client = redis.Redis.from_url(redis_url)
    fanout, (carts, orders) = fanout_of(client)
    for batch in (carts, orders):  # the script is loaded into Redis by a first write
        batch.apply([], Tracking(APPLICATION, 1))
    fanout.flush()
    carts.apply([Put("cart:1", {"version": 1})], Tracking(APPLICATION, 5))
    orders.apply([], Tracking(APPLICATION, 5))  # nothing of its own: its position moves
    orders.apply([Put("order:1", {"version": 1})], Tracking(APPLICATION, 6))
    before = script_calls(client)
    fanout.flush()
    assert script_calls(client) - before == 1
    assert client.get("ev:carts:g1:cart:1") == b'{"version":1}'
    assert client.get("ev:orders:g1:order:1") == b'{"version":1}'
    assert client.get("ev:carts:g1:position") == b"5"
    assert client.get("ev:orders:g1:position") == b"6"
    assert carts.pending == orders.pending == 0
    fanout.flush()  # nothing pending: nothing sent
    assert script_calls(client) - before == 1


def test_a_generation_moved_under_one_read_model_refuses_the_whole_write(redis_url):
    client = redis.Redis.from_url(redis_url)
    fanout, (carts, orders) = fanout_of(client)
    carts.apply([Put("cart:2", {"version": 1})], Tracking(APPLICATION, 7))
    orders.apply([Put("order:2", {"version": 1})], Tracking(APPLICATION, 7))
    client.set(active_key(OrdersProjection.name), "g9")  # a rebuild swapped the orders
    with pytest.raises(GenerationMovedError):
        fanout.flush()
    assert client.get("ev:carts:g1:cart:2") is None  # the runner restarts; nothing is lost
    assert client.get("ev:carts:g1:position") is None
