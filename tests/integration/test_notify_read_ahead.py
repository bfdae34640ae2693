"""The notify actor's reads (application/orders.py: `OrderService.notify_order`): an order
this process's saga has reserved (`SubjectsOfOrders`) is read with its customer's data
subject in one statement; an order the saga has not seen costs the two reads as before (and
is known from then on); an erased data subject is told nothing either way."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

import pytest

from application.checkout.policy import SUBJECTS_OF_ORDERS, SubjectsOfOrders
from application.orders import OrderService
from application.ports import Notification
from domain.personal import DataSubject
from infrastructure.bootstrap import Container
from tests.checkout import register
from tests.integration.test_lgpd import checkout_with_personal_data


class Told:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)


def _service(container: Container) -> tuple[OrderService, Told, list[str]]:
    """An order service on the container's store, its notifier, and the store's reads made
    from this thread from now on (the worker's own actors read from theirs)."""
    orders = container.services.orders
    told = Told()
    service = OrderService(orders.store, orders.catalog, told)
    calls: list[str] = []
    recorder: Any = orders.store.recorder
    me = threading.get_ident()
    for name in ("select_events", "select_events_after"):
        original = getattr(recorder, name)

        def counted(*args: Any, _original: Any = original, _name: str = name, **kw: Any) -> Any:
            if threading.get_ident() == me:
                calls.append(_name)
            return _original(*args, **kw)

        setattr(recorder, name, counted)
    return service, told, calls


@pytest.fixture
def order_id(container: Container) -> UUID:
    register(container.services, "ECO-1", 10)
    return checkout_with_personal_data(container)


def test_an_order_the_saga_reserved_is_read_with_its_data_subject_in_one_statement(
    container: Container, order_id: UUID
) -> None:
    assert SUBJECTS_OF_ORDERS.subject_of(order_id) == DataSubject.create_id("ana")
    service, told, calls = _service(container)
    service.notify_order(order_id, "order_confirmed")
    assert calls == ["select_events_after"]
    assert [(n.order_id, n.customer_id, n.kind) for n in told.sent] == [
        (str(order_id), "ana", "order_confirmed")
    ]


def test_an_order_the_saga_has_not_seen_is_read_as_before_and_known_from_then_on(
    container: Container, order_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = SubjectsOfOrders()
    monkeypatch.setattr("application.orders.SUBJECTS_OF_ORDERS", fresh)
    service, told, calls = _service(container)
    service.notify_order(order_id, "order_confirmed")
    assert calls == ["select_events", "select_events"]  # the order, then its subject
    assert fresh.subject_of(order_id) == DataSubject.create_id("ana")
    service.notify_order(order_id, "order_shipped")
    assert calls[2:] == ["select_events_after"]
    assert [n.kind for n in told.sent] == ["order_confirmed", "order_shipped"]


def test_an_erased_data_subject_is_told_nothing_when_read_in_one_statement(
    container: Container, order_id: UUID
) -> None:
    erasure = container.services.data_subjects.erase_personal_data("ana", "customer:ana")
    assert erasure.status == "erased"
    service, told, calls = _service(container)
    service.notify_order(order_id, "order_cancelled")
    assert calls == ["select_events_after"]
    assert told.sent == []
