"""The orjson transcoder reads exactly what the library's JSON transcoder reads: the library's
own transcoder test case, then every event of a checkout (declined and approved, with
personal data, money, order lines) and the stored rows of older class versions, decoded
both ways and compared."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    StoredEvent,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from eventsourcing.tests import persistence as library_cases

from application.event_store import EventStoreApp
from application.transcoder import OrjsonTranscoder
from infrastructure.store.memory import memory_env
from tests.checkout import DECLINED, place_order, register

FIXTURES = Path(__file__).parent.parent / "fixtures"


class TestOrjsonTranscoderPassesTheLibrarysTranscoderCase(library_cases.TranscoderTestCase):
    """The library's own transcoder case, set up as the library sets it up for its
    JSONTranscoder."""

    def construct_transcoder(self) -> OrjsonTranscoder:
        transcoder = OrjsonTranscoder()
        transcoder.register(library_cases.CustomType1AsDict())
        transcoder.register(library_cases.CustomType2AsDict())
        transcoder.register(UUIDAsHex())
        return transcoder

    # The library skips these for its JSONTranscoder (JSON has no tuples nor subclasses of
    # the built-in types); here each must give what the library's JSONTranscoder gives.
    def _same_as_the_library(self, obj: object) -> None:
        library = JSONTranscoder()
        for transcoding in self.transcoder.types.values():  # type: ignore[attr-defined]
            library.register(transcoding)
        data = self.transcoder.encode(obj)
        assert data == library.encode(obj)
        assert repr(self.transcoder.decode(data)) == repr(library.decode(data))

    def test_tuple(self) -> None:
        for obj in ((), ((),), ((1, 2),), (("a", "b"),), ((1, "a"),)):
            self._same_as_the_library(obj)

    def test_mixed(self) -> None:
        for obj in ([(1, "a"), {"b": 2}], ([1, "a"], {"b": 2}), {"a": (1, 2), "b": [3, 4]}):
            self._same_as_the_library(obj)

    def test_dict_subclass(self) -> None:
        self._same_as_the_library(library_cases.Mydict({"a": 1}))

    def test_list_subclass(self) -> None:
        self._same_as_the_library(library_cases.MyList((("a", 1),)))

    def test_str_subclass(self) -> None:
        self._same_as_the_library(library_cases.MyStr("a"))

    def test_int_subclass(self) -> None:
        self._same_as_the_library(library_cases.MyInt(3))


def both(app: EventStoreApp) -> tuple[JSONTranscoder, OrjsonTranscoder]:
    library = JSONTranscoder()
    app.register_transcodings(library)
    fast = app.construct_transcoder()
    assert isinstance(fast, OrjsonTranscoder)
    return library, fast


def test_events_are_encoded_by_the_library_itself_so_stored_bytes_do_not_change():
    assert OrjsonTranscoder.encode is JSONTranscoder.encode
    assert OrjsonTranscoder.register is JSONTranscoder.register


def test_every_event_of_two_checkouts_reads_the_same_through_both_transcoders(world):
    register(world.services, "ECO-1", 10)
    register(world.services, "ECO-2", 5, "12.34")
    place_order(world.services, {"ECO-1": 2, "ECO-2": 1})
    place_order(world.services, {"ECO-1": 1}, DECLINED)
    world.settle()
    library, fast = both(world.services.store)
    slow_mapper, fast_mapper = Mapper(transcoder=library), Mapper(transcoder=fast)
    notifications = world.services.store.recorder.select_notifications(1, 1000)
    assert len({n.topic for n in notifications}) >= 12  # carts, orders, payments, stock
    for notification in notifications:
        assert fast.decode(notification.state) == library.decode(notification.state)
        slow = slow_mapper.to_domain_event(notification)
        quick = fast_mapper.to_domain_event(notification)
        assert type(quick) is type(slow)
        assert vars(quick) == vars(slow)


@pytest.mark.parametrize(
    "fixture",
    ["stored_events_v1.json", "events_v1_stock_item.json", "stored_events_v1_returns.json"],
)
def test_rows_stored_by_older_versions_are_upcast_the_same(fixture):
    app = EventStoreApp(env=memory_env("orjson-upcasting"))
    library, fast = both(app)
    rows = json.loads((FIXTURES / fixture).read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert rows
    for row in rows:
        stored = StoredEvent(
            UUID(row["originator_id"]),
            row["originator_version"],
            row["topic"],
            row["state"].encode(),
        )
        slow = Mapper(transcoder=library).to_domain_event(stored)
        quick = Mapper(transcoder=fast).to_domain_event(stored)
        assert vars(quick) == vars(slow)


@pytest.mark.parametrize(
    "data",
    [
        b'{"amount":NaN}',  # json reads NaN, orjson does not
        b'{"n":123456789012345678901234567890}',  # beyond 64 bits
        b'{"s":"\\ud800"}',  # an escaped lone surrogate
        b'[{"_type_":"decimal_str","_data_":"1.10"},{"_type_":1}]',
    ],
)
def test_what_only_the_library_parser_reads_is_still_read(data):
    library, fast = both(EventStoreApp(env=memory_env("orjson-odd")))
    expected, got = library.decode(data), fast.decode(data)
    assert repr(got) == repr(expected)  # repr: NaN is not equal to itself


def test_unknown_envelopes_and_bad_bytes_fail_as_they_do_in_the_library():
    library, fast = both(EventStoreApp(env=memory_env("orjson-bad")))
    with pytest.raises(TranscodingNotRegisteredError):
        fast.decode(b'{"a":{"_type_":"nope","_data_":1}}')
    for bad in (b"\xff\xfe", b"{", b""):
        with pytest.raises((UnicodeDecodeError, json.JSONDecodeError)) as slow_error:
            library.decode(bad)
        with pytest.raises(type(slow_error.value)):
            fast.decode(bad)


class _IdsUpperCased(UUIDAsHex):
    """A transcoding registered over the library's own under its name: it decides."""

    def decode(self, data: str) -> str:  # type: ignore[override]
        return data.upper()


def test_a_transcoding_registered_over_the_librarys_own_decodes_its_strings_itself():
    transcoder = OrjsonTranscoder()
    transcoder.register(UUIDAsHex())
    data = b'{"id":{"_type_":"uuid_hex","_data_":"0123456789abcdef0123456789abcdef"}}'
    assert transcoder.decode(data) == {"id": UUID("0123456789abcdef0123456789abcdef")}
    transcoder.register(_IdsUpperCased())
    assert transcoder.decode(data) == {"id": "0123456789ABCDEF0123456789ABCDEF"}
    assert transcoder.decode(data) == JSONTranscoder.decode(transcoder, data)


def test_an_envelope_whose_data_is_not_a_string_reaches_the_library_as_before():
    transcoder = OrjsonTranscoder()
    transcoder.register(UUIDAsHex())
    data = b'{"id":{"_type_":"uuid_hex","_data_":7}}'
    with pytest.raises(AssertionError):  # the library's own `assert isinstance(data, str)`
        JSONTranscoder.decode(transcoder, data)
    with pytest.raises(AssertionError):
        transcoder.decode(data)
