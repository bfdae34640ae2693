"""The worker's dramatiq consumers wake when the process sends a message itself, and still
find what other processes send by asking Redis once per timeout."""

from __future__ import annotations

import threading
import time
from typing import Any

import dramatiq
import pytest

from infrastructure.runtime.actors import make_broker
from infrastructure.runtime.broker_wakeups import WakingRedisBroker


@pytest.fixture
def worker_broker(redis_url):
    broker = make_broker(redis_url, consuming=True)
    yield broker
    broker.close()


def actor_on(broker: Any, seen: list[tuple[str, float]], done: threading.Event) -> Any:
    def record(word: str) -> None:
        seen.append((word, time.monotonic()))
        done.set()

    return dramatiq.Actor(
        record, broker=broker, actor_name="record", queue_name="wakeups", priority=0, options={}
    )


def test_a_message_the_worker_sends_itself_runs_at_once_and_another_process_s_within_the_timeout(
    worker_broker, redis_url
):
    assert isinstance(worker_broker, WakingRedisBroker)
    worker_broker.idle_fetch_ms = 3000
    seen: list[tuple[str, float]] = []
    done = threading.Event()
    record = actor_on(worker_broker, seen, done)
    worker = dramatiq.Worker(
        worker_broker, queues={"wakeups"}, worker_threads=1, worker_timeout=100
    )
    worker.start()
    try:
        time.sleep(0.5)  # the consumer found the queue empty and waits (up to 3 s)
        sent = time.monotonic()
        record.send("local")
        assert done.wait(5)
        assert seen[0][0] == "local"
        assert seen[0][1] - sent < 1.0  # woken by the send, not found by the next poll

        other = make_broker(redis_url)  # another process's broker: no wake-up reaches us
        try:
            done.clear()
            dramatiq.Actor(
                lambda word: None,
                broker=other,
                actor_name="record",
                queue_name="wakeups",
                priority=0,
                options={},
            ).send("remote")
            assert done.wait(5)  # found by the next poll, within the timeout
            assert seen[-1][0] == "remote"
        finally:
            other.close()
    finally:
        worker.stop(timeout=5000)


def test_an_idle_consumer_asks_redis_once_per_timeout(worker_broker):
    fetches: list[float] = []
    original = worker_broker.do_fetch

    def counted(*args: Any, **kwargs: Any) -> Any:
        fetches.append(time.monotonic())
        return original(*args, **kwargs)

    worker_broker.do_fetch = counted
    worker_broker.idle_fetch_ms = 200
    actor_on(worker_broker, [], threading.Event())
    worker = dramatiq.Worker(worker_broker, queues={"wakeups"}, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        time.sleep(0.3)
        fetches.clear()
        time.sleep(2.0)
    finally:
        worker.stop(timeout=5000)
    # Two consumers (the queue and its delay queue), about 5 fetches a second each; the
    # broker's own backoff asks 7-10 times in its first 0.3 s after each message.
    assert len(fetches) <= 2 * 2.0 / 0.2 + 4


def test_a_stopping_worker_is_not_held_by_its_idle_consumers_wait(worker_broker):
    worker_broker.idle_fetch_ms = 5000
    actor_on(worker_broker, [], threading.Event())
    worker = dramatiq.Worker(
        worker_broker, queues={"wakeups"}, worker_threads=2, worker_timeout=100
    )
    worker.start()
    time.sleep(0.5)  # both consumers found their queues empty and wait (up to 5 s)
    started = time.monotonic()
    worker.stop(timeout=10_000)
    assert time.monotonic() - started < 1.5  # the flags are looked at every 100 ms


def zadds(client: Any) -> int:
    return int(client.info("commandstats").get("cmdstat_zadd", {}).get("calls", 0))


def test_a_busy_worker_records_its_heartbeat_once_a_second_not_on_every_call(worker_broker):
    broker = worker_broker
    dramatiq.Actor(
        lambda: None, broker=broker, actor_name="noop", queue_name="beats", priority=0, options={}
    )
    before = zadds(broker.client)
    for _ in range(20):  # enqueues, as an effect dispatcher's burst
        broker.actors["noop"].send()
    fetched = broker.do_fetch("beats", 20)
    assert len(fetched) == 20
    assert zadds(broker.client) - before <= 2  # 21 calls of the script within a second
    namespace = "ecovarejo-dramatiq:__heartbeats__"
    beat = broker.client.zscore(namespace, broker.broker_id)
    assert beat is not None
    assert time.time() * 1000 - beat < 2_000
    time.sleep(1.1)
    broker.do_fetch("beats", 1)  # a second later: recorded again
    assert broker.client.zscore(namespace, broker.broker_id) > beat


def test_what_a_dead_worker_fetched_comes_back_once_its_heartbeat_is_older_than_the_timeout(
    redis_url,
):
    dead = make_broker(redis_url, consuming=True)
    alive = make_broker(redis_url, consuming=True)
    try:
        dramatiq.Actor(
            lambda: None, broker=dead, actor_name="noop", queue_name="lost", priority=0, options={}
        ).send()
        assert len(dead.do_fetch("lost", 1)) == 1  # fetched, never acknowledged: it dies
        assert alive.do_fetch("lost", 1) == []
        alive.heartbeat_timeout = 500  # the test's: 10 s in production
        alive.maintenance_chance = 1_000_000  # every call (5 % in production)
        time.sleep(0.7)
        # maintenance (in the same call) gives the dead worker's message back to the queue,
        # and it is fetched again
        assert len(alive.do_fetch("lost", 1)) == 1
    finally:
        dead.close()
        alive.close()
