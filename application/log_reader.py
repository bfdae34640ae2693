"""The log, read only, without importing the domain first.

`EventStoreApp` (application/event_store.py) registers its value transcodings by the
domain's classes, so building it imports every aggregate module that defines one (order,
product, returns, stock item, shipping): ~180 event classes made by `dataclass` before the
first row, a third of `replay --all`'s start. `LogReader` decodes the same stored forms
with the same functions, each looked up when the first value of its kind is read: the
topics of the stored events import their own modules (the library resolves them), so a
replay imports the aggregates its rows hold and no more. The key store is built at start,
as `EventStoreApp` builds it. It is for reading: the value transcodings here do not encode
(the application never saves).

A test (tests/unit/test_log_reader.py) checks that every transcoding `EventStoreApp`
registers is here under the same name, and that both read the same events alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Mapper, Transcoder, Transcoding
from eventsourcing.utils import Environment, resolve_topic

from application.read_mapper import ReadMapper
from application.transcoder import OrjsonTranscoder

LOG_NAME = "EcoVarejo"  # application.event_store.APP_NAME: the one log's name

# Each of EventStoreApp's value transcodings (VALUE_TRANSCODINGS): its stored name, and the
# function its `decode` calls.
VALUE_DECODERS: dict[str, str] = {
    "variant": "domain.product:Variant.from_dict",
    "sustainability_profile": "domain.product:SustainabilityProfile.from_dict",
    "certification": "domain.product:Certification.from_dict",
    "sustainability": "domain.stock_item:Sustainability.of",
    "return_line": "domain.returns:ReturnLine.from_dict",
    "money": "domain.money:Money.from_dict",
    "order_line": "domain.order:OrderLine.from_dict",
    "payment_method": "domain.order:PaymentMethod.from_dict",
    "rates_table": "domain.shipping:RatesTable.from_dict",
    "product_image": "domain.product_media:ProductImage.from_dict",
    "shipping_option": "domain.shipping:ShippingOption.from_dict",
}


class DecodeOnly(Transcoding):
    """A transcoding that reads values stored under `name` with the function `build`
    returns when the first one is read; it writes nothing (its `type` is its own, which no
    value has)."""

    def __init__(self, name: str, build: Callable[[], Callable[[Any], Any]]) -> None:
        self.name = name
        self.type = type(f"DecodeOnly_{name}", (), {})
        self._build = build
        self._decode: Callable[[Any], Any] | None = None

    def encode(self, obj: Any) -> Any:
        raise TypeError(f"{self.name}: this transcoding only reads")

    def decode(self, data: Any) -> Any:
        if self._decode is None:
            self._decode = self._build()
        return self._decode(data)


def value_decoder(name: str) -> DecodeOnly:
    topic = VALUE_DECODERS[name]
    return DecodeOnly(name, lambda: resolve_topic(topic))


def key_transcodings(env: Environment) -> list[Transcoding]:
    """Personal data and account secrets, opened with the subjects' keys. The key store is
    built here, as `EventStoreApp` builds it (it checks the master key against the one on
    record: a wrong key fails the start, not some row later); only `Secret`'s module (an
    aggregate's) is imported when the first secret is read."""
    from application.keys import PersonalDataAsCiphertext, key_store_from

    keys = key_store_from(env)

    def secret() -> Callable[[Any], Any]:
        from application.keys import SecretAsCiphertext

        return SecretAsCiphertext(keys).decode

    return [PersonalDataAsCiphertext(keys), DecodeOnly("account_secret", secret)]


class LogReader(Application[UUID]):
    """The EcoVarejo log (the same table and settings as `EventStoreApp`), to read."""

    name = LOG_NAME

    def construct_transcoder(self) -> Transcoder:
        if self.env.get("TRANSCODER_TOPIC"):  # as EventStoreApp: another transcoder named
            return super().construct_transcoder()
        transcoder = OrjsonTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)  # the library's: UUID, Decimal, datetime
        for name in VALUE_DECODERS:
            transcoder.register(value_decoder(name))
        if self.env.get("KEY_STORE_TOPIC"):
            for transcoding in key_transcodings(cast(Environment, self.env)):
                transcoder.register(transcoding)

    def construct_mapper(self) -> Mapper[UUID]:
        # The log's pool starts connecting now, in its own worker thread, while the key
        # store (built with the transcoder, below) opens its connection and checks the
        # master key: the two connections' set-ups overlap instead of following each other.
        pool = getattr(getattr(self.factory, "datastore", None), "pool", None)
        if pool is not None:
            pool.open(wait=False)
        try:
            transcoder = self.construct_transcoder()
        except BaseException:  # a key store that refuses (a wrong master key): no stray pool
            if pool is not None:
                pool.close()
            raise
        return self.factory.mapper(transcoder=transcoder, mapper_class=ReadMapper)
