"""The application layer's shape (issue 22): one service per area over one event store, and
the workers' commands named in one table."""

from __future__ import annotations

import uuid

import pytest

from application.checkout.effects import COMMANDS
from application.errors import OrderNotFoundError, VersionConflictError
from application.event_store import EventStore
from application.services import Services, command_table
from domain.cart import Cart
from domain.money import Money
from domain.order import Order
from infrastructure.store.memory import memory_env


@pytest.fixture
def services():
    return Services.open(env=memory_env(f"services-{uuid.uuid4().hex}"))


def test_every_command_of_the_effects_table_is_carried_out_by_a_named_service_method(services):
    table = command_table(services)
    assert set(table) == set(COMMANDS)
    for name, method in table.items():
        assert method.__name__ == name  # the table names each method as the effects do
        assert method.__self__ in vars(services).values()  # a service's, no other object's


def test_every_service_works_over_the_one_event_store(services):
    areas = [v for k, v in vars(services).items() if k not in ("store", "commands", "event_log")]
    assert len(areas) == 12  # eleven areas of issue 22, and products (issue 28)
    assert all(area.store is services.store for area in areas)


def test_load_reads_an_aggregate_of_the_kind_asked_or_nothing(services):
    store: EventStore = services.store
    cart_id = services.checkout.create_cart("ana").aggregate_id
    assert isinstance(store.load(Cart, cart_id), Cart)
    assert store.load(Order, cart_id) is None  # another kind reads as missing
    assert store.load(Cart, uuid.uuid4()) is None
    assert store.load(Cart, cart_id, owner="bia") is None  # someone else's reads as missing
    with pytest.raises(OrderNotFoundError):
        store.load(Order, cart_id, OrderNotFoundError("no order"))


def test_a_commit_on_a_stale_aggregate_is_a_version_conflict(services):
    store: EventStore = services.store
    cart_id = services.checkout.create_cart("ana").aggregate_id
    first = store.load(Cart, cart_id)
    second = store.load(Cart, cart_id)
    assert first is not None
    assert second is not None
    first.add_item("ECO-1", "Produto", 1, Money.brl("10.00"))
    store.commit(first)
    second.add_item("ECO-2", "Outro", 1, Money.brl("10.00"))
    with pytest.raises(VersionConflictError):
        store.commit(second)
