"""The same application and saga tests, in two worlds: in memory (the library's POPO
persistence shared by one test's applications, an in-memory key store, fakeredis for the
sandbox gateways) and on the real PostgreSQL and Redis. The saga and the effects are run
inline, so a test steps the system deterministically: `settle()` runs everything due.

The `world` fixture is the memory world in tests/unit (conftest.py) and the PostgreSQL one in
tests/integration, whose modules import the unit modules' world tests to run them again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import fakeredis
from eventsourcing.persistence import Tracking

from application.checkout.effects import PAYMENT_TIMEOUT, Effect, effects_of
from application.checkout.policy import CheckoutSaga
from application.errors import RetryLaterError
from application.event_store import APP_NAME
from application.services import Services, command_runner
from infrastructure.gateways.payments.sandbox import sandbox_chain
from infrastructure.store.memory import SharedMemoryFactory, memory_env

DEADLINES = ("expire_order", "expire_payment", "close_payment_retry")


class World:
    def __init__(self, services: Services, saga: CheckoutSaga):
        self.services = services
        self.saga = saga
        self.position = services.store.recorder.max_notification_id() or 0
        self.effects: list[Effect] = []
        self.deadlines: list[Effect] = []
        self.not_due: list[Effect] = []  # deadlines run too early: again at the next settle

    def pump(self) -> None:
        """Feed every new event to the saga, and queue the effects it asks for."""
        while batch := self.services.store.recorder.select_notifications(self.position + 1, 100):
            for notification in batch:
                event = self.services.store.mapper.to_domain_event(notification)
                if notification.topic in self.saga.topics:
                    self.saga.process_event(event, Tracking(APP_NAME, notification.id))
                for effect in effects_of(event, {PAYMENT_TIMEOUT: 0}):
                    deadline = effect.action in DEADLINES
                    queue = self.deadlines if deadline else self.effects
                    queue.append(effect)
                self.position = notification.id

    def settle(self, *, deadlines: bool = False) -> None:
        """Run the saga and every effect until nothing is left to do (payment deadlines
        too, with `deadlines`)."""
        if deadlines:
            self.deadlines += self.not_due
            self.not_due = []
        self.pump()
        for _ in range(1000):
            if not self.effects and not (deadlines and self.deadlines):
                return
            effect = self.effects.pop(0) if self.effects else self.deadlines.pop(0)
            try:
                command_runner(self.services, effect.action)(*effect.args)
            except RetryLaterError:
                due_later = effect.action in DEADLINES
                (self.not_due if due_later else self.effects).append(effect)
            self.pump()
        raise AssertionError("effects never settled")


def memory_world() -> Iterator[World]:
    store = f"test-{uuid.uuid4().hex}"
    env = memory_env(store)
    services = Services.open(
        env=env, gateways=sandbox_chain(fakeredis.FakeRedis(), "sandbox-secret")
    )
    yield World(services, CheckoutSaga(env=env))
    SharedMemoryFactory.drop(store)


def postgres_world(request: Any) -> Iterator[World]:
    from infrastructure.bootstrap import bootstrap

    container = bootstrap(request.getfixturevalue("settings"))  # no runners: driven inline
    container.services.orders.notifier = container.services.customers.notifier = None
    try:
        yield World(container.services, CheckoutSaga(env=container.env))
    finally:
        container.close()
