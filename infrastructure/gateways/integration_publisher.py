"""The integration-event publisher: a follower of the log that puts the public events
(application/integration_events.py) on a RabbitMQ topic exchange as CloudEvents.

At least once, in order: for each stored event it publishes its CloudEvents with publisher
confirms (the broker has taken each message, persistent, before the next is sent), and only
then records the event's position in its tracking table. A crash between the two repeats
that event's messages on restart (same CloudEvent `id`: consumers drop the duplicate); no
event is ever skipped. One runner holds the lease (workers share it like every follower),
and it handles the log in order, so one aggregate's events leave in log order.

When the broker is down the publisher *parks*: it keeps the event, retries with backoff and
does not advance, so its lag grows (`ecovarejo_process_lag_events{process="integration_events"}`
in /metrics, `ecovarejo projections status`) while the runner stays up. Nothing on the write
side waits for it: commands append to the log as before, and /ready does not fail for it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any
from uuid import UUID

import orjson
import pika
import pika.exceptions
from eventsourcing.persistence import InfrastructureFactory, Tracking, TrackingRecorder
from eventsourcing.projection import BaseProjectionRunner, Projection
from eventsourcing.utils import Environment

from application.event_store import EventStore
from application.integration_events import PUBLIC_TOPICS, cloud_events

log = logging.getLogger(__name__)

NAME = "integration_events"
CONTENT_TYPE = "application/cloudevents+json"


class PublisherStoppedError(Exception):
    """The runner was asked to stop while the broker was down: the event is not recorded."""


class AmqpExchange:
    """A topic exchange on RabbitMQ, published to with confirms; reconnects when needed."""

    def __init__(self, url: str, exchange: str):
        self.url, self.exchange = url, exchange
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None

    def _open(self) -> Any:
        if self._channel is None or not self._channel.is_open:
            self.close()
            params = pika.URLParameters(self.url)
            params.connection_attempts, params.socket_timeout = 1, 5
            params.blocked_connection_timeout = 30  # a broker out of memory blocks publishers
            self._connection = pika.BlockingConnection(params)
            channel = self._connection.channel()
            channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
            channel.confirm_delivery()  # basic_publish returns once the broker has it
            self._channel = channel
        return self._channel

    def publish(self, event: dict[str, Any], routing_key: str) -> None:
        """Returns once the broker confirmed the message; raises if it did not."""
        try:
            self._open().basic_publish(
                self.exchange,
                routing_key,
                orjson.dumps(event),
                pika.BasicProperties(
                    content_type=CONTENT_TYPE,
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=event["id"],
                    type=event["type"],
                ),
            )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # already broken: nothing to release
                log.debug("closing a broken AMQP connection", exc_info=True)


class ShopLookup:
    """What the mappings need from the write side's repository."""

    def __init__(self, app: EventStore):
        self.app = app

    def order_of_payment(self, payment_id: UUID) -> UUID:
        return UUID(str(self.app.repository.get(payment_id).order_id))

    def available_at(self, stock_item_id: UUID, version: int) -> tuple[str, int]:
        item: Any = self.app.repository.get(stock_item_id, version=version)
        return str(item.sku), int(item.available)


class IntegrationEventPublisher(Projection[TrackingRecorder]):
    name = NAME
    BROKER_ERRORS = (pika.exceptions.AMQPError, OSError)

    def __init__(self, view: TrackingRecorder, exchange: AmqpExchange, max_backoff_s: float = 30.0):
        super().__init__(view)
        self.exchange = exchange
        self.max_backoff_s = max_backoff_s
        self.parked = False
        self.lookup: ShopLookup | None = None
        self.stopping = threading.Event()
        self._bound = threading.Event()

    def bind(self, app: EventStore, stopping: threading.Event) -> None:
        """The runner's application (for lookups) and its stop signal, once it exists."""
        self.lookup, self.stopping = ShopLookup(app), stopping
        self._bound.set()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self._bound.wait()
        assert self.lookup is not None
        for event in cloud_events(domain_event, tracking.notification_id, self.lookup):
            self._publish_until_confirmed(event)
        self.view.insert_tracking(tracking)  # after the confirms: at least once

    def _publish_until_confirmed(self, event: dict[str, Any]) -> None:
        backoff = 0.5
        routing_key = event["type"].removeprefix("br.com.ecovarejo.")
        while True:
            try:
                self.exchange.publish(event, routing_key)
            except self.BROKER_ERRORS as error:
                if not self.parked:
                    log.warning(
                        "integration events parked at %s: broker unavailable (%s)",
                        event["sequence"],
                        type(error).__name__,
                    )
                self.parked = True
                if self.stopping.wait(backoff):
                    raise PublisherStoppedError(event["sequence"]) from error
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            if self.parked:
                log.info("integration events resumed at %s", event["sequence"])
                self.parked = False
            return


class PublisherRunner(BaseProjectionRunner[Any]):
    """Closes the broker connection once the processing thread has ended; a stop while
    parked is a stop, not a failure."""

    def run_forever(self, timeout: float | None = None) -> None:
        # Asked to stop while parked: the runner has ended, nothing failed.
        with contextlib.suppress(PublisherStoppedError):
            super().run_forever(timeout)

    def __exit__(self, *exc: Any) -> None:
        try:
            super().__exit__(*exc)
        except PublisherStoppedError:
            pass
        finally:
            projection = self._projection
            assert isinstance(projection, IntegrationEventPublisher)
            projection.exchange.close()


def publisher_tracking(env: dict[str, str]) -> TrackingRecorder:
    """The publisher's tracking table (`integration_events_tracking`), created if missing."""
    return InfrastructureFactory.construct(Environment(NAME, env)).tracking_recorder()


def make_runner(res: Any) -> BaseProjectionRunner[Any]:
    """The registry's runner (infrastructure/runtime/followers.py): needs ECOVAREJO_EVENTS_URL."""
    settings = res.settings
    if settings.events_url is None:
        raise LookupError("integration events need ECOVAREJO_EVENTS_URL")
    tracking = publisher_tracking(res.follower_env)
    exchange = AmqpExchange(settings.events_url, settings.events_exchange)
    publisher = IntegrationEventPublisher(tracking, exchange)
    runner = PublisherRunner(
        projection=publisher,
        application_class=EventStore,
        tracking_recorder=tracking,
        topics=PUBLIC_TOPICS,
        env=res.follower_env,
    )
    publisher.bind(runner.app, runner.is_interrupted)
    return runner
