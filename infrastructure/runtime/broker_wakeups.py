"""dramatiq's Redis consumers, woken by the process's own sends instead of polling fast.

A Redis consumer that finds its queue empty sleeps and asks again, backing off from 5 ms to
the worker's timeout (100 ms): after every message it polls about five times within the
next ~150 ms (one Lua script each), and a message sent meanwhile waits for the next poll.
A worker sends most of its messages itself — the effect dispatcher runs in a worker, and a
retry or a delayed message comes back through the worker's own broker — so here each
consumer waits on an event that the process's sends set (`LocalWakeups`, a middleware: its
`after_enqueue`), and otherwise asks Redis once per timeout: what another process sends is
found as late as before (at most the timeout), the process's own at once, and an idle or
busy consumer asks Redis about ten times a second instead of after every message.

Nothing else changes: the same queues, fetch, prefetch, acks and redelivery (the broker's
own scripts); only the wait between two fetches that found nothing.
"""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer


class LocalWakeups(dramatiq.Middleware):
    """One event per queue, set after this process enqueues a message on it."""

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}
        self._guard = threading.Lock()

    def event_for(self, queue_name: str) -> threading.Event:
        with self._guard:
            return self._events.setdefault(queue_name, threading.Event())

    def after_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        self.event_for(message.queue_name).set()  # the delay queue's name when delayed

    def wake(self, queue_name: str) -> None:
        self.event_for(queue_name).set()


class WakingConsumer(_RedisConsumer):
    """The broker's consumer, its empty-queue sleep replaced by a wait on the queue's event
    (at most `timeout` ms). It never sleeps inside the broker's own fetch loop."""

    def __init__(self, broker: Any, queue_name: str, prefetch: int, timeout: int):
        super().__init__(broker, queue_name, prefetch, 0)  # the broker's backoff: none
        self._wait_s = timeout / 1000
        self._wake = broker.wakeups.event_for(queue_name)
        self._idle = False

    def __next__(self) -> Any:
        if self._idle and not self.message_cache:
            self._wake.wait(self._wait_s)
            self._wake.clear()  # a send after this is fetched below or wakes the next wait
        message = super().__next__()
        self._idle = message is None
        return message

    def ack(self, message: Any) -> None:
        full = self.outstanding_message_count >= self.prefetch
        super().ack(message)
        if full:  # a fetch skipped for a full prefetch may take one more now
            self._wake.set()

    def nack(self, message: Any) -> None:
        full = self.outstanding_message_count >= self.prefetch
        super().nack(message)
        if full:
            self._wake.set()


class WakingRedisBroker(RedisBroker):
    """`RedisBroker` whose consumers are `WakingConsumer`s (see the module's docstring);
    made by `make_broker(url, consuming=True)` with its `LocalWakeups` middleware."""

    wakeups: LocalWakeups

    def __init__(self, *, wakeups: LocalWakeups, middleware: list[Any], **kwargs: Any):
        super().__init__(middleware=[*middleware, wakeups], **kwargs)
        self.wakeups = wakeups

    @property
    def consumer_class(self) -> Any:
        return WakingConsumer
