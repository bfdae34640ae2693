"""A live runner's batch keeps public documents in memory between its writes
(infrastructure/runtime/live_batch.py): it reads each once, and every write names the
position (and parked retries) it expects, so a store someone else wrote is never
overwritten from what the runner held — the write is refused and the runner restarts."""

from __future__ import annotations

import pytest
import redis
from eventsourcing.persistence import Tracking

from infrastructure.read_stores.redis_views import PositionMovedError, RedisDocumentView
from infrastructure.read_stores.search_postgres import PostgresSearchStore
from infrastructure.runtime.fanout import FanOut
from infrastructure.runtime.live_batch import LiveBatch, prefixed
from projections.base import APPLICATION, Derived, GenerationMovedError, Put
from tests.integration.test_search_postgres import DOC


class CountingView(RedisDocumentView):
    """A real Redis view that counts the documents it is asked for."""

    reads = 0

    def get(self, key: str) -> dict | None:
        self.reads += 1
        return super().get(key)


def live(client: redis.Redis, keeps: str = "stock:") -> tuple[LiveBatch, CountingView]:
    view = CountingView(client, "stock_items", follow_active=True)
    return LiveBatch(view, 500, prefixed(keeps)), view


def test_a_kept_document_is_read_once_and_then_held_across_writes(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.set("ev:stock_items:g1:stock:A", b'{"on_hand":1}')
    batch, view = live(client)
    for position in (1, 2, 3):
        doc = batch.get("stock:A")
        assert doc is not None
        doc["on_hand"] += 1
        batch.apply([Put("stock:A", doc)], Tracking(APPLICATION, position))
        batch.flush()
    assert view.reads == 1
    assert client.get("ev:stock_items:g1:stock:A") == b'{"on_hand":4}'
    assert batch.peek("stock:A") == {"on_hand": 4}
    assert view.reads == 1


def test_a_derived_document_is_kept_as_the_document_it_makes(redis_url):
    client = redis.Redis.from_url(redis_url)
    batch, view = live(client, keeps="stock:")
    source = {"on_hand": 2, "private": "x"}
    public = Derived("stock:A", source, lambda doc: {"on_hand": doc["on_hand"]})
    batch.apply([public], Tracking(APPLICATION, 1))
    assert batch.get("stock:A") == {"on_hand": 2}
    batch.flush()
    assert client.get("ev:stock_items:g1:stock:A") == b'{"on_hand":2}'
    assert batch.get("stock:A") == {"on_hand": 2}
    assert batch.peek("stock:A") == {"on_hand": 2}
    assert view.reads == 0


def test_a_document_the_batch_does_not_keep_is_read_every_time(redis_url):
    client = redis.Redis.from_url(redis_url)
    batch, view = live(client, keeps="stock:")
    for position in (1, 2):
        batch.get("order:1")  # personal: never kept
        batch.apply([Put("order:1", {"v": position})], Tracking(APPLICATION, position))
        batch.flush()
    batch.get("order:1")
    assert view.reads == 3


def test_a_write_after_another_writer_moved_the_position_is_refused_and_changes_nothing(
    redis_url,
):
    client = redis.Redis.from_url(redis_url)
    batch, _ = live(client)
    batch.apply([Put("stock:A", {"on_hand": 1})], Tracking(APPLICATION, 1))
    batch.flush()
    # another worker (a lease's failover) wrote position 5 meanwhile
    client.set("ev:stock_items:g1:stock:A", b'{"on_hand":9}')
    client.set("ev:stock_items:g1:position", b"5")
    batch.apply([Put("stock:A", {"on_hand": 2})], Tracking(APPLICATION, 6))
    with pytest.raises(PositionMovedError):
        batch.flush()
    assert client.get("ev:stock_items:g1:stock:A") == b'{"on_hand":9}'
    assert client.get("ev:stock_items:g1:position") == b"5"
    assert issubclass(PositionMovedError, GenerationMovedError)  # the supervisor restarts


def test_a_parked_event_retried_meanwhile_refuses_the_next_write_of_the_read_models(
    redis_url,
):
    client = redis.Redis.from_url(redis_url)
    batch, view = live(client)
    other = LiveBatch(RedisDocumentView(client, "carts", follow_active=True), 500, prefixed())
    fanout = FanOut([("stock_items", None, batch), ("carts", None, other)])  # type: ignore[list-item]
    batch.apply([Put("stock:A", {"on_hand": 1})], Tracking(APPLICATION, 1))
    other.apply([Put("cart:1", {"v": 1})], Tracking(APPLICATION, 1))
    fanout.flush()
    client.incr(view.retried_key)  # what `retry_parked` does with its write
    batch.apply([Put("stock:A", {"on_hand": 2})], Tracking(APPLICATION, 2))
    other.apply([Put("cart:1", {"v": 2})], Tracking(APPLICATION, 2))
    with pytest.raises(PositionMovedError):
        fanout.flush()
    assert client.get("ev:carts:g1:cart:1") == b'{"v":1}'  # the whole write refused
    assert client.get("ev:stock_items:g1:position") == b"1"


def test_a_restarted_batch_starts_from_what_the_store_holds(redis_url):
    client = redis.Redis.from_url(redis_url)
    batch, _ = live(client)
    batch.apply([Put("stock:A", {"on_hand": 1})], Tracking(APPLICATION, 1))
    batch.flush()
    client.set("ev:stock_items:g1:stock:A", b'{"on_hand":7}')
    client.set("ev:stock_items:g1:position", b"4")
    client.incr("ev:stock_items:g1:retried")
    fresh, _ = live(client)
    assert fresh.get("stock:A") == {"on_hand": 7}
    fresh.apply([Put("stock:A", {"on_hand": 8})], Tracking(APPLICATION, 5))
    fresh.flush()
    assert client.get("ev:stock_items:g1:position") == b"5"


@pytest.fixture
def search(database_url):
    store = PostgresSearchStore(database_url)
    yield store
    store.close()


def test_a_search_write_after_another_writer_moved_the_position_is_refused(search):
    index = search.open("g1", follow_active=True)
    batch = LiveBatch(index, 500, prefixed())
    batch.apply([Put("p-1", DOC)], Tracking(APPLICATION, 1))
    batch.flush()
    search.open("g1").upsert([{**DOC, "available": 9}], Tracking(APPLICATION, 3))
    batch.apply([Put("p-1", {**DOC, "available": 6})], Tracking(APPLICATION, 4))
    with pytest.raises(PositionMovedError):
        batch.flush()
    batch.apply([], Tracking(APPLICATION, 5))  # nor the position alone
    with pytest.raises(PositionMovedError):
        batch.flush()
    assert index.max_tracking_id(APPLICATION) == 3
    assert index.get("p-1")["available"] == 9  # type: ignore[index]


def test_a_search_position_alone_moves_forward_only(search):
    index = search.open("g1", follow_active=True)
    index.apply([Put("p-1", DOC)], Tracking(APPLICATION, 1))
    index.apply([], Tracking(APPLICATION, 2), expected=(1, 0))
    assert index.max_tracking_id(APPLICATION) == 2
    index.apply([], Tracking(APPLICATION, 2))  # a repeat changes nothing
    index.apply([], Tracking(APPLICATION, 1))
    assert index.max_tracking_id(APPLICATION) == 2
    assert index.get("p-1")["available"] == 5  # type: ignore[index]


def test_a_search_position_alone_is_refused_once_the_generation_moved(search):
    index = search.open("g1", follow_active=True)
    index.apply([Put("p-1", DOC)], Tracking(APPLICATION, 1))
    search.open("g2")
    search.activate("g2")
    with pytest.raises(GenerationMovedError):
        index.apply([], Tracking(APPLICATION, 2))
    assert index.max_tracking_id(APPLICATION) == 1


def test_suggestions_follow_a_rename_and_stay_when_only_stock_moves(search):
    from projections.search import SuggestQuery

    index = search.open("g1")
    index.apply([Put("p-1", DOC)], Tracking(APPLICATION, 1))
    index.apply([Put("p-1", {**DOC, "available": 3})], Tracking(APPLICATION, 2))
    assert [s.sku for s in index.suggest(SuggestQuery(q="organ"))] == ["ECO-0001"]
    index.apply([Put("p-1", {**DOC, "name": "Chá Verde"})], Tracking(APPLICATION, 3))
    assert index.suggest(SuggestQuery(q="organ")) == []
    assert [s.sku for s in index.suggest(SuggestQuery(q="verde"))] == ["ECO-0001"]


def test_a_store_that_cannot_check_a_write_gets_a_plain_batch_that_keeps_nothing():
    from projections.memory import MemoryStore

    store = MemoryStore()
    batch = LiveBatch(store, 500, prefixed())
    batch.apply([Put("stock:A", {"on_hand": 1})], Tracking(APPLICATION, 1))
    batch.flush()
    store.docs["stock:A"] = '{"on_hand": 5}'
    assert batch.get("stock:A") == {"on_hand": 5}  # read from the store, not kept
    assert batch.expected() is None


def test_the_retry_of_a_parked_event_counts_itself_for_the_live_runner(container):
    from infrastructure.read_stores.parked_retry import retry_parked
    from infrastructure.read_stores.redis_views import RedisParking
    from tests.checkout import register

    register(container.services, "ECO-1", 5)  # the log's first event
    # Its position, read back: a sequence value an append used and rolled back (a retry
    # after a dropped connection, under load) leaves a gap, so it is not always 1.
    (first,) = container.services.store.recorder.select_notifications(1, 1)
    client = container.redis
    batch = LiveBatch(RedisDocumentView(client, "stock_items", follow_active=True), 500, prefixed())
    view = batch.store
    assert batch.expected() == (0, 0)
    RedisParking(client, "stock_items", view.generation).park(
        {"position": first.id, "type": "x", "error": "boom"}
    )
    outcome = retry_parked(container, "stock_items", first.id)  # as the console's retry does
    assert outcome.ok
    assert view.retried() == 1
    batch.apply([Put("stock:A", {"on_hand": 2})], Tracking(APPLICATION, first.id + 1))
    with pytest.raises(PositionMovedError):
        batch.flush()  # written from before the retry: refused, the runner reads again
    assert client.get(view.key("stock:A")) is None
