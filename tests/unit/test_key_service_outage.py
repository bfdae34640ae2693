"""A key service (KMS) that is down is a transient failure, not a bad event: the followers'
mapper lets it through (the runner's supervisor retries the same event after a backoff)
instead of parking the event as unreadable, which it still does for an event it can never
read."""

from __future__ import annotations

import os

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)

from application.event_store import VALUE_TRANSCODINGS, TolerantMapper
from application.keys import (
    KeyWrapperUnavailableError,
    PersonalDataAsCiphertext,
    key_service_failure,
)
from domain.base import UnreadableEvent
from domain.customer import Customer, Profile


class KeysBehindAKms:
    """The key store port; `failure` is what unwrapping raises while it is set."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}
        self.failure: Exception | None = None

    def key_for(self, subject: str) -> bytes:
        return self.keys.setdefault(subject, os.urandom(32))

    def existing_key(self, subject: str) -> bytes | None:
        if self.failure is not None:
            raise self.failure
        return self.keys.get(subject)

    def destroy(self, subject: str) -> bool:
        return self.keys.pop(subject, None) is not None


def mappers(keys: KeysBehindAKms) -> tuple[Mapper, TolerantMapper]:
    transcoder = JSONTranscoder()
    library = (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO())  # as Application registers
    for transcoding in (*library, *VALUE_TRANSCODINGS, PersonalDataAsCiphertext(keys)):
        transcoder.register(transcoding)
    return Mapper(transcoder), TolerantMapper(transcoder)


def test_an_unavailable_key_service_is_retried_not_parked_and_a_bad_event_is_parked():
    keys = KeysBehindAKms()
    writer, follower = mappers(keys)
    customer = Customer("ana")
    customer.update_profile(Profile.parse("Ana Souza", "ana@example.com.br"))
    stored = [writer.to_stored_event(e) for e in customer.collect_events()]
    assert all(not isinstance(follower.to_domain_event(s), UnreadableEvent) for s in stored)

    keys.failure = KeyWrapperUnavailableError("Vault at http://vault:8200 cannot be reached")
    with pytest.raises(Exception, match="cannot be reached") as raised:
        [follower.to_domain_event(s) for s in stored]
    assert key_service_failure(raised.value) is keys.failure  # what the runner retries on

    keys.failure = ValueError("this event can never be read")
    assert any(isinstance(follower.to_domain_event(s), UnreadableEvent) for s in stored)
