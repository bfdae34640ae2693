"""dramatiq's Redis consumers, woken by the process's own sends instead of polling fast.

A Redis consumer that finds its queue empty sleeps and asks again, backing off from 5 ms to
the worker's timeout: after every message it polls about five times within the next
~150 ms (one Lua script each), and a message sent meanwhile waits for the next poll.
A worker sends most of its messages itself — the effect dispatcher runs in a worker, and a
retry or a delayed message comes back through the worker's own broker — so here each
consumer waits on an event that the process's sends set (`LocalWakeups`, a middleware: its
`after_enqueue`), and otherwise asks Redis once per `IDLE_FETCH_MS`: what another process
sends is found within that, the process's own at once.

How often an idle consumer asks is `IDLE_FETCH_MS` (1 s, the broker's `idle_fetch_ms`);
while it waits it looks at its thread's stop and pause flags every worker timeout
(`Actors.worker`: 100 ms), so a stopping worker is not held by the wait. What bounds it
from above is the broker's heartbeat: every call of the
broker's script (a fetch, an ack) records the worker's heartbeat, and another worker's
maintenance gives the messages a worker fetched and never acknowledged back to the queue
once its heartbeat is older than `heartbeat_timeout` (10 s, `actors.make_broker`): so a
dead worker's messages come back within ~10 s, and a live idle worker, whose two consumers
ask at least once a second each, is never taken for dead (a tenth of the timeout).

Nothing else changes: the same queues, fetch, prefetch, acks and redelivery (the broker's
own scripts); only when a consumer asks again after a fetch that found nothing or less than
it asked for.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer, _scripts
from dramatiq.common import current_millis


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
    (at most `timeout` ms, and no later than the next delayed message the consumer's
    thread holds is due). It never sleeps inside the broker's own fetch loop, and does not
    ask again right after a fetch that found fewer messages than it asked for: the queue
    was empty then, so it waits for a send (or the timeout) first."""

    def __init__(self, broker: Any, queue_name: str, prefetch: int, timeout: int):
        super().__init__(broker, queue_name, prefetch, 0)  # the broker's backoff: none
        self._wait_s = broker.idle_fetch_ms / 1000
        # The worker's timeout: how often a waiting consumer looks at its thread's flags,
        # so that a stopping (or paused) worker is not held for the whole idle wait.
        self._slice_s = max(timeout, 10) / 1000
        self._wake = broker.wakeups.event_for(queue_name)
        self._idle = False

    def __next__(self) -> Any:
        if self.message_cache:
            return super().__next__()  # what the last fetch brought: no round trip
        if self._idle:
            if not self._waited(self._wait_before_fetch()):
                return None  # the thread is stopping or paused: no fetch
            self._wake.clear()  # a send after this is fetched below or wakes the next wait
        wanted = self.prefetch - self.outstanding_message_count
        message = super().__next__()
        # Idle from now on when the fetch found nothing (or had no room to ask), or fewer
        # than it asked for (the queue is empty: the messages it brought are served from
        # the cache, then it waits instead of asking again at once).
        self._idle = message is None or len(self.message_cache) + 1 < wanted
        return message

    def _waited(self, seconds: float) -> bool:
        """Wait for a send or `seconds`, looking at the consumer thread's flags every
        slice; False when the thread stopped or paused meanwhile."""
        thread = threading.current_thread()
        deadline = time.monotonic() + seconds
        while not self._wake.wait(max(0.0, min(self._slice_s, deadline - time.monotonic()))):
            if not getattr(thread, "running", True) or getattr(thread, "paused", False):
                return False
            if time.monotonic() >= deadline:
                break
        return True

    def _wait_before_fetch(self) -> float:
        """The timeout, or less when a delayed message held by this consumer's thread
        (dramatiq's `_ConsumerThread.delay_queue`: an eta, a retry's backoff) is due
        sooner: the thread moves it to its queue only between two of these calls."""
        held = getattr(threading.current_thread(), "delay_queue", None)
        heap = getattr(held, "queue", None)
        if not heap:
            return self._wait_s
        try:
            due_ms = heap[0].priority - current_millis()
        except (AttributeError, IndexError, TypeError):  # a thread of another shape
            return self._wait_s
        return max(0.0, min(self._wait_s, due_ms / 1000))

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


