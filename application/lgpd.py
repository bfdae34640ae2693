"""Data-subject requests (LGPD): access and erasure by crypto-shredding. The requests are
themselves events on the subject's `DataSubject` aggregate: the LGPD trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast
from uuid import UUID

from eventsourcing.utils import Environment

from application.audit import EventLog, plain, state_of
from application.commands import CommandApp
from application.keys import KeyStore, key_store_from
from domain.personal import DataSubject


@dataclass(frozen=True)
class Erasure:
    customer_id: str
    status: Literal["erased", "already_erased", "unknown"]

    @property
    def message(self) -> str:
        return {
            "erased": f"personal data of {self.customer_id} erased (key destroyed)",
            "already_erased": f"personal data of {self.customer_id} was already erased",
            "unknown": f"nothing is held about {self.customer_id}; nothing to erase",
        }[self.status]


class DataSubjectCommands(CommandApp):
    event_log: EventLog | None = None  # set by the wiring: the raw log reader

    @property
    def keys(self) -> KeyStore:
        return key_store_from(cast(Environment, self.env))

    def _subject(self, customer_id: str) -> DataSubject | None:
        subject: DataSubject | None = self.find(DataSubject.create_id(customer_id))
        return subject

    def export_personal_data(self, customer_id: str, requested_by: str) -> dict[str, Any]:
        """Everything held about the customer, decrypted (or shown as erased); the request
        is recorded."""
        assert self.event_log is not None
        held = [self._held(i) for i in self.event_log.aggregates_of_customer(customer_id)]
        subject = self._subject(customer_id)
        if subject is None and not held:
            return {"customer_id": customer_id, "held": False}
        subject = subject or DataSubject(customer_id=customer_id)
        subject.record_export(requested_by)
        self.save(subject)
        trail: list[Any] = list(self.repository.event_store.get(subject.id))
        requests = [
            {
                "type": type(e).__qualname__,
                "at": e.timestamp.isoformat(),
                "actor": e.actor,
                "requested_by": getattr(e, "requested_by", None),
            }
            for e in trail
        ]
        by_type: dict[str, list[dict[str, Any]]] = {"Cart": [], "Order": [], "Payment": []}
        for state in held:
            by_type.setdefault(state["type"], []).append(state)
        return plain(
            {
                "customer_id": customer_id,
                "held": True,
                "erased": subject.erased,
                "carts": by_type["Cart"],
                "orders": by_type["Order"],
                "payments": by_type["Payment"],
                **({"unreadable": by_type["unreadable"]} if "unreadable" in by_type else {}),
                "requests": requests,
            }
        )

    def _held(self, aggregate_id: UUID) -> dict[str, Any]:
        """One aggregate held about the subject; one whose stored events this code cannot
        read is listed as such (the subject learns it exists) rather than failing the rest."""
        try:
            return state_of(self.repository.get(aggregate_id))
        except Exception as error:
            return {"id": str(aggregate_id), "type": "unreadable", "error": type(error).__name__}

    def erase_personal_data(self, customer_id: str, requested_by: str) -> Erasure:
        """Destroy the customer's data key, so every encrypted copy of their personal data
        becomes unreadable; record the erasure. Idempotent."""
        assert self.event_log is not None
        subject = self._subject(customer_id)
        if subject is None and not self.event_log.aggregates_of_customer(customer_id):
            return Erasure(customer_id, "unknown")
        subject = subject or DataSubject(customer_id=customer_id)
        self.keys.destroy(customer_id)
        if not subject.erase(requested_by):
            return Erasure(customer_id, "already_erased")
        self.save(subject)
        return Erasure(customer_id, "erased")
