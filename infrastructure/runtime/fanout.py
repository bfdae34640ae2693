"""One subscription feeding several projectors: each event is selected and decoded once.

Every member projector writes through its own `Batch`, so a run of events becomes, per
read model, one atomic write of its changes and its position (the store's Lua script or
transaction). The batches are flushed whenever the subscription has nothing more queued
(so a quiet log is written at once, a busy one in batches) and at `Batch.size` events.

Each member keeps its own position: after a restart the runner resumes from the lowest
one and a member skips what it has already applied.

With `defer_s` (a follower of the worker's feed, whose idle calls come in time: product
search's), a member whose pending write is its position alone (events it has no change
for: carts, orders, payments for search) is not written at every drain but with its next
change, or once `defer_s` has passed since the first drain it held back (`flush_pending`,
and `idle_in` tells the feed's runner when that is). The stored position lags the runner
by at most that much and never claims an event it has not applied: a consistency wait on
such an event is answered `defer_s` later at most; a restart repeats events that change
nothing for it. Search wrote its position alone on ~4.9 of ~5.9 drains per checkout, one
statement and one commit each (bench/README.md, "Branch hpos"). A member failing on an event raises,
after the others' pending writes are flushed; the supervisor restarts the runner with
backoff and, after `MAX_ATTEMPTS`, the member parks the event and everyone goes on.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import BaseProjectionRunner, Projection

from infrastructure.observability.tracing import span_for_event
from infrastructure.read_stores.redis_views import Expected, RedisDocumentView
from infrastructure.runtime.live_batch import LiveBatch
from projections.base import APPLICATION, Batch, Change, Projector

log = logging.getLogger(__name__)

Member = tuple[str, Projector, Batch]


class Positions(TrackingRecorder):
    """The runner's position: the lowest of its members' (where the subscription starts)."""

    def __init__(self, batches: Sequence[Batch]):
        self.batches = batches

    def insert_tracking(self, tracking: Tracking) -> None:
        raise NotImplementedError("members record their own positions")

    def max_tracking_id(self, application_name: str) -> int | None:
        positions = [b.max_tracking_id(application_name) or 0 for b in self.batches]
        return min(positions, default=0) or None


class FanOut(Projection[Positions]):
    def __init__(self, members: Sequence[Member], *, defer_s: float = 0.0):
        super().__init__(Positions([batch for _, _, batch in members]))
        self.members = list(members)
        # Set by the runner once its subscription exists; until then, flush every event.
        self.drained: Callable[[], bool] = lambda: True
        # How long a position-only write may wait (0: never; see the module's docstring),
        # and since when each held-back batch has waited (monotonic), by batch.
        self.defer_s = defer_s
        self._held: dict[int, float] = {}

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        position = tracking.notification_id
        for name, projector, batch in self.members:
            if position <= (batch.max_tracking_id(APPLICATION) or 0):
                continue  # this member has it already (the runner resumed behind it)
            try:
                with span_for_event(name, domain_event):  # a span per read model, when tracing
                    projector.process_event(domain_event, tracking)
            except Exception:
                log.warning("read model %s failed at position %s", name, position)
                self._flush_before_failing()
                raise
        if self.drained() or any(b.pending >= b.size for _, _, b in self.members):
            self.flush()

    def flush(self, *, now: bool = False) -> None:
        """Write every member's batch: the Redis read models' together, in one script
        call (one round trip per drained read of the log, not one per read model).
        A position-only write waits, with `defer_s`, until it is due (`now`: write it
        now, a runner that stops)."""
        together: list[Batch] = []
        writes: list[tuple[RedisDocumentView, list[Change], Tracking, Expected | None]] = []
        for _, _, batch in self.members:
            store, write = batch.store, batch.pending_write()
            if write is not None and not now and self._hold(batch, write[0]):
                continue  # its position alone, not due yet
            self._held.pop(id(batch), None)  # written now (or nothing left to write)
            if (
                write is not None
                and isinstance(store, RedisDocumentView)
                and (not writes or writes[0][0].client is store.client)
            ):
                together.append(batch)
                expected = batch.expected() if isinstance(batch, LiveBatch) else None
                writes.append((store, *write, expected))
            else:
                batch.flush()
        if len(together) == 1:
            together[0].flush()
        elif together:
            RedisDocumentView.apply_together(writes)
            for batch in together:
                batch.written()

    def flush_pending(self) -> None:
        """Write what is waiting (a follower of the worker's feed with nothing queued):
        a held-back position once it is due."""
        if self._held or any(batch.pending for _, _, batch in self.members):
            self.flush()

    def idle_in(self) -> float | None:
        """Seconds until a held-back position is due (None: none is held), for the
        feed's runner to call `flush_pending` in time in a quiet log."""
        if not self._held:
            return None
        return max(0.0, min(self._held.values()) + self.defer_s - time.monotonic())

    def _hold(self, batch: Batch, changes: list[Change]) -> bool:
        """Whether `batch`'s write (its position alone: no `changes`) waits."""
        if changes or self.defer_s <= 0:
            return False
        since = self._held.setdefault(id(batch), time.monotonic())
        return time.monotonic() - since < self.defer_s

    def _flush_before_failing(self) -> None:
        """Write what every member (the failing one included: its failing event is not in
        its batch) has done so far, so a restart repeats as little as possible."""
        self._held.clear()
        for _, _, batch in self.members:
            with contextlib.suppress(Exception):  # the runner restarts either way
                batch.flush()


def _drained(subscription: Any) -> Callable[[], bool]:
    """Whether the library's listen/notify subscription has handed out everything it has
    read (no notification left in its current list, none queued)."""
    if not all(
        hasattr(subscription, a)
        for a in ("_notifications", "_notifications_index", "_notifications_queue")
    ):
        return lambda: True

    def drained() -> bool:
        return (
            subscription._notifications_index >= len(subscription._notifications)
            and subscription._notifications_queue.empty()
        )

    return drained


class FanOutRunner(BaseProjectionRunner[Any]):
    """The library's runner over the whole log, telling the fan-out when the subscription
    is drained so that it writes its batches."""

    def __init__(self, fanout: FanOut, *, application_class: type[Any], env: dict[str, str]):
        super().__init__(
            projection=fanout,
            application_class=application_class,
            tracking_recorder=fanout.view,
            topics=(),  # the whole log, so each member's position is the log position
            env=env,
        )
        # The recorder's subscription inside the library's application subscription.
        fanout.drained = _drained(getattr(self._subscription, "subscription", None))
