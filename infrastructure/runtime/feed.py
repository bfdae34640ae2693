"""One feed per worker: one subscription to the log, each event read and decoded once, and
handed to every follower this worker holds by lease.

Before, every runner had its own subscription (its own LISTEN connection, reads and
decode): each append woke and was read by the read models' runner, the search runner, the
effects runner and each of the four saga partitions, in every worker. Now a worker has ONE
`WorkerFeed`; a follower it runs is a `FeedRunner` on it, a drop-in for the library runner
the `Supervisor` and the `Leases` start and stop (so leases, failover and the supervision
are exactly as before). What stays per follower is what makes it exactly-once:

- its position, read from its own store when it attaches (a Redis read model's, the
  saga partition's tracking row, the effect dispatcher's table), and written by its own
  projection in the same transaction (or Lua script) as its effect, as before;
- its own thread (the supervisor's): steps of the saga partitions still run side by
  side, and a step waiting on a lock holds up its own partition only;
- its own queue of decoded events (bounded: a slow follower slows the feed, never
  loses an event).

Each follower says what it needs (`Follower.topics`, `partition`); an event nobody needs is
not decoded. A follower that attaches behind the feed (after a failure, or on taking a
lease) makes the feed re-read from its position; followers already past an event skip it
(`handed`), so nothing is handed twice within an attachment, and after a restart the
follower's own position decides, as with the library's runners.

An event that cannot be decoded reaches a tolerant follower (a read model, which parks it)
as an `UnreadableEvent`, and fails any other (the saga, the effects) as the library's
mapper did before; a key service that is down fails the followers that need the event,
and their supervisors retry after a backoff.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self
from uuid import UUID

from eventsourcing.persistence import Notification, Tracking

from application.event_store import APP_NAME, LogFollower
from domain.base import UnreadableEvent
from infrastructure.observability import tracing
from infrastructure.runtime.fanout import FanOut, _drained
from infrastructure.store.event_store import partition_of

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000  # decoded events waiting per follower, at most
REWIND_SETTLE_S = 0.02  # attaches close together share one re-read
# How long a follower with nothing queued waits before it looks again (its idle write, its
# supervisor's heartbeat): a stop wakes it at once, so this only bounds the idle wake-ups.
IDLE_WAIT_S = 0.5
_WAKE: Any = object()  # queued by `FeedRunner.stop`


class UnreadableEventError(Exception):
    """A follower that cannot park events was handed one that cannot be read."""


@dataclass
class Follower:
    """What a follower gives the feed: its projection (`process_event(event, tracking)`),
    its recorded position, what it follows, and what to open and close around a run."""

    name: str
    projection: Any
    position: Callable[[], int]
    topics: frozenset[str] | None = None  # None: every event
    partition: tuple[int, int] | None = None  # (k, n): only partition k of n
    tolerant: bool = False  # takes UnreadableEvent (parks it) instead of failing
    enter: Callable[[], None] = lambda: None
    exit: Callable[[], None] = lambda: None

    def wants(self, notification: Notification) -> bool:
        if self.topics is not None and notification.topic not in self.topics:
            return False
        if self.partition is None:
            return True
        k, n = self.partition
        originator = notification.originator_id
        if not isinstance(originator, UUID):
            originator = UUID(str(originator))
        return partition_of(originator, n) == k


@dataclass(eq=False)
class _Attached:
    follower: Follower
    handed: int  # the last position handed to it in this attachment
    queue: queue.Queue[tuple[Any, Tracking] | BaseException] = field(
        default_factory=lambda: queue.Queue(QUEUE_SIZE)
    )
    detached: threading.Event = field(default_factory=threading.Event)


class WorkerFeed:
    """The worker's one subscription (see the module's docstring)."""

    def __init__(self, env: dict[str, str]):
        self._env = env
        self._attached: list[_Attached] = []
        self._guard = threading.Lock()
        self._restart = threading.Event()
        self._changed = threading.Condition(self._guard)
        self._stopping = threading.Event()
        self._subscription: Any = None
        self._cursor = 0  # the last position read and dispatched
        self._reading: tuple[str, ...] | None = None  # topics of the running subscription
        self.reads = 0  # notifications read (for tests and the profile)
        self.decodes = 0  # events decoded
        self._app: LogFollower | None = None
        self._thread: threading.Thread | None = None

    # Followers come and go ---------------------------------------------------------------
    def attach(self, follower: Follower) -> _Attached:
        attached = _Attached(follower, follower.position())
        with self._changed:
            self._attached.append(attached)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="worker-feed", daemon=True)
                self._thread.start()
            elif (
                self._reading is None  # between two subscriptions: the next one sees it
                or attached.handed < self._cursor
                or not self._covers(follower)
            ):
                self._restart_reading()
            self._changed.notify_all()
        log.debug("%s attached to the feed at %s", follower.name, attached.handed)
        return attached

    def detach(self, attached: _Attached) -> None:
        attached.detached.set()
        with self._changed:
            if attached in self._attached:
                self._attached.remove(attached)

    def followers(self) -> list[str]:
        """The followers on the feed now."""
        with self._guard:
            return [a.follower.name for a in self._attached]

    def drained(self) -> bool:
        """Whether the subscription has handed out everything it has read so far."""
        subscription = self._subscription
        return subscription is None or _drained(subscription)()

    def stop(self) -> None:
        self._stopping.set()
        with self._changed:
            self._restart_reading()
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(10)
        if self._app is not None:
            self._app.close()

    def _covers(self, follower: Follower) -> bool:
        if not self._reading:  # () reads every topic
            return True
        return follower.topics is not None and follower.topics <= set(self._reading)

    def _restart_reading(self) -> None:
        self._restart.set()
        subscription = self._subscription
        if subscription is not None:
            subscription.stop()

    # The reading thread ------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            try:
                self._read_once()
                backoff = 0.1
            except Exception as error:  # the database went away: the followers wait
                log.warning("the worker feed failed (%s); reading again", error)
                app, self._app = self._app, None  # a fresh pool next time
                if app is not None:
                    app.close()
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _read_once(self) -> None:
        with self._changed:
            while not self._attached and not self._stopping.is_set():
                self._changed.wait(0.5)
            if self._stopping.is_set():
                return
            start = min(a.handed for a in self._attached)
            topics = self._topics()
            self._restart.clear()
        if self._app is None:
            self._app = LogFollower(env=self._env)
        subscription = self._app.recorder.subscribe(gt=start or None, topics=topics)
        with subscription:
            with self._guard:
                self._subscription, self._reading, self._cursor = subscription, topics, start
            if self._restart.is_set():  # an attach came while it was being opened
                return
            try:
                for notification in subscription:
                    self._dispatch(notification)
                    if self._restart.is_set():
                        break
            finally:
                with self._guard:
                    self._subscription, self._reading = None, None
        if self._restart.is_set() and not self._stopping.is_set():
            time.sleep(REWIND_SETTLE_S)

    def _topics(self) -> tuple[str, ...]:
        if any(a.follower.topics is None for a in self._attached):
            return ()
        return tuple(sorted(set().union(*(a.follower.topics or () for a in self._attached))))

    def _dispatch(self, notification: Notification) -> None:
        self.reads += 1
        with self._guard:
            targets = [
                a
                for a in self._attached
                if notification.id > a.handed and a.follower.wants(notification)
            ]
            self._cursor = notification.id
        if not targets:
            return
        item = self._decode(notification)
        tracking = Tracking(APP_NAME, notification.id)
        for attached in targets:
            if isinstance(item, BaseException):
                self._hand(attached, item)
            elif isinstance(item, UnreadableEvent) and not attached.follower.tolerant:
                self._hand(attached, UnreadableEventError(f"{notification.id}: {item.error}"))
            else:
                self._hand(attached, (item, tracking))
            attached.handed = notification.id

    def _decode(self, notification: Notification) -> Any:
        assert self._app is not None
        self.decodes += 1
        try:
            return self._app.mapper.to_domain_event(notification)
        except Exception as error:  # the key service is down: not the event's fault
            return error

    def _hand(self, attached: _Attached, item: Any) -> None:
        while not attached.detached.is_set() and not self._stopping.is_set():
            try:
                attached.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


class FeedRunner:
    """A follower on the worker's feed, with the library runner's face for the
    `Supervisor`: a context (attach, detach), `run_forever(timeout)` (which processes the
    follower's events in the caller's thread and raises its first error), `stop()`,
    `is_interrupted`."""

    def __init__(self, feed: WorkerFeed, follower: Follower):
        self.feed = feed
        self.follower = follower
        self.is_interrupted = threading.Event()
        self._attached: _Attached | None = None
        if hasattr(follower.projection, "drained"):  # a FanOut writes its batches when idle
            follower.projection.drained = self._drained

    def __enter__(self) -> Self:
        self.follower.enter()
        try:
            self._attached = self.feed.attach(self.follower)
        except BaseException:
            self.follower.exit()
            raise
        return self

    def __exit__(self, *args: object) -> None:
        try:
            if self._attached is not None:
                self.feed.detach(self._attached)
        finally:
            self.follower.exit()

    def stop(self) -> None:
        self.is_interrupted.set()
        attached = self._attached
        if attached is not None:  # a runner waiting for events sees it at once
            with contextlib.suppress(queue.Full):
                attached.queue.put_nowait(_WAKE)

    def run_forever(self, timeout: float | None = None) -> None:
        assert self._attached is not None, "enter the runner first"
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        process = _traced(self.follower.projection).process_event
        idle = getattr(self.follower.projection, "flush_pending", None)
        # When a write the follower holds back is due (a FanOut's deferred position):
        # the idle call then comes in time, not IDLE_WAIT_S later.
        due = getattr(self.follower.projection, "idle_in", None)
        events = self._attached.queue
        while not self.is_interrupted.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                item = events.get_nowait()
            except queue.Empty:
                if idle is not None:  # nothing queued: write what waits (the feed may be
                    idle()  # held up by another follower, or the log is quiet)
                wait = min(remaining, IDLE_WAIT_S)
                if due is not None and (held := due()) is not None:
                    wait = min(wait, held + 0.001)
                try:
                    item = events.get(timeout=wait)
                except queue.Empty:
                    continue
            if item is _WAKE:
                continue
            if isinstance(item, BaseException):
                raise item
            process(*item)

    def _drained(self) -> bool:
        attached = self._attached
        return attached is None or (attached.queue.empty() and self.feed.drained())


def _traced(projection: Any) -> Any:
    """The follower's projection with each event in a span, as on its own runner (read
    models open one per read model inside their fan-out already)."""
    if not tracing.enabled() or isinstance(projection, FanOut):
        return projection
    return tracing.TracedProjection(projection)
