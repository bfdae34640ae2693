"""Customer self-service: profile, address book, consents; and who may be contacted.

Each method is get -> change -> save on the customer's `Customer` aggregate (created on the
first write). Marketing sends go only to customers holding the `marketing_email` consent,
and the e-mail address is decrypted only when the message is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from application.catalog import CatalogService
from application.event_store import CommandResult, EventStore
from application.ports import Notification, Notifier
from domain.base import InvalidInputError, NotFoundError
from domain.card import Address
from domain.customer import PURPOSES, Customer, Profile, check_purpose
from domain.personal import DataSubject

CONSENT_TEXT_VERSION = "2026-11"  # the version of the consent texts the front end shows


class OutdatedConsentTextError(InvalidInputError):
    """A grant to a consent text other than the current one (issue 26: refused, never
    recorded silently as consent to text the customer may not have read)."""


def check_consent_text(text_version: str) -> str:
    """The text a grant is to: the current one (given, or by default); any other → 422."""
    if text_version and text_version != CONSENT_TEXT_VERSION:
        raise OutdatedConsentTextError(
            f"text_version {text_version!r} is not the current consent text "
            f"({CONSENT_TEXT_VERSION!r}): show the current text and grant again"
        )
    return CONSENT_TEXT_VERSION


class CustomerNotFoundError(NotFoundError):
    """No profile for that customer (or not the caller's)."""


@dataclass(frozen=True)
class MarketingSend:
    kind: str
    sent: int
    skipped: int  # customers without the marketing_email consent, erased, or with no e-mail


def email_of(store: EventStore, customer_id: str) -> str | None:
    """The customer's e-mail, decrypted now; None when erased or never given. (What the
    notifier asks, before the customer service exists: it sends the service's mail.)"""
    customer = store.load(Customer, Customer.create_id(customer_id))
    if customer is None or customer.forgotten or customer.profile is None:
        return None
    value = customer.profile.value
    return None if value is None else value.get("email") or None


class CustomerService:
    def __init__(self, store: EventStore, catalog: CatalogService, notifier: Notifier | None):
        self.store = store
        self.catalog = catalog
        self.notifier = notifier

    def customer(self, customer_id: str) -> Customer | None:
        return self.store.load(Customer, Customer.create_id(customer_id))

    def _customer_or_new(self, customer_id: str) -> Customer:
        return self.customer(customer_id) or Customer(customer_id=customer_id)

    def profile_of(self, customer_id: str) -> dict[str, Any]:
        customer = self.customer(customer_id)
        if customer is None or customer.profile is None:
            raise CustomerNotFoundError(f"no profile for {customer_id}; PUT one first")
        shown = customer.profile.shown()
        return {"customer_id": customer_id, **shown}

    def update_profile(self, customer_id: str, profile: Profile) -> CommandResult:
        customer = self._customer_or_new(customer_id)
        customer.update_profile(profile)
        return self.store.commit(customer)

    def addresses_of(self, customer_id: str) -> list[dict[str, Any]]:
        customer = self.customer(customer_id)
        if customer is None:
            return []
        return [{"address_id": i, **a.shown()} for i, a in customer.addresses.items()]

    def add_address(self, customer_id: str, address: Address) -> tuple[str, CommandResult]:
        customer = self._customer_or_new(customer_id)
        address_id = customer.add_address(address)
        return address_id, self.store.commit(customer)

    def remove_address(self, customer_id: str, address_id: str) -> CommandResult:
        customer = self.customer(customer_id)
        if customer is None:
            raise CustomerNotFoundError(f"no address {address_id}")
        customer.remove_address(address_id)
        return self.store.commit(customer)

    def saved_address(self, customer_id: str, address_id: str) -> Address:
        """A saved address of the customer, for checkout (404 if not theirs)."""
        customer = self.customer(customer_id)
        if customer is None:
            raise CustomerNotFoundError(f"no address {address_id}")
        return customer.address(address_id)

    def consents_of(self, customer_id: str) -> dict[str, dict[str, Any]]:
        customer = self.customer(customer_id)
        held = customer.consents if customer is not None else {}
        return {
            purpose: {
                "granted": customer is not None and customer.has_consent(purpose),
                **{k: v for k, v in held.get(purpose, {}).items() if k != "granted"},
            }
            for purpose in PURPOSES
        }

    def set_consent(
        self, customer_id: str, purpose: str, granted: bool, text_version: str
    ) -> CommandResult | None:
        """Grant or withdraw; None when nothing changed."""
        check_purpose(purpose)
        customer = self._customer_or_new(customer_id)
        changed = customer.grant(purpose, text_version) if granted else customer.withdraw(purpose)
        return self.store.commit(customer) if changed else None

    def has_consent(self, customer_id: str, purpose: str) -> bool:
        customer = self.customer(customer_id)
        return customer is not None and customer.has_consent(check_purpose(purpose))

    def email_of(self, customer_id: str) -> str | None:
        """The customer's e-mail, decrypted now; None when erased or never given."""
        return email_of(self.store, customer_id)

    def is_erased(self, customer_id: str) -> bool:
        subject = self.store.load(DataSubject, DataSubject.create_id(customer_id))
        return subject is not None and subject.erased

    def customer_ids(self) -> list[str]:
        """Every customer with a `Customer` record, in order of registration."""
        from eventsourcing.utils import get_topic

        topic = get_topic(Customer.Registered)
        ids: list[str] = []
        start = 1
        while True:
            batch = self.store.recorder.select_notifications(start, 500, topics=[topic])
            for notification in batch:
                registered: Any = self.store.mapper.to_domain_event(notification)
                ids.append(registered.customer_id)
            if len(batch) < 500:
                return ids
            start = batch[-1].id + 1

    def send_marketing(self, kind: str, subject: str, body: str) -> MarketingSend:
        """A newsletter or a back-in-stock alert: only to customers who consented to
        marketing e-mail; the others are counted as skipped."""
        sent = skipped = 0
        campaign = uuid4().hex  # one key per customer and send: a retry is not re-sent
        for customer_id in self.customer_ids():
            if not self.has_consent(customer_id, "marketing_email") or not self.email_of(
                customer_id
            ):
                skipped += 1
                continue
            if self.notifier is not None:
                self.notifier.send(
                    Notification(
                        kind=kind,
                        order_id="",
                        customer_id=customer_id,
                        detail=f"{subject}\n\n{body}",
                        key=f"{kind}:{campaign}:{customer_id}",
                    )
                )
            sent += 1
        return MarketingSend(kind, sent, skipped)

    def send_back_in_stock(self, sku: str) -> MarketingSend:
        item = self.catalog.stock_item(sku)
        return self.send_marketing(
            "back_in_stock",
            f"{item.name} voltou ao estoque",
            f"O produto {item.name} ({sku}) está disponível de novo na EcoVarejo.",
        )
