"""Data-subject requests (LGPD art. 18): access, portability, correction and erasure by
crypto-shredding. Each request is an event on the subject's `DataSubject` aggregate when
received and another when completed: the LGPD trail, with its 15-day deadline."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast
from uuid import UUID, uuid4

from eventsourcing.utils import get_topic

from application.audit import EventLog, plain, state_of
from application.customers import CustomerNotFoundError, CustomerService
from application.event_store import CommandResult, EventStore
from application.keys import KeyStore
from domain.base import EventMetadata, event_context
from domain.customer import Customer, SubjectErasedError
from domain.personal import REQUEST_DEADLINE, DataSubject
from domain.promotion import Promotion


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


REQUEST_TOPICS = tuple(
    get_topic(cls)
    for cls in (DataSubject.Registered, DataSubject.RequestReceived, DataSubject.RequestCompleted)
)


class AccountHooks(Protocol):
    """The subject's sign-in account (application/accounts.py), set by the wiring."""

    def export(self, customer_id: str) -> dict[str, Any] | None: ...

    def erase(self, customer_id: str, requested_by: str) -> bool: ...


class DataSubjectService:
    def __init__(
        self,
        store: EventStore,
        customers: CustomerService,
        event_log: EventLog | None,
        account_hooks: AccountHooks | None = None,
    ):
        self.store = store
        self.customers = customers
        self.event_log = event_log  # the raw log reader (PostgreSQL only)
        self.account_hooks = account_hooks  # the subject's sign-in account, if any

    @property
    def keys(self) -> KeyStore:
        return self.store.keys

    def customer(self, customer_id: str) -> Customer | None:
        return self.customers.customer(customer_id)

    def _subject(self, customer_id: str) -> DataSubject | None:
        return self.store.load(DataSubject, DataSubject.create_id(customer_id))

    def _held(self, customer_id: str) -> list[dict[str, Any]]:
        assert self.event_log is not None
        return [self._held_one(i) for i in self.event_log.aggregates_of_customer(customer_id)]

    def _held_one(self, aggregate_id: UUID) -> dict[str, Any]:
        """One aggregate held about the subject; one whose stored events this code cannot
        read is listed as such (the subject learns it exists) rather than failing the rest."""
        try:
            return state_of(self.store.repository.get(aggregate_id))
        except Exception as error:
            return {"id": str(aggregate_id), "type": "unreadable", "error": type(error).__name__}

    def _coupon_uses(self, customer_id: str) -> list[dict[str, Any]]:
        """The coupon uses held for the customer's orders (`Promotion.UseHeld`), each with
        the code and whether it was given back; never the promotion's other uses."""
        assert self.event_log is not None
        uses = []
        promotions: dict[UUID, Promotion | None] = {}
        for notification in self.event_log.records_of_customer(customer_id):
            held: Any = self.store.mapper.to_domain_event(notification)
            if held.originator_id not in promotions:
                promotions[held.originator_id] = self.store.load(Promotion, held.originator_id)
            promotion = promotions[held.originator_id]
            uses.append(
                {
                    "code": promotion.code if promotion is not None else None,
                    "order_id": str(held.order_id),
                    "held_at": held.timestamp.isoformat(),
                    "given_back": promotion is None or str(held.order_id) not in promotion.uses,
                }
            )
        return uses

    def export_personal_data(
        self, customer_id: str, requested_by: str, kind: str = "access"
    ) -> dict[str, Any]:
        """Everything held about the customer, decrypted (or shown as erased); the request
        (access, or portability for the machine-readable package) is recorded."""
        held = self._held(customer_id)
        customer = self.customer(customer_id)
        subject = self._subject(customer_id)
        account = self.account_hooks.export(customer_id) if self.account_hooks else None
        if subject is None and customer is None and not held and account is None:
            return {"customer_id": customer_id, "held": False}
        subject = subject or DataSubject(customer_id=customer_id)
        request_id = subject.receive(kind, requested_by)
        by_type: dict[str, list[dict[str, Any]]] = {
            "Cart": [],
            "Order": [],
            "Payment": [],
            "Return": [],
        }
        for state in held:
            by_type.setdefault(state["type"], []).append(state)
        document = {
            "customer_id": customer_id,
            "held": True,
            "erased": subject.erased,
            "profile": customer.profile if customer is not None else None,
            "addresses": self.customers.addresses_of(customer_id),
            "consents": self.customers.consents_of(customer_id),
            "carts": by_type["Cart"],
            "orders": by_type["Order"],
            "payments": by_type["Payment"],
            "returns": by_type["Return"],
            "coupon_uses": self._coupon_uses(customer_id),
            **({"account": account} if account is not None else {}),
            **({"unreadable": by_type["unreadable"]} if "unreadable" in by_type else {}),
        }
        subject.complete(request_id, "delivered")
        self.store.save(subject)
        document["requests"] = [_request(r) for r in subject.requests.values()]
        return cast(dict[str, Any], plain(document))

    def rectify_personal_data(
        self, customer_id: str, changes: dict[str, str], requested_by: str
    ) -> tuple[CommandResult, list[str]]:
        """Correct profile fields (rectification events); the fields that changed."""
        subject = self._subject(customer_id)
        customer = self.customer(customer_id)
        if (subject is not None and subject.erased) or (customer and customer.forgotten):
            raise SubjectErasedError(f"the personal data of {customer_id} was erased")
        if customer is None or customer.profile is None:
            raise CustomerNotFoundError(f"no profile for {customer_id} to correct")
        subject = subject or DataSubject(customer_id=customer_id)
        request_id = subject.receive("correction", requested_by)
        fields = customer.rectify(changes, requested_by)
        subject.complete(request_id, f"rectified: {', '.join(fields) or 'nothing changed'}")
        return self.store.commit(customer, subject), fields

    def erase_personal_data(self, customer_id: str, requested_by: str) -> Erasure:
        """Destroy the customer's data key, so every encrypted copy of their personal data
        (profile, addresses, orders) becomes unreadable; end their consents; record the
        request. Idempotent: a second erasure records nothing."""
        assert self.event_log is not None
        subject = self._subject(customer_id)
        customer = self.customer(customer_id)
        account = self.account_hooks.export(customer_id) if self.account_hooks else None
        if (
            subject is None
            and customer is None
            and account is None
            and not self.event_log.aggregates_of_customer(customer_id)
        ):
            return Erasure(customer_id, "unknown")
        subject = subject or DataSubject(customer_id=customer_id)
        if subject.erased:
            self.keys.destroy(customer_id)  # a no-op unless a crash left the key behind
            self._end_account(customer_id, requested_by)
            return Erasure(customer_id, "already_erased")
        request_id = subject.open_request("erasure") or subject.receive("erasure", requested_by)
        self.store.save(subject)  # received: on record before anything is destroyed
        self.keys.destroy(customer_id)
        self._record_erasure(subject, request_id, requested_by, "erased")
        self._end_account(customer_id, requested_by)
        return Erasure(customer_id, "erased")

    def _record_erasure(
        self, subject: DataSubject, request_id: str, requested_by: str, outcome: str
    ) -> None:
        """The facts that follow the key's destruction: the subject erased, the request
        completed, the customer forgotten (every consent withdrawn: analytics rows and
        personalization go with them)."""
        customer = self.customer(subject.customer_id)
        subject.erase(requested_by)
        subject.complete(request_id, outcome)
        if customer is not None:
            customer.forget(requested_by)
            self.store.save(subject, customer)
        else:
            self.store.save(subject)

    def complete_erasure(self, customer_id: str, requested_by: str) -> bool:
        """An erasure the erasure ledger holds but the log does not (a backup taken before
        it, restored): the key is already destroyed again (the ledger's re-application);
        record the rest of it, as a request on the register. False if the log already says
        erased, or holds nothing about the subject; never destroys a key."""
        assert self.event_log is not None
        subject = self._subject(customer_id)
        if subject is not None and subject.erased:
            return False
        if (
            subject is None
            and self.customer(customer_id) is None
            and not self.event_log.aggregates_of_customer(customer_id)
        ):
            return False
        subject = subject or DataSubject(customer_id=customer_id)
        request_id = subject.open_request("erasure") or subject.receive("erasure", requested_by)
        self._record_erasure(subject, request_id, requested_by, "erased (erasure ledger)")
        self._end_account(customer_id, requested_by)
        return True

    def _end_account(self, customer_id: str, requested_by: str) -> None:
        """No sign-in, no token of the subject works any more (idempotent)."""
        if self.account_hooks is not None:
            self.account_hooks.erase(customer_id, requested_by)

    def lgpd_requests(self, *, pseudonymous: bool) -> list[dict[str, Any]]:
        """Every data-subject request, oldest first, with its deadline and time to
        completion; for auditors the subject is a keyed pseudonym."""
        subjects: dict[Any, str] = {}
        requests: dict[str, dict[str, Any]] = {}
        start = 1
        while True:
            batch = self.store.recorder.select_notifications(
                start, 1000, topics=list(REQUEST_TOPICS)
            )
            for notification in batch:
                event: Any = self.store.mapper.to_domain_event(notification)
                if isinstance(event, DataSubject.Registered):
                    subjects[event.originator_id] = event.customer_id
                elif isinstance(event, DataSubject.RequestReceived):
                    customer_id = subjects.get(event.originator_id, "")
                    requests[event.request_id] = {
                        "request_id": event.request_id,
                        "type": event.kind,
                        "received_at": event.timestamp,
                        "completed_at": None,
                        "subject": self._pseudonym(customer_id) if pseudonymous else customer_id,
                    }
                elif event.request_id in requests:
                    requests[event.request_id]["completed_at"] = event.timestamp
            if len(batch) < 1000:
                break
            start = batch[-1].id + 1
        return [_request(r) for r in requests.values()]

    def _pseudonym(self, customer_id: str) -> str:
        """Stable for a master key, meaningless without it (it changes when rotated)."""
        # The local master key, or a secret the KMS derives (infrastructure/vault_transit).
        env = self.store.env
        secret = (env.get("PSEUDONYM_SECRET") or env.get("MASTER_KEY") or "").encode()
        digest = hmac.new(secret, b"pseudonym:" + customer_id.encode(), hashlib.sha256)
        return "subject-" + digest.hexdigest()[:16]


def _request(request: dict[str, Any]) -> dict[str, Any]:
    received, completed = request["received_at"], request["completed_at"]
    shown = {k: v for k, v in request.items() if k not in ("received_at", "completed_at")}
    return {
        **shown,
        "received_at": received.isoformat(),
        "completed_at": completed.isoformat() if completed else None,
        "deadline": (received + REQUEST_DEADLINE).isoformat(),
        "seconds_to_complete": (completed - received).total_seconds() if completed else None,
    }


LEDGER_ACTOR = "system:erasure-ledger"


def complete_erasures(commands: DataSubjectService, subjects: list[str]) -> list[str]:
    """Record the whole erasure of every subject the erasure ledger names and the log does
    not show as erased (a backup or dump from before the erasure, loaded); those recorded."""
    done = []
    with event_context(EventMetadata(LEDGER_ACTOR, f"ledger:{uuid4()}", "erasure-ledger")):
        for subject in dict.fromkeys(subjects):
            if commands.complete_erasure(subject, LEDGER_ACTOR):
                done.append(subject)
    return done
