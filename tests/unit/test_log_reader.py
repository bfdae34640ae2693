"""The read side's decoding (application/read_mapper.py, application/log_reader.py) reads
every stored event exactly as the library's own mapper and JSON transcoder read it: the
events of two checkouts (personal data, money, order lines) and every row of the fixtures
stored by older class versions (upcast on the way). `LogReader` knows every transcoding
`EventStoreApp` registers, by the same name, and writes none."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
)
from eventsourcing.utils import TopicError

from application.event_store import APP_NAME, EventStoreApp, LogFollower
from application.log_reader import LOG_NAME, VALUE_DECODERS, LogReader
from application.read_mapper import ReadMapper
from domain.money import Money
from infrastructure.store.memory import memory_env
from tests.checkout import DECLINED, place_order, register

FIXTURES = Path(__file__).parent.parent / "fixtures"
ROW_FIXTURES = sorted(p.name for p in FIXTURES.glob("*.json"))


def library_mapper(app: EventStoreApp) -> Mapper[UUID]:
    """The reference: the library's mapper over the library's JSON transcoder."""
    library = JSONTranscoder()
    app.register_transcodings(library)
    return Mapper(transcoder=library)


def readers(store: str) -> dict[str, Mapper[UUID]]:
    """The read side's mappers, each on the log `store`."""
    env = memory_env(store)
    return {
        "LogReader": LogReader(env=env).mapper,
        "LogFollower": LogFollower(env=env).mapper,
        "ReadMapper": ReadMapper(EventStoreApp(env=env).construct_transcoder()),
    }


def assert_read_alike(reference: Mapper[UUID], mappers: dict[str, Mapper[UUID]], stored) -> None:
    expected = reference.to_domain_event(stored)
    for name, mapper in mappers.items():
        got = mapper.to_domain_event(stored)
        assert type(got) is type(expected), name
        assert vars(got) == vars(expected), name


def fixture_rows(name: str) -> list[StoredEvent]:
    rows = json.loads((FIXTURES / name).read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    return [
        StoredEvent(
            UUID(r["originator_id"]), r["originator_version"], r["topic"], r["state"].encode()
        )
        for r in rows
    ]


def test_the_reader_reads_the_one_log():
    assert LOG_NAME == APP_NAME == LogReader.name


def test_the_reader_knows_every_transcoding_the_event_store_registers_by_its_name():
    env = memory_env("log-reader-names")
    written = JSONTranscoder()
    EventStoreApp(env=env).register_transcodings(written)
    read = JSONTranscoder()
    LogReader(env=env).register_transcodings(read)
    assert set(read.names) == set(written.names)
    library = {"uuid_hex", "decimal_str", "datetime_iso", "personal_data", "account_secret"}
    assert set(VALUE_DECODERS) == set(written.names) - library


def test_the_reader_writes_nothing_of_its_own():
    reader = LogReader(env=memory_env("log-reader-writes"))
    with pytest.raises(TypeError):
        reader.mapper.transcoder.encode({"price": Money.brl("1.00")})


def test_every_event_of_two_checkouts_reads_as_the_library_reads_it(world):
    register(world.services, "ECO-1", 10)
    register(world.services, "ECO-2", 5, "12.34")
    place_order(world.services, {"ECO-1": 2, "ECO-2": 1})
    place_order(world.services, {"ECO-1": 1}, DECLINED)
    world.settle()
    store = world.services.store
    reference = library_mapper(store)
    mappers = {
        "LogReader": LogReader(env=store.env).mapper,
        "LogFollower": LogFollower(env=store.env).mapper,
    }
    notifications = store.recorder.select_notifications(1, 1000)
    assert len({n.topic for n in notifications}) >= 12  # carts, orders, payments, stock
    for notification in notifications:
        assert_read_alike(reference, mappers, notification)


@pytest.mark.parametrize("fixture", ROW_FIXTURES)
def test_rows_stored_by_older_versions_read_and_upcast_as_the_library_does(fixture):
    store = f"log-reader-{fixture}"
    reference = library_mapper(EventStoreApp(env=memory_env(store)))
    mappers = readers(store)
    rows = fixture_rows(fixture)
    assert rows
    for row in rows:
        assert_read_alike(reference, mappers, row)


def test_unreadable_rows_fail_as_they_do_in_the_library():
    mapper = readers("log-reader-bad")["ReadMapper"]
    unknown = StoredEvent(uuid4(), 1, "domain.nowhere:Nothing.Happened", b"{}")
    with pytest.raises(TopicError):
        mapper.to_domain_event(unknown)
    for state in (b"{", b'{"a":{"_type_":"nope","_data_":1}}'):
        bad = StoredEvent(uuid4(), 1, "domain.stock_item:StockItem.Received", state)
        with pytest.raises(MapperDeserialisationError):
            mapper.to_domain_event(bad)


def test_the_readers_modules_import_no_aggregate_not_even_the_data_subjects():
    """`replay --all`'s start imports the reader, its rows and the key transcoding; none of
    them needs an aggregate module (each makes its event classes when imported)."""
    import subprocess
    import sys

    code = (
        "import sys, application.log_reader, application.audit_rows, application.keys\n"
        "print(sorted(m for m in sys.modules if m.startswith('domain.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['domain.base', 'domain.money', 'domain.personal_data']"
