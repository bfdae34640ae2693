"""Random interleavings of checkouts, cancellations, shipments, stock receipts, gateway
outcomes and timeouts, against the real event store. Side effects are queued and run by
rules of their own, so authorizations, timeouts and cancellations race in every order.
After each step the saga's invariants hold; at the end, with everything run, every order
is final and the books balance."""

from __future__ import annotations

import contextlib
import uuid

import psycopg
import pytest
import redis
from eventsourcing.persistence import Tracking
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from application.checkout.effects import PAYMENT_TIMEOUT, Effect, effects_of
from application.checkout.policy import CheckoutSaga
from application.errors import RetryLaterError
from application.event_store import APP_NAME
from application.services import Services, command_runner
from domain.base import DomainError
from infrastructure.gateways.payments.sandbox import sandbox_chain
from infrastructure.keys.data_keys import LocalMasterKey, generate_master_key
from infrastructure.store.event_store import eventsourcing_env
from tests.checkout import (
    APPROVED,
    DECLINED,
    NO_FUNDS,
    PRIMARY_FAILS,
    check_invariants,
    check_out,
    fill_cart,
    register,
)
from tests.conftest import with_database

SKUS = ["ECO-A", "ECO-B"]
CARDS = [APPROVED, APPROVED, DECLINED, NO_FUNDS, PRIMARY_FAILS]


class SynchronousWorld:
    """The saga run inline on every new event; effects queued for the rules to run."""

    def __init__(self, env: dict[str, str], client: redis.Redis):
        self.services = Services.open(env=env, gateways=sandbox_chain(client))
        self.saga = CheckoutSaga(env=env)
        self.position = 0
        self.effects: list[Effect] = []
        self.timeouts: list[Effect] = []

    def pump(self) -> None:
        while batch := self.services.store.recorder.select_notifications(self.position + 1, 100):
            for notification in batch:
                event = self.services.store.mapper.to_domain_event(notification)
                if notification.topic in self.saga.topics:
                    self.saga.process_event(event, Tracking(APP_NAME, notification.id))
                for effect in effects_of(event, {PAYMENT_TIMEOUT: 0}):
                    queue = self.timeouts if effect.action == "expire_order" else self.effects
                    queue.append(effect)
                self.position = notification.id

    def run(self, effect: Effect) -> None:
        try:
            command_runner(self.services, effect.action)(*effect.args)
        except RetryLaterError:
            self.effects.append(effect)
        self.pump()

    def close(self) -> None:
        self.services.store.close()
        self.saga.close()


class CheckoutMachine(RuleBasedStateMachine):
    def __init__(self, server_url: str, redis_url: str):
        super().__init__()
        self.admin_url = server_url
        self.dbname = f"prop_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        self.redis = redis.Redis.from_url(redis_url)
        self.world = SynchronousWorld(
            {
                **eventsourcing_env(with_database(server_url, self.dbname)),
                **LocalMasterKey(generate_master_key()).as_env(),
            },
            self.redis,
        )
        for sku in SKUS:
            register(self.world.services, sku, 3)
        self.world.pump()
        self.orders: list[uuid.UUID] = []

    @rule(
        skus=st.lists(st.sampled_from(SKUS), min_size=1, max_size=2, unique=True),
        quantity=st.integers(1, 2),
        number=st.sampled_from(CARDS),
    )
    def checkout(self, skus: list[str], quantity: int, number: str) -> None:
        try:
            cart = fill_cart(self.world.services, dict.fromkeys(skus, quantity))
        except DomainError:
            return  # not enough available to even fill the cart
        self.orders.append(check_out(self.world.services, cart, number))
        self.world.pump()

    @rule(sku=st.sampled_from(SKUS), quantity=st.integers(1, 3))
    def receive_stock(self, sku: str, quantity: int) -> None:
        self.world.services.catalog.receive_stock(sku, quantity)
        self.world.pump()

    @rule(data=st.data())
    def run_an_effect(self, data: st.DataObject) -> None:
        if self.world.effects:
            index = data.draw(st.integers(0, len(self.world.effects) - 1))
            self.world.run(self.world.effects.pop(index))

    @rule(data=st.data())
    def fire_a_timeout(self, data: st.DataObject) -> None:
        if self.world.timeouts:
            index = data.draw(st.integers(0, len(self.world.timeouts) - 1))
            self.world.run(self.world.timeouts.pop(index))

    @rule(data=st.data(), by_admin=st.booleans())
    def cancel(self, data: st.DataObject, by_admin: bool) -> None:
        if self.orders:
            order_id = data.draw(st.sampled_from(self.orders))
            order = self.world.services.orders.order_of(order_id)
            with contextlib.suppress(DomainError):
                self.world.services.orders.cancel_order(
                    order_id, None if by_admin else order.customer_id, ""
                )
            self.world.pump()

    @rule(data=st.data())
    def ship(self, data: st.DataObject) -> None:
        if self.orders:
            with contextlib.suppress(DomainError):
                self.world.services.orders.ship_order(
                    data.draw(st.sampled_from(self.orders)), "Correios", "X"
                )
            self.world.pump()

    @invariant()
    def promises_hold_at_every_step(self) -> None:
        check_invariants(self.world.services, final=False)

    def teardown(self) -> None:
        try:
            for _ in range(1000):  # everything queued runs, timeouts last
                if self.world.effects:
                    self.world.run(self.world.effects.pop(0))
                elif self.world.timeouts:
                    self.world.run(self.world.timeouts.pop(0))
                else:
                    break
            check_invariants(self.world.services, final=True)
        finally:
            self.world.close()
            self.redis.close()
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')


@pytest.mark.timeout(600)
def test_checkout_invariants_hold_under_random_interleavings(servers, redis_url):
    run_state_machine_as_test(
        lambda: CheckoutMachine(servers.database_url, redis_url),
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
