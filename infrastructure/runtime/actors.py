"""dramatiq: the broker, the actors, and the sender the effect dispatcher uses.

Actors hold no business logic: they parse their arguments, open the event context (actor
`system:worker`, the correlation id carried by the effect) and call the service method the
command table names (application/services.py `command_table`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, Retries, ShutdownNotifications

from application.checkout.effects import COMMANDS, Effect
from application.errors import RetryLaterError
from application.services import Services, command_runner
from domain.base import EventMetadata, event_context
from infrastructure.observability import tracing
from infrastructure.store.event_store import notifying_in_transaction

log = logging.getLogger(__name__)
QUEUE = "ecovarejo"
# How often the worker's threads look at their stop flag (and a waiting consumer at its
# thread's): a stopping worker is held this long at most. No Redis call: an idle consumer
# asks Redis once per `broker_wakeups.IDLE_FETCH_MS` (1 s) unless woken by a send.
WORKER_TIMEOUT_MS = 100
RETRIES = {"max_retries": 30, "min_backoff": 100, "max_backoff": 10_000}


def make_broker(url: str, *, consuming: bool = False) -> dramatiq.Broker:
    """The broker at `url`. `consuming`: a worker's, whose Redis consumers are woken by the
    process's own sends instead of polling fast (infrastructure/runtime/broker_wakeups.py)."""
    middleware = [AgeLimit(), ShutdownNotifications(), Callbacks(), Pipelines(), Retries()]
    if tracing.enabled():
        middleware.append(tracing.TracingMiddleware())
    if url.startswith("amqp"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url, middleware=middleware)
    from dramatiq.brokers.redis import RedisBroker

    from infrastructure.runtime.broker_wakeups import LocalWakeups, WakingRedisBroker

    # A worker that dies (SIGKILL, OOM) leaves its fetched messages unacknowledged; another
    # worker requeues them once the dead one's heartbeat is this old. Maintenance (which
    # does the requeueing) runs on a random 5 % of broker commands (the chance is per million).
    options: dict[str, Any] = dict(
        url=url,
        middleware=middleware,
        namespace="ecovarejo-dramatiq",
        heartbeat_timeout=10_000,
        maintenance_chance=50_000,
    )
    if consuming:
        return WakingRedisBroker(wakeups=LocalWakeups(), **options)
    return RedisBroker(**options)


class Actors:
    """The actors of one broker, bound to one application; also the `EffectSender`."""

    def __init__(self, broker: dramatiq.Broker, services: Services, queue: str = QUEUE):
        self.broker = broker
        self.queue = queue
        self.actors: dict[str, dramatiq.Actor[Any, Any]] = {}
        for name in COMMANDS:  # one actor per command of the effects table
            self.actors[name] = dramatiq.Actor(
                self._run(name, command_runner(services, name)),
                broker=broker,
                actor_name=name,
                queue_name=queue,
                priority=0,
                options=dict(RETRIES),
            )

    @staticmethod
    def _run(name: str, command: Callable[..., Any]) -> Callable[..., None]:
        def actor(*args: str, correlation_id: str = "", causation_id: str = "") -> None:
            metadata = EventMetadata(f"system:worker:{name}", correlation_id, causation_id)
            with event_context(metadata), notifying_in_transaction():
                try:
                    command(*args)
                except RetryLaterError as e:
                    log.warning("%s%s will be retried: %s", name, args, e)
                    raise

        actor.__name__ = name
        return actor

    def send(self, effect: Effect) -> None:
        self.actors[effect.action].send_with_options(
            args=effect.args,
            kwargs={"correlation_id": effect.correlation_id, "causation_id": effect.causation_id},
            delay=int(effect.delay_s * 1000) or None,
        )

    def worker(self, threads: int = 4) -> dramatiq.Worker:
        """The worker's consumers wait on the process's own sends (broker_wakeups.py) and ask
        Redis at least once per `IDLE_FETCH_MS`: its bounds are said there."""
        return dramatiq.Worker(
            self.broker,
            queues={self.queue},
            worker_threads=threads,
            worker_timeout=WORKER_TIMEOUT_MS,
        )
