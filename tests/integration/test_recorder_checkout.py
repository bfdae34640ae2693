"""The recorder's lean checkout (infrastructure/store/event_store.py: `checkout`) raises the
library's errors as its `get_connection` does, and gives every connection back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import (
    InfrastructureFactory,
    IntegrityError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.utils import Environment

from infrastructure.store.event_store import EventStoreRecorder, checkout, eventsourcing_env


@pytest.fixture
def recorder(database_url: str) -> Iterator[EventStoreRecorder]:
    env = {
        **eventsourcing_env(database_url),
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "0",
    }
    factory: Any = InfrastructureFactory.construct(Environment("Checkout", env))
    yield factory.application_recorder()
    factory.close()


def _available(recorder: EventStoreRecorder) -> int:
    return int(recorder.datastore.pool.get_stats().get("pool_available", 0))


def test_a_version_conflict_is_the_librarys_integrity_error(recorder: EventStoreRecorder) -> None:
    taken = uuid4()
    recorder.insert_events([StoredEvent(taken, 1, "t", b"{}")])
    for _ in range(3):  # more than the pool holds: each connection came back
        with pytest.raises(IntegrityError):
            recorder.insert_events([StoredEvent(taken, 1, "t", b"{}")])
    assert [e.originator_version for e in recorder.select_events(taken)] == [1]


def test_a_refused_statement_is_the_librarys_error_and_the_connection_comes_back(
    recorder: EventStoreRecorder,
) -> None:
    with checkout(recorder.datastore) as conn:
        conn.execute("SELECT 1")
    before = _available(recorder)
    for _ in range(3):
        with pytest.raises(ProgrammingError), checkout(recorder.datastore) as conn:
            conn.execute("SELECT * FROM no_such_table")
    assert _available(recorder) == before
    with checkout(recorder.datastore) as conn:
        assert conn.execute("SELECT 2").fetchone() is not None
