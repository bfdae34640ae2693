"""Group commit (infrastructure/store/event_store.py: `GroupCommit`): concurrent appends of one
process share one statement and one commit, and one bad command among them fails alone.

Each test holds the allocation's advisory lock from another session so the first appends
(the leaders, as many as may be in flight) wait inside their statements while the others
queue behind them; released, each leader commits alone and the queued appends go out as
one group."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, StoredEvent
from eventsourcing.utils import Environment

from application.errors import VersionConflictError
from application.event_store import CommandResult
from infrastructure.store.event_store import EventStoreRecorder, eventsourcing_env
from tests.checkout import register, wait_until

TABLE = "groupcommit_events"
ALLOCATION_LOCK = (
    "SELECT pg_advisory_lock(7203, hashtext(pg_get_serial_sequence("
    f"'public.{TABLE}', 'notification_id')::regclass::text))"
)


@pytest.fixture
def recorder(database_url: str) -> Iterator[EventStoreRecorder]:
    # A pool of two connections: two statements in flight at most, then groups
    env = {
        **eventsourcing_env(database_url),
        "POSTGRES_POOL_SIZE": "1",
        "POSTGRES_MAX_OVERFLOW": "1",
    }
    factory: Any = InfrastructureFactory.construct(Environment("GroupCommit", env))
    recorder = factory.application_recorder()
    assert type(recorder) is EventStoreRecorder
    yield recorder
    factory.close()


def _event(originator_id: UUID | None = None, version: int = 1, topic: str = "t") -> StoredEvent:
    return StoredEvent(originator_id or uuid4(), version, topic, b"{}")


class Outcomes:
    """Appends run in threads; each one's ids or error, by name."""

    def __init__(self, recorder: EventStoreRecorder):
        self.recorder = recorder
        self.ids: dict[str, Sequence[int] | None] = {}
        self.errors: dict[str, Exception] = {}
        self.threads: list[threading.Thread] = []

    def start(self, name: str, events: list[StoredEvent]) -> None:
        def append() -> None:
            try:
                self.ids[name] = self.recorder.insert_events(events)
            except Exception as error:
                self.errors[name] = error

        thread = threading.Thread(target=append, name=name)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(30)
            assert not thread.is_alive(), f"{thread.name} never returned"


@contextmanager
def leader_held(
    database_url: str, recorder: EventStoreRecorder, outcomes: Outcomes
) -> Iterator[None]:
    """As many appends in flight as the group commit allows, stuck inside the allocation
    until the block ends: whatever comes meanwhile queues."""
    leaders = recorder.group_commit.max_in_flight if recorder.group_commit else 1
    with psycopg.connect(database_url, autocommit=True) as blocker:
        blocker.execute(ALLOCATION_LOCK)
        for i in range(leaders):
            outcomes.start(f"leader{i}", [_event()])
        wait_until(lambda: _waiting_on_lock(blocker) == leaders, what="leaders on the lock")
        yield
        blocker.execute("SELECT pg_advisory_unlock_all()")
    outcomes.join()


def _waiting_on_lock(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    ).fetchone()
    return 0 if row is None else int(row[0])


def _transactions(database_url: str, ids: list[int]) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT tx_id::text FROM {TABLE} WHERE notification_id = ANY(%s)", (ids,)
        ).fetchall()
    assert len(rows) == len(ids)
    return {r[0] for r in rows}


def _queued(recorder: EventStoreRecorder, count: int) -> None:
    wait_until(lambda: recorder.group_commit.waiting == count, what=f"{count} appends queued")


def test_concurrent_appends_to_different_aggregates_share_one_commit(database_url, recorder):
    outcomes = Outcomes(recorder)
    with leader_held(database_url, recorder, outcomes):
        for i in range(4):
            outcomes.start(f"good{i}", [_event()])
        outcomes.start("two aggregates", [_event(), _event()])
        _queued(recorder, 5)

    assert outcomes.errors == {}
    grouped = [
        i for name, ids in outcomes.ids.items() if not name.startswith("leader") for i in ids or ()
    ]
    assert len(grouped) == 6
    # Five commands, at most one commit per statement in flight: they shared commits
    in_flight = recorder.group_commit.max_in_flight
    assert len(_transactions(database_url, grouped)) <= in_flight < 5
    assert 1 <= recorder.group_commit.groups <= in_flight
    assert len(outcomes.ids["two aggregates"] or ()) == 2
    read = [n.id for n in recorder.select_notifications(None, 100)]
    assert read == sorted(read)
    assert len(read) == 2 + 6  # the leaders' and the group's


