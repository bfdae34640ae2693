"""Redis read models follow the log: atomically, once, and through failures."""

import threading

import redis
from eventsourcing.persistence import Tracking
from eventsourcing.projection import BaseProjectionRunner

from application.event_store import APP_NAME, EventStore
from application.services import Services
from domain.money import Money
from domain.stock_item import StockItem
from infrastructure.read_stores.redis_views import RedisDocumentView
from infrastructure.runtime.runners import Supervisor
from projections.base import Put
from projections.catalog import StockItemsProjection, stock_key


def register(services: Services, sku: str, quantity: int = 10) -> int:
    return services.catalog.register_stock_item(
        sku=sku,
        name=f"Produto {sku}",
        description="",
        category="casa",
        price=Money.brl("9.90"),
        initial_quantity=quantity,
        sustainability={"carbon_footprint_kg": "0.5", "certifications": ["FSC"]},
    ).position


def test_views_answer_after_commands(container):
    register(container.services, "ECO-1", 10)
    last = container.services.catalog.receive_stock("ECO-1", 5).position
    assert container.wait_for_projections(last)
    doc = container.view("stock_items").get(stock_key("ECO-1"))
    assert (doc["on_hand"], doc["available"], doc["version"]) == (15, 15, 2)
    assert doc["price"] == {"amount": "9.90", "currency": "BRL"}


def test_a_repeated_position_is_applied_once(redis_url):
    client = redis.Redis.from_url(redis_url)
    view = RedisDocumentView(client, "demo")
    view.apply([Put("a", {"n": 1})], Tracking(APP_NAME, 5))
    view.apply([Put("a", {"n": 2})], Tracking(APP_NAME, 5))
    view.apply([Put("a", {"n": 3})], Tracking(APP_NAME, 4))
    assert view.get("a") == {"n": 1}
    assert view.max_tracking_id(APP_NAME) == 5


class FlakyStockProjection(StockItemsProjection):
    """Fails twice on the receipt, as a projector meeting a transient Redis error would."""

    failures_left = 2
    lock = threading.Lock()

    def process_event(self, domain_event, tracking):
        if isinstance(domain_event, StockItem.Received):
            with self.lock:
                if FlakyStockProjection.failures_left > 0:
                    FlakyStockProjection.failures_left -= 1
                    raise ConnectionError("transient")
        super().process_event(domain_event, tracking)


def test_a_failing_event_is_retried_with_backoff_and_never_skipped(container):
    register(container.services, "ECO-1", 10)
    container.services.catalog.receive_stock("ECO-1", 5)
    last = register(container.services, "ECO-2", 1)

    def make_runner():
        view = RedisDocumentView(redis.Redis.from_url(container.redis_url), "flaky")
        return BaseProjectionRunner(
            projection=FlakyStockProjection(view),
            application_class=EventStore,
            tracking_recorder=view,
            topics=(),
            env=container.follower_env,
        )

    supervisor = Supervisor("flaky", make_runner, initial_backoff=0.01).start()
    try:
        view = RedisDocumentView(container.redis, "flaky")
        for _ in range(500):
            if (view.max_tracking_id(APP_NAME) or 0) >= last:
                break
            threading.Event().wait(0.02)
        assert view.max_tracking_id(APP_NAME) == last
        assert view.get(stock_key("ECO-1"))["on_hand"] == 15
        assert supervisor.status.failures == 2
        assert supervisor.status.state == "running"
    finally:
        supervisor.stop()


def test_a_subscription_sees_an_event_committed_before_its_listen_was_in_place(container):
    import time

    from infrastructure.store.event_store import GaplessSubscription

    class SlowToListen(GaplessSubscription):
        def _listen(self) -> None:
            time.sleep(0.5)  # the first read is done, LISTEN is not yet in place
            super()._listen()

    subscription = SlowToListen(recorder=container.services.store.recorder)
    try:
        time.sleep(0.2)
        register(container.services, "ECO-1")  # its NOTIFY goes to no one
        received: list[int] = []
        reader = threading.Thread(target=lambda: received.append(next(subscription).id))
        reader.start()
        reader.join(timeout=5)
        assert received == [1]
    finally:
        subscription.stop()
