"""Personal data inside events, and the data subject's own trail (LGPD).

A `PersonalData` value names its subject; the event store encrypts it with that subject's
own key. Destroying the key (crypto-shredding) makes every copy unreadable at once: after
that the value reads back as erased, everywhere and for good, while the rest of the event
(ids, totals, timestamps) stays readable and the audit chain stays intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate
from domain.personal_data import PersonalData as PersonalData  # its home, light; named here too

SUBJECT_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/data-subject")
# LGPD art. 19, II: a complete answer within 15 days of the request.
REQUEST_KINDS = ("access", "portability", "correction", "erasure")
REQUEST_DEADLINE = timedelta(days=15)


# The subject of words stored in plaintext by versions before the free text was encrypted,
# whose event does not name the customer: read as they were written, never written again.
UNKNOWN_SUBJECT = ""


def free_text(subject: str, text: str) -> PersonalData | None:
    """Someone's own words (a return's reason, a cancellation's detail) as personal data of
    `subject`: encrypted with their key like an address. None when there are no words."""
    return PersonalData(subject, {"text": text}) if text else None


def words_of(data: PersonalData | None) -> str | dict[str, bool] | None:
    """The words as a read model shows them: the text, `{"erased": true}`, or None."""
    if data is None:
        return None
    return {"erased": True} if data.value is None else data.value.get("text", "")


class WordsSealer(Protocol):
    """Seals someone's words for a read model under their own key (so the read model, and
    every file Redis writes of it, holds only ciphertext that shredding the key erases)."""

    def seal(self, data: PersonalData) -> dict[str, str]: ...

    def open(self, sealed: dict[str, str]) -> PersonalData: ...


SEALED_WORDS = "sealed"  # a read model's field holding {"sealed": <sealed words>}


def opened_words(value: Any, sealer: WordsSealer | None) -> Any:
    """A read-model field as the API shows it: sealed words opened (or erased)."""
    if not (isinstance(value, dict) and SEALED_WORDS in value):
        return value
    if sealer is None:
        return {"erased": True}
    return words_of(sealer.open(value[SEALED_WORDS]))


class DataSubjectError(DomainError):
    """Base of the errors a DataSubject raises."""


class DataSubject(EcoAggregate):
    """A customer as a data subject: the LGPD trail of requests about them. Each request is
    recorded when received and when completed (the deadline runs from the first)."""

    class Registered(EcoAggregate.Created):
        customer_id: str

    class PersonalDataExported(EcoAggregate.Event):
        """Written by the first version for an access request; read, no longer written."""

        requested_by: str

    class RequestReceived(EcoAggregate.Event):
        request_id: str
        kind: str
        requested_by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.requests[self.request_id] = {
                "request_id": self.request_id,
                "type": self.kind,
                "requested_by": self.requested_by,
                "received_at": self.timestamp,
                "completed_at": None,
                "outcome": None,
            }

    class RequestCompleted(EcoAggregate.Event):
        request_id: str
        outcome: str

        def apply(self, aggregate: Any) -> None:
            request = aggregate.requests[self.request_id]
            request.update(completed_at=self.timestamp, outcome=self.outcome)

    class PersonalDataErased(EcoAggregate.Event):
        requested_by: str

    @staticmethod
    def create_id(customer_id: str) -> UUID:
        return uuid5(SUBJECT_NAMESPACE, customer_id)

    @event(Registered)
    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        self.erased = False
        self.exports = 0
        self.requests: dict[str, dict[str, Any]] = {}

    def receive(self, kind: str, requested_by: str) -> str:
        """Record a request as received; its id."""
        assert kind in REQUEST_KINDS, kind
        request_id = str(uuid4())
        self.trigger_event(
            self.RequestReceived, request_id=request_id, kind=kind, requested_by=requested_by
        )
        return request_id

    def complete(self, request_id: str, outcome: str) -> None:
        if self.requests[request_id]["completed_at"] is None:
            self.trigger_event(self.RequestCompleted, request_id=request_id, outcome=outcome)

    def open_request(self, kind: str) -> str | None:
        """A request of that kind received but not completed (after a crash), if any."""
        for request in self.requests.values():
            if request["type"] == kind and request["completed_at"] is None:
                return str(request["request_id"])
        return None

    def erase(self, requested_by: str) -> bool:
        """Record the erasure; False (and nothing recorded) if already erased."""
        if self.erased:
            return False
        self._erased(requested_by=requested_by)
        return True

    @event(PersonalDataExported)
    def _exported(self, requested_by: str) -> None:
        self.exports += 1

    @event(PersonalDataErased)
    def _erased(self, requested_by: str) -> None:
        self.erased = True


# Where personal data can land ---------------------------------------------------------------
# Every place a subject's name, e-mail, CPF, phone, address or own words can reach, and what
# keeps an erasure complete there. `application/lgpd.py` runs the erasure hooks of the places
# that need one (`after_erasure`), the wiring registers them (infrastructure/bootstrap), and
# tests/e2e/test_erasure_leaves_nothing.py searches every place after an erasure.
SEALED = "sealed under the subject's key: destroying the key shreds every copy"
REWRITTEN = "rewritten by the erasure"
NOTHING = "never holds personal data"


@dataclass(frozen=True)
class Place:
    name: str
    holds: str
    protection: str  # SEALED, REWRITTEN or NOTHING
    hook: bool = False  # True: the erasure must run this place's hook (`after_erasure`)


PLACES = (
    Place("events", "profile, addresses, order addresses, customers' words", SEALED),
    Place("snapshots", "the same fields as the events they fold", SEALED),
    Place(
        "read_models",
        "customers' words (cancellation detail, return reasons) on order/return documents, "
        "and reviews' author names, titles and words (issue 28), sealed (`WordsSealer`; "
        "replaced by `erased` on PersonalDataErased); otherwise ids, amounts, statuses",
        SEALED,
    ),
    Place("idempotency_store", "customers' stored POST answers (an address saved)", SEALED),
    Place(
        "redis_files",
        "what Redis persisted (appendonly AOF, dump.rdb) of read models before the erasure",
        REWRITTEN,
        hook=True,  # compacted once the read models hold the erasure
    ),
    Place(
        "card_intake",
        "PagBank's encrypted card (the holder's name inside, readable by PagBank only) for at "
        "most an hour in Redis, until its first charge replaces it with PagBank's card id",
        SEALED,
    ),
    Place("search_index", "products only", NOTHING),
    Place(
        "object_store",
        "product images uploaded by admins, re-encoded from their pixels (no EXIF or GPS)",
        NOTHING,
    ),
    Place(
        "outboxes", "notifications: customer id, order id, kind; e-mail looked up at send", NOTHING
    ),
    Place("logs", "ids, routes, statuses; never bodies", NOTHING),
    Place("caches", "data keys in process memory, dropped by the destroying process", SEALED),
    Place("backups", "events and wrapped keys; the erasure ledger re-applies erasures", SEALED),
)
PLACE_NAMES = frozenset(p.name for p in PLACES)
