"""The wake-up of a follower's step and of an actor's append commits with their events
(infrastructure/store/event_store.py: `_insert_with_tracking`, `notifying_in_transaction`):
a listener hears it, the `Waker` sends nothing for them, and a step that fails sends
nothing at all. The API's commands keep the Waker."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, Tracking
from psycopg.sql import SQL, Identifier

from application.checkout.policy import CheckoutSaga
from domain.base import EventMetadata, event_context
from domain.cart import Cart
from infrastructure.bootstrap import bootstrap
from infrastructure.store.event_store import notifying_in_transaction


@pytest.fixture
def system(settings):
    built = bootstrap(settings)  # no runners: the test writes itself
    yield built
    built.close()


def _listening(system: Any) -> psycopg.Connection[Any]:
    conn = psycopg.connect(system.database_url, autocommit=True)
    channel = system.services.store.recorder.channel_name
    conn.execute(SQL("LISTEN {0}").format(Identifier(channel)))
    return conn


def _heard(conn: psycopg.Connection[Any]) -> int:
    return sum(1 for _ in conn.notifies(timeout=0.5))


def _stored(saga: CheckoutSaga, customer: str) -> list[Any]:
    with event_context(EventMetadata(f"customer:{customer}", "corr", "cause")):
        cart = Cart(customer_id=customer)
    return [saga.mapper.to_stored_event(e) for e in cart.collect_events()]


def test_a_step_s_events_wake_listeners_from_their_own_transaction(system):
    saga = CheckoutSaga(env=system.follower_env)
    recorder: Any = saga.recorder
    listener = _listening(system)
    sent = recorder.waker.sent
    recorder.insert_events(_stored(saga, "c1"), tracking=Tracking("test.step", 1))
    assert _heard(listener) == 1
    time.sleep(0.1)
    assert recorder.waker.sent == sent  # no Waker NOTIFY after it


def test_a_step_whose_position_is_recorded_already_commits_nothing_and_wakes_no_one(system):
    saga = CheckoutSaga(env=system.follower_env)
    recorder: Any = saga.recorder
    recorder.insert_events(_stored(saga, "c1"), tracking=Tracking("test.step", 5))
    listener = _listening(system)
    head = system.head_position()
    with pytest.raises(IntegrityError):
        recorder.insert_events(_stored(saga, "c2"), tracking=Tracking("test.step", 5))
    assert _heard(listener) == 0
    assert system.head_position() == head


def test_an_actor_s_append_carries_its_wake_up_and_a_command_s_leaves_it_to_the_waker(system):
    store = system.services.store
    recorder: Any = store.recorder
    listener = _listening(system)
    sent = recorder.waker.sent
    with event_context(EventMetadata("system:worker:test", "corr", "cause")):
        with notifying_in_transaction():
            store.commit(Cart(customer_id="c1"))
        assert _heard(listener) == 1
        time.sleep(0.1)
        assert recorder.waker.sent == sent
        store.commit(Cart(customer_id="c2"))  # a command of the API
    recorder.waker.flush()
    deadline = time.monotonic() + 5
    while recorder.waker.sent == sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert recorder.waker.sent > sent
