"""The library's own recorder contracts, run against the recorders EcoVarejo configures
(`infrastructure/store/event_store.py`: parallel appends, visibility-ordered reads), plus the one
property the table lock used to give and the new write path must keep: a reader never
passes over an event that commits later."""

from __future__ import annotations

import threading
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
    ProcessRecorderTestCase,
    TrackingRecorderTestCase,
)
from eventsourcing.utils import Environment

from infrastructure.store.event_store import (
    EventStoreProcessRecorder,
    EventStoreRecorder,
    eventsourcing_env,
)


@pytest.fixture(autouse=True)
def _fresh_database(request: pytest.FixtureRequest, database_url: str) -> None:
    if request.instance is not None:  # the library's TestCase classes
        request.instance.database_url = database_url


def factory(database_url: str) -> Any:
    env = {**eventsourcing_env(database_url), "POSTGRES_POOL_SIZE": "12"}
    return InfrastructureFactory.construct(Environment("Contract", env))


class OnProjectDatabase:
    database_url: str

    def factory(self) -> Any:
        return factory(self.database_url)


class TestApplicationRecorder(OnProjectDatabase, ApplicationRecorderTestCase[Any]):
    def create_recorder(self) -> EventStoreRecorder:
        recorder = self.factory().application_recorder()
        assert type(recorder) is EventStoreRecorder
        return recorder

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestNonInterleavingIds(OnProjectDatabase, NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> EventStoreRecorder:
        return self.factory().application_recorder()


class TestProcessRecorder(OnProjectDatabase, ProcessRecorderTestCase):
    def create_recorder(self) -> EventStoreProcessRecorder:
        recorder = self.factory().process_recorder()
        assert type(recorder) is EventStoreProcessRecorder
        return recorder


class TestTrackingRecorder(OnProjectDatabase, TrackingRecorderTestCase):
    def create_recorder(self) -> PostgresTrackingRecorder:
        return self.factory().tracking_recorder()


def _event(originator_version: int = 1) -> StoredEvent:
    return StoredEvent(uuid4(), originator_version, "topic", b"{}")


def test_a_reader_never_passes_over_an_append_still_in_flight(database_url):
    """Appends no longer commit in position order: a later append can commit first. Readers
    must stop below the older one until it commits, then read both, in position order."""
    recorder = factory(database_url).application_recorder()
    first = _event()
    with psycopg.connect(database_url) as slow:  # an append that has not committed yet
        slow_row = slow.execute(
            "WITH a AS MATERIALIZED (SELECT ecovarejo_allocate_positions("
            "pg_get_serial_sequence('public.contract_events', 'notification_id'), 1) AS p) "
            "INSERT INTO contract_events (originator_id, originator_version, topic, state, "
            "notification_id) SELECT %s, 1, 'topic', '{}'::bytea, p FROM a "
            "RETURNING notification_id",
            (first.originator_id,),
        ).fetchone()
        assert slow_row is not None
        [later] = recorder.insert_events([_event()])
        assert later > slow_row[0]
        assert recorder.max_notification_id() == later  # committed ...
        assert recorder.select_notifications(None, 10) == []  # ... but held back
        slow.commit()
    seen = [n.id for n in recorder.select_notifications(None, 10)]
    assert seen == [slow_row[0], later]


def test_appends_from_many_threads_are_each_read_exactly_once_in_a_stable_order(database_url):
    recorder = factory(database_url).application_recorder()
    writers, appends = 8, 40
    read: list[int] = []
    done = threading.Event()

    def write() -> None:
        for _ in range(appends):
            recorder.insert_events([_event(1), _event(1)])

    def follow() -> None:
        while True:
            finished = done.is_set()
            batch = recorder.select_notifications(
                read[-1] if read else 0, 100, inclusive_of_start=False
            )
            read.extend(n.id for n in batch)
            if finished and not batch:
                return

    reader = threading.Thread(target=follow)
    reader.start()
    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join(30)
    everything = [n.id for n in recorder.select_notifications(None, 10_000)]
    assert len(everything) == writers * appends * 2
    assert read == everything  # each once, in the one order


def test_a_follower_s_topics_are_read_as_written_and_travel_in_its_statement_not_as_a_list(
    database_url,
):
    """A filtered follower reads on every wake-up; psycopg adapting its list of topics cost
    as much CPU as the rest of an empty read (issue 24, two worker processes). The topics
    go into the statement as literals, quoted: whatever a topic holds, the read selects
    exactly its events, and the prepared statement takes no list."""
    env = {
        **eventsourcing_env(database_url),
        "POSTGRES_POOL_SIZE": "1",  # one connection: its prepared statements are the read's
        "POSTGRES_MAX_OVERFLOW": "0",
    }
    recorder = InfrastructureFactory.construct(Environment("Contract", env)).application_recorder()
    odd = ["a:It's", "b:{x,y}", "c:100%", "d:back\\slash", "e:plain"]
    recorder.insert_events([StoredEvent(uuid4(), 1, topic, b"{}") for topic in odd])
    wanted = odd[:4]
    read = recorder.select_notifications(0, 10, topics=wanted, inclusive_of_start=False)
    assert [n.topic for n in read] == wanted
    assert [n.topic for n in recorder.select_notifications(0, 10, topics=["zz"])] == []
    with recorder.datastore.get_connection() as conn:
        types = conn.execute(
            "SELECT parameter_types::text[] AS types FROM pg_prepared_statements "
            "WHERE statement LIKE %s",
            ("%topic = ANY%",),
        ).fetchall()
    assert types, "the filtered read was prepared on the pool's one connection"
    assert all("text[]" not in row["types"] for row in types), types