def test_a_version_conflict_in_a_group_fails_only_its_own_command(database_url, recorder):
    taken = uuid4()
    recorder.insert_events([_event(taken, 1)])
    outcomes = Outcomes(recorder)
    with leader_held(database_url, recorder, outcomes):
        for i in range(3):
            outcomes.start(f"good{i}", [_event()])
        outcomes.start("conflicting", [_event(), _event(taken, 1)])  # version 1 is taken
        outcomes.start("good3", [_event()])
        _queued(recorder, 5)

    assert set(outcomes.errors) == {"conflicting"}
    assert isinstance(outcomes.errors["conflicting"], IntegrityError)
    assert set(outcomes.ids) == {"leader0", "leader1", "good0", "good1", "good2", "good3"}
    committed = {n.originator_id for n in recorder.select_notifications(None, 100)}
    assert len(committed) == 1 + 2 + 4  # the first append, the leaders, the four good ones


def test_a_command_the_database_refuses_does_not_fail_its_group(database_url, recorder):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT refused CHECK (topic <> 'refused')")
    outcomes = Outcomes(recorder)
    with leader_held(database_url, recorder, outcomes):
        outcomes.start("good0", [_event()])
        outcomes.start("refused", [_event(topic="refused")])
        outcomes.start("good1", [_event(), _event()])
        _queued(recorder, 3)

    assert set(outcomes.errors) == {"refused"}
    assert "refused" in str(outcomes.errors["refused"])
    assert len(outcomes.ids["good0"] or ()) == 1
    assert len(outcomes.ids["good1"] or ()) == 2
    assert len(recorder.select_notifications(None, 100)) == 2 + 1 + 2


def test_a_lone_append_is_sent_at_once_as_before(recorder):
    [position] = recorder.insert_events([_event()]) or []
    assert recorder.max_notification_id() == position
    assert recorder.group_commit.groups == 0


def test_commands_through_the_event_store_keep_their_own_outcome_in_a_group(settings, container):
    """At the application: a stale command (its stock item changed since it was loaded)
    among good ones on other stock items gets VersionConflictError; the others commit."""
    services = container.services
    for sku in ("GC-0", "GC-1", "GC-2", "GC-3", "GC-X"):
        register(services, sku, 10)
    stale = services.catalog.stock_item("GC-X")
    stale.receive(5, "")
    services.catalog.receive_stock("GC-X", 1)  # GC-X moves on: the stale one is behind
    recorder = services.store.recorder
    recorder.group_commit.max_in_flight = 2  # as with a pool of two: groups form sooner
    outcomes: dict[str, object] = {}

    def run(name: str, command: Callable[[], object]) -> threading.Thread:
        def call() -> None:
            try:
                outcomes[name] = command()
            except Exception as error:
                outcomes[name] = error

        thread = threading.Thread(target=call, name=name)
        thread.start()
        return thread

    lock = ALLOCATION_LOCK.replace(TABLE, "ecovarejo_events")
    with psycopg.connect(settings.database_url, autocommit=True) as blocker:
        blocker.execute(lock)
        threads = [
            run(sku, lambda sku=sku: services.catalog.receive_stock(sku, 1))
            for sku in ("GC-0", "GC-1")
        ]
        wait_until(lambda: _waiting_on_lock(blocker) == 2, what="the leaders on the lock")
        for sku in ("GC-2", "GC-3"):
            threads.append(run(sku, lambda sku=sku: services.catalog.receive_stock(sku, 1)))
        threads.append(run("stale", lambda: services.store.commit(stale)))
        _queued(recorder, 3)
        blocker.execute("SELECT pg_advisory_unlock_all()")
    for thread in threads:
        thread.join(30)

    assert isinstance(outcomes["stale"], VersionConflictError)
    for sku in ("GC-0", "GC-1", "GC-2", "GC-3"):
        assert isinstance(outcomes[sku], CommandResult), outcomes[sku]
        assert services.catalog.stock_item(sku).on_hand == 11
    assert services.catalog.stock_item("GC-X").on_hand == 11  # not 16