# The broker's script (dramatiq/brokers/redis/dispatch.lua) records a heartbeat (a ZADD)
# on every call: a fetch, an enqueue, an ack — ~9 per checkout. Here its seventh argument
# (maintenance: 0 or 1) also carries whether to record one (+2), which the broker asks for
# once per HEARTBEAT_EVERY_MS at most. The lines replaced are checked: another dramatiq
# release fails at start-up here, not silently.
_HEARTBEAT_LINE = 'redis.call("zadd", heartbeats, timestamp, worker_id)'
_MAINTENANCE_LINE = "local do_maintenance = ARGV[7]"
HEARTBEAT_EVERY_MS = 1_000
# How long an idle consumer waits for a send before it asks Redis anyway: what another
# process sends is found this late at most, and a live idle worker's heartbeat is recorded
# at least this often (a tenth of the broker's heartbeat timeout, 10 s).
IDLE_FETCH_MS = 1_000


def _dispatch_script() -> bytes:
    source: bytes = _scripts["dispatch"]
    text = source.decode()
    if text.count(_HEARTBEAT_LINE) != 1 or text.count(_MAINTENANCE_LINE) != 1:
        raise RuntimeError("dramatiq's dispatch script is not the one this broker patches")
    text = text.replace(
        _MAINTENANCE_LINE,
        "local flags = tonumber(ARGV[7])\nlocal do_maintenance = tostring(flags % 2)",
    )
    text = text.replace(_HEARTBEAT_LINE, f"if flags >= 2 then {_HEARTBEAT_LINE} end")
    return text.encode()


class WakingRedisBroker(RedisBroker):
    """`RedisBroker` whose consumers are `WakingConsumer`s (see the module's docstring);
    made by `make_broker(url, consuming=True)` with its `LocalWakeups` middleware. Its
    calls of the broker's script record the worker's heartbeat once per
    HEARTBEAT_EVERY_MS, not on every call: the heartbeat only has to be younger than
    `heartbeat_timeout` (10 s) for the worker to count as alive, and its idle consumers call
    at least once per `idle_fetch_ms` (1 s)."""

    wakeups: LocalWakeups

    def __init__(
        self,
        *,
        wakeups: LocalWakeups,
        middleware: list[Any],
        idle_fetch_ms: int = IDLE_FETCH_MS,
        **kwargs: Any,
    ):
        super().__init__(middleware=[*middleware, wakeups], **kwargs)
        self.wakeups = wakeups
        self.idle_fetch_ms = idle_fetch_ms
        self.scripts["dispatch"] = self.client.register_script(_dispatch_script())
        self._last_heartbeat = 0
        self.heartbeats = 0  # recorded (for tests)

    def _heartbeat_due(self, now_ms: int) -> int:
        """1 when this call should record the heartbeat (races between threads only
        record one more)."""
        if now_ms - self._last_heartbeat < HEARTBEAT_EVERY_MS:
            return 0
        self._last_heartbeat = now_ms
        self.heartbeats += 1
        return 1

    def _dispatch(self, command: str) -> Any:
        """The broker's own `_dispatch`, with the heartbeat's flag in the maintenance
        argument (`_dispatch_script`)."""
        dispatch = self.scripts["dispatch"]
        keys = [self.namespace]

        def do_dispatch(queue_name: str, *args: Any) -> Any:
            timestamp = current_millis()
            flags = self._should_do_maintenance(command) + 2 * self._heartbeat_due(timestamp)
            return dispatch(
                args=[
                    command,
                    timestamp,
                    queue_name,
                    self.broker_id,
                    self.heartbeat_timeout,
                    self.dead_message_ttl,
                    flags,
                    self._max_unpack_size(),
                    *args,
                ],
                keys=keys,
            )

        return do_dispatch

    @property
    def consumer_class(self) -> Any:
        return WakingConsumer
