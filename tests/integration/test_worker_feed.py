"""One feed per worker: a worker that holds every follower (the read models, the four saga
partitions, the effects) reads the log through ONE subscription and decodes each event once,
each follower still keeping its own position."""

from __future__ import annotations

import asyncio
from collections import Counter

import psycopg

from application.checkout.policy import CheckoutSaga
from infrastructure.bootstrap import RUNNERS
from infrastructure.read_stores.projection_admin import statuses
from infrastructure.runtime.followers import READ_MODELS
from infrastructure.runtime.saga_partitions import SAGA_FOLLOWERS, SAGA_PARTITIONS, tracking_name
from infrastructure.store.event_store import partition_of
from projections.search import SearchProjection
from tests.checkout import (
    DECLINED,
    backends_on,
    check_invariants,
    check_out,
    fill_cart,
    register,
    settled,
    wait_until,
)

# Every runner with a feed form; the integration-events publisher keeps its own
# subscription (it runs only where ECOVAREJO_EVENTS_URL names a broker).
ON_THE_FEED = [name for name, runner in RUNNERS.items() if runner.feed is not None]


def caught_up(container) -> bool:
    return all(s.lag == 0 for s in statuses(container))


def test_a_worker_holding_every_saga_partition_decodes_each_event_once(container):
    wait_until(
        lambda: (
            container.feed is not None and sorted(container.feed.followers()) == sorted(ON_THE_FEED)
        ),
        what="this worker to run every follower on its feed",
    )
    register(container.services, "ECO-1", 4)
    register(container.services, "ECO-2", 50)
    carts = [fill_cart(container.services, {"ECO-1": 1, "ECO-2": 2}, f"c{i}") for i in range(6)]
    for index, cart in enumerate(carts):  # the last ones find no ECO-1 left
        check_out(container.services, cart, DECLINED if index % 3 == 2 else "4242424242424242")
    wait_until(lambda: settled(container.services), timeout=60, what="every order to settle")
    wait_until(lambda: caught_up(container), timeout=30, what="every follower at the head")
    check_invariants(container.services)

    feed = container.feed
    assert feed is not None, "the worker's followers run on its one feed"
    log = container.services.store.recorder.select_notifications(1, 10_000)
    head = container.head_position()
    assert len(log) == head  # no gaps in this log: positions count events
    assert feed.reads == head  # the log read once, by one subscription
    assert feed.decodes == head  # and each event decoded once, for every follower
    assert backends_on(container.database_url, "LISTEN %") == 1  # one LISTEN, not seven

    # Each partition still keeps its own position, at its own last event.
    saga_events = [n for n in log if n.topic in CheckoutSaga.topics]
    per_partition = Counter(partition_of(n.originator_id, SAGA_PARTITIONS) for n in saga_events)
    assert sum(per_partition.values()) >= 8  # six placed, outcomes of those with stock
    assert len(per_partition) >= 2  # spread over partitions
    recorder = container.services.store.recorder
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        rows = dict(
            conn.execute(
                "SELECT application_name, max(notification_id) FROM ecovarejo_tracking "
                "GROUP BY application_name"
            ).fetchall()
        )
    for k, follower in enumerate(SAGA_FOLLOWERS):
        own = [n.id for n in saga_events if partition_of(n.originator_id, SAGA_PARTITIONS) == k]
        if own:
            assert rows[tracking_name(k)] == max(own), follower
    assert recorder.max_notification_id() == head


def test_search_s_position_alone_is_written_in_a_quiet_log_and_answers_its_consistency_wait(
    container,
):
    """Search holds back a write of its position alone (events it indexes nothing for) until
    its next change or `SEARCH_POSITION_EVERY_S`: in a quiet log, with no change to come,
    the position must still reach the head, and a search read waiting on a cart's token
    must be answered."""
    wait_until(
        lambda: container.feed is not None and SearchProjection.name in container.feed.followers(),
        what="product search on this worker's feed",
    )
    search = READ_MODELS[SearchProjection.name]
    register(container.services, "ECO-1", 4)  # indexed: written with its position
    wait_until(
        lambda: search.open(container).position() == container.head_position(),
        what="search to index the stock item",
    )
    fill_cart(container.services, {"ECO-1": 1})  # a cart's events: nothing to index
    head = container.head_position()
    assert asyncio.run(container.reached_async(SearchProjection.name, head, 5.0)), (
        "a search read with the cart's token waited in vain"
    )
    assert container.head_position() == head  # no later event took the position along
    assert search.open(container).position() == head
