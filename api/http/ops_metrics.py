"""Gauges and counters the alert rules (`ops/prometheus/alerts.yml`) are written against,
computed when Prometheus scrapes, from the event store, the broker and the read models:

- `ecovarejo_events_total{type}`: events recorded, by type (payment failure rate, saga
  timeouts as `Order.Cancelled`… are rates of these). Counted incrementally per process.
- `ecovarejo_queue_messages{queue}`: dramatiq messages waiting (ready, delayed) and dead.
- `ecovarejo_projection_parked_events{projection}`: events a read model parked.
- `ecovarejo_process_lag_events{process}`: events the saga / effect dispatcher have to do.
- `ecovarejo_follower_up{follower}`: whether any process (API or worker) runs each follower.
- `ecovarejo_lgpd_request_oldest_open_age_seconds`: age of the oldest data-subject request
  received and not completed (0 when none); LGPD gives 15 days.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from infrastructure.runtime.actors import QUEUE
from infrastructure.store.event_store import EVENTS_TABLE

log = logging.getLogger("ecovarejo.edge")
BROKER_NAMESPACE = "ecovarejo-dramatiq"
HEARTBEAT_S = 30.0  # supervisors publish their state every 5 s (runners.HEARTBEAT_EVERY_S)


def event_type(topic: str) -> str:
    """`domain.payment:Payment.Declined` -> `Payment.Declined`."""
    return topic.rpartition(":")[2]


class EventCounts:
    """Per-type totals of the log, read incrementally (only events after the last seen)."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.totals: dict[str, int] = {}
        self.last = 0
        self._lock = threading.Lock()

    def refresh(self) -> dict[str, int]:
        with self._lock, psycopg.connect(self.database_url) as conn:
            rows = conn.execute(
                f"SELECT topic, count(*), max(notification_id) FROM {EVENTS_TABLE} "  # noqa: S608
                "WHERE notification_id > %s GROUP BY topic",
                (self.last,),
            ).fetchall()
            for topic, count, last in rows:
                name = event_type(topic)
                self.totals[name] = self.totals.get(name, 0) + int(count)
                self.last = max(self.last, int(last))
            return dict(self.totals)


def queue_depths(client: redis.Redis, queue: str = QUEUE) -> dict[str, int]:
    """Messages in the dramatiq Redis broker's queues (see dramatiq's dispatch.lua). The
    labels name the default queue, so the alert rules hold for every deployment."""
    base = f"{BROKER_NAMESPACE}:{queue}"
    return {
        QUEUE: int(client.llen(base)),
        f"{QUEUE}.delayed": int(client.llen(f"{base}.DQ")),
        f"{QUEUE}.dead": int(client.zcard(f"{base}.XQ")),
    }


class OpsCollector(Collector):
    def __init__(self, container: Any):
        self.container = container
        self.events = EventCounts(container.database_url)
        broker_url = container.settings.broker_url or container.redis_url
        self.broker = None if broker_url.startswith("amqp") else redis.Redis.from_url(broker_url)

    def collect(self) -> Iterator[Metric]:
        for part in (self._events, self._queues, self._followers, self._lgpd, self._disputes):
            try:
                yield from part()
            except Exception as e:
                log.warning("metrics: %s failed: %s", part.__name__, type(e).__name__)

    def _events(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "ecovarejo_events", "events recorded in the log, by type", labels=["type"]
        )
        for name, count in sorted(self.events.refresh().items()):
            family.add_metric([name], count)
        yield family

    def _queues(self) -> Iterator[Metric]:
        if self.broker is None:
            return
        family = GaugeMetricFamily(
            "ecovarejo_queue_messages",
            "dramatiq messages waiting: ready, delayed (timeouts, retries) and dead",
            labels=["queue"],
        )
        queue_name = getattr(self.container.settings, "broker_queue", QUEUE)
        for queue, depth in queue_depths(self.broker, queue_name).items():
            family.add_metric([queue], depth)
        yield family

    def _followers(self) -> Iterator[Metric]:
        from application.operations.read_side import status as followers_of

        parked = GaugeMetricFamily(
            "ecovarejo_projection_parked_events",
            "events a read model could not apply and parked",
            labels=["projection"],
        )
        lag = GaugeMetricFamily(
            "ecovarejo_process_lag_events",
            "events of interest the saga / effect dispatcher still have to process",
            labels=["process"],
        )
        up = GaugeMetricFamily(
            "ecovarejo_follower_up",
            "1 if some process (this one or a worker) runs the follower: a heartbeat in Redis "
            f"younger than {HEARTBEAT_S:.0f} s",
            labels=["follower"],
        )
        for status in followers_of(self.container.read_side):
            if status.kind == "process":
                lag.add_metric([status.name], status.lag)
            else:
                parked.add_metric([status.name], len(status.parked))
            up.add_metric([status.name], 1 if self._alive(status.name) else 0)
        yield parked
        yield lag
        yield up

    def _alive(self, name: str) -> bool:
        from infrastructure.read_stores.projection_admin import runner_status
        from infrastructure.runtime.followers import runner_of

        # Runners publish under the registry's runner name (one feeds four read models).
        published = runner_status(self.container.redis, runner_of(name))
        fresh = time.time() - float(published.get("updated_at") or 0) < HEARTBEAT_S
        return published.get("state") == "running" and fresh

    def _lgpd(self) -> Iterator[Metric]:
        from datetime import UTC, datetime

        now = datetime.now(tz=UTC)
        ages = [
            (now - datetime.fromisoformat(r["received_at"])).total_seconds()
            for r in self.container.services.data_subjects.lgpd_requests(pseudonymous=True)
            if r["completed_at"] is None
        ]
        yield GaugeMetricFamily(
            "ecovarejo_lgpd_request_oldest_open_age_seconds",
            "age of the oldest data-subject request not yet completed (0 when none)",
            value=max(ages, default=0.0),
        )

    def _disputes(self) -> Iterator[Metric]:
        """Seconds left to answer the open dispute due soonest (+Inf when none is open: the
        alert rule then has nothing to fire on)."""
        from datetime import UTC, datetime

        now = datetime.now(tz=UTC)
        left = [
            (datetime.fromisoformat(d["evidence_due_by"]) - now).total_seconds()
            for d in self.container.readers.orders.open_disputes()
            if d.get("evidence_due_by")
        ]
        yield GaugeMetricFamily(
            "ecovarejo_dispute_evidence_due_seconds",
            "seconds until the evidence of the soonest-due open payment dispute is due",
            value=min(left, default=float("inf")),
        )
