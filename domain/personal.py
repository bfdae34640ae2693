"""Personal data inside events, and the data subject's own trail (LGPD).

A `PersonalData` value names its subject; the event store encrypts it with that subject's
own key. Destroying the key (crypto-shredding) makes every copy unreadable at once: after
that the value reads back as erased, everywhere and for good, while the rest of the event
(ids, totals, timestamps) stays readable and the audit chain stays intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate

SUBJECT_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/data-subject")


@dataclass(frozen=True)
class PersonalData:
    subject: str
    value: dict[str, str] | None  # None once the subject's key is destroyed

    @property
    def erased(self) -> bool:
        return self.value is None

    def shown(self) -> dict[str, Any]:
        return {"erased": True} if self.value is None else dict(self.value)


class DataSubjectError(DomainError):
    """Base of the errors a DataSubject raises."""


class DataSubject(EcoAggregate):
    """A customer as a data subject: the LGPD trail of requests about them."""

    class Registered(EcoAggregate.Created):
        customer_id: str

    class PersonalDataExported(EcoAggregate.Event):
        requested_by: str

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

    def record_export(self, requested_by: str) -> None:
        self._exported(requested_by=requested_by)

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
