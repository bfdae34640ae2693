"""The recorder's lean checkout (infrastructure/store/event_store.py: `checkout`) raises the
library's errors as its `get_connection` does, and gives every connection back; its hot
statements sent through libpq (`LeanStatement`) read and write what psycopg's cursor does."""

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

from infrastructure.store.event_store import (
    EventStoreRecorder,
    LeanStatement,
    checkout,
    eventsourcing_env,
)


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


def test_events_appended_and_read_by_libpq_are_what_the_cursor_reads(
    recorder: EventStoreRecorder,
) -> None:
    oid = uuid4()
    states = [b"", b"\x00\xff{}", "ação".encode()]
    ids = [
        recorder.insert_events([StoredEvent(oid, v, f"tópico:{v}", s)])
        for v, s in enumerate(states, 1)
    ]
    assert all(len(i or ()) == 1 for i in ids)
    lean = recorder.select_events(oid)
    by_cursor = recorder.select_events(str(oid))  # a str id takes psycopg's cursor
    assert lean == by_cursor
    assert [(e.originator_version, e.topic, e.state) for e in lean] == [
        (v, f"tópico:{v}", s) for v, s in enumerate(states, 1)
    ]
    assert recorder.select_events(oid, gt=1, lte=2) == by_cursor[1:2]
    assert recorder.select_events(oid, desc=True, limit=2) == by_cursor[::-1][:2]
    first = [i[0] for i in ids if i]
    assert [n.id for n in recorder.select_notifications(first[0], 3)] == first


def test_a_statement_the_server_forgot_is_prepared_again(recorder: EventStoreRecorder) -> None:
    oid = uuid4()
    recorder.insert_events([StoredEvent(oid, 1, "t", b"{}")])
    for _ in range(2):  # both connections of the pool have prepared the statements
        with checkout(recorder.datastore) as a, checkout(recorder.datastore) as b:
            a.execute("DEALLOCATE ALL")
            b.execute("DEALLOCATE ALL")
        recorder.insert_events([StoredEvent(oid, 2 + _, "t", b"{}")])
        assert [e.originator_version for e in recorder.select_events(oid)] == [*range(1, 3 + _)]


def test_a_lean_statement_numbers_its_parameters_and_refuses_other_placeholders() -> None:
    lean = LeanStatement("SELECT %s, %s FROM t", (20, 25))
    assert lean.query == b"SELECT $1, $2 FROM t"
    with pytest.raises(ValueError, match="plain"):
        LeanStatement("SELECT %s, %(x)s", (20, 25))
    with pytest.raises(ValueError, match="plain"):
        LeanStatement("SELECT %s", (20, 25))
