"""Return: a customer sends some lines of a shipped order back: a withdrawal (CDC art. 49,
7 days from receipt, the original shipping refunded with a whole withdrawal) or a defect
(art. 18/26); the windows are in domain/delivery.py.

Status: requested -> approved | rejected; approved -> received -> refunded. Receipt puts the
units back in stock and asks the payment for a refund of exactly those lines' share of what
was paid (after the coupon's discount); the refund's completion marks it refunded.

The order keeps the count of what is being and has been returned, so no return can take
back more than was bought.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError
from domain.delivery import ReturnKind
from domain.money import Money
from domain.personal import UNKNOWN_SUBJECT, PersonalData, free_text
from domain.text import outside_text

REFUND_REASON_PREFIX = "return:"


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECEIVED = "received"
    REFUNDED = "refunded"


class ReturnError(DomainError):
    """Base of the errors a return raises."""


class IllegalReturnTransitionError(ReturnError):
    """The return's status does not allow this step (e.g. approving a rejected return)."""


class InvalidReturnError(ReturnError, InvalidInputError):
    """A return with no lines, a repeated SKU or a quantity below 1."""


@dataclass(frozen=True)
class ReturnLine:
    sku: str
    quantity: int
    refund: Money  # this line's share of what was paid, after discount

    def to_dict(self) -> dict[str, object]:
        return {"sku": self.sku, "quantity": self.quantity, "refund": self.refund}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ReturnLine:
        refund = data["refund"]
        assert isinstance(refund, Money)
        return cls(str(data["sku"]), int(str(data["quantity"])), refund)


def refund_reason(return_id: UUID) -> str:
    return f"{REFUND_REASON_PREFIX}{return_id}"


class Return(EcoAggregate):
    class Requested(EcoAggregate.Created):
        class_version = 3

        order_id: UUID
        customer_id: str
        lines: list[ReturnLine]
        # The customer's words, encrypted with their key (v2); None when there are none.
        reason: PersonalData | None
        kind: str  # a ReturnKind (v3)
        shipping_refund: Money  # the original shipping, with a whole withdrawal (v3)

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 stored the reason in plaintext (review F8): it reads as it was written
            and, being in the stored bytes, cannot be shredded."""
            state["reason"] = free_text(state["customer_id"], state["reason"])

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Before v3 every return was a withdrawal that never refunded shipping."""
            state["kind"] = ReturnKind.WITHDRAWAL.value
            state["shipping_refund"] = Money.zero()

    class Approved(EcoAggregate.Event):
        pass

    class Rejected(EcoAggregate.Event):
        class_version = 2

        # The admin's words about the customer's return, encrypted with the customer's
        # key (v2); None when there are none.
        reason: PersonalData | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["reason"] = free_text(UNKNOWN_SUBJECT, state["reason"])

    class LabelRequested(EcoAggregate.Event):
        """A reverse-logistics label, paid by the shop, is to be bought for the parcel
        coming back: recorded before the carrier is called (a purchase cut short resumes)."""

        service: str

    class LabelOpened(EcoAggregate.Event):
        label_id: str  # in the carrier's cart, not paid yet

    class LabelAbandoned(EcoAggregate.Event):
        reason: str  # the carrier refused before any label was in its cart

    class LabelBought(EcoAggregate.Event):
        label_id: str
        tracking_code: str

    class Received(EcoAggregate.Event):
        pass

    class Refunded(EcoAggregate.Event):
        pass

    @classmethod
    def request(
        cls,
        *,
        order_id: UUID,
        customer_id: str,
        lines: list[ReturnLine],
        reason: str,
        subject_erased: bool = False,
        kind: ReturnKind = ReturnKind.WITHDRAWAL,
        shipping_refund: Money | None = None,
    ) -> Return:
        """`subject_erased`: the customer's personal data was erased (their order's address
        reads as erased): their words are not kept, so no key is made for them again."""
        if not lines:
            raise InvalidReturnError("a return needs at least one line")
        if len({line.sku for line in lines}) != len(lines):
            raise InvalidReturnError("each SKU at most once in a return")
        if any(line.quantity < 1 for line in lines):
            raise InvalidReturnError("quantities are at least 1")
        words = None if subject_erased else free_text(customer_id, reason)
        return cls(
            order_id=order_id,
            customer_id=customer_id,
            lines=lines,
            reason=words,
            kind=kind.value,
            shipping_refund=shipping_refund or Money.zero(),
        )

    @event(Requested)
    def __init__(
        self,
        *,
        order_id: UUID,
        customer_id: str,
        lines: list[ReturnLine],
        reason: PersonalData | None,
        kind: str,
        shipping_refund: Money,
    ) -> None:
        self.order_id = order_id
        self.kind = ReturnKind(kind)
        self.shipping_refund = shipping_refund
        self.customer_id = customer_id
        self.lines = lines
        self.reason = reason
        self.status = ReturnStatus.REQUESTED
        self.rejection_reason: PersonalData | None = None
        self.label_service: str | None = None
        self.label_id: str | None = None
        self.tracking_code: str | None = None  # once the return label is bought

    @property
    def refund(self) -> Money:
        return sum((line.refund for line in self.lines), self.shipping_refund)

    def check_status(self, *allowed: ReturnStatus, action: str) -> None:
        if self.status not in allowed:
            raise IllegalReturnTransitionError(
                f"cannot {action} return {self.id}: it is {self.status}"
            )

    def approve(self) -> None:
        self.check_status(ReturnStatus.REQUESTED, action="approve")
        self._approved()

    def reject(self, reason: str, subject_erased: bool = False) -> None:
        self.check_status(ReturnStatus.REQUESTED, action="reject")
        words = None if subject_erased else free_text(self.customer_id, reason)
        self._rejected(reason=words)

    def request_label(self, service: str) -> bool:
        """Record that a return label of `service` is to be bought; False when recorded
        already (to resume). Only for an approved return, once."""
        self.check_status(ReturnStatus.APPROVED, action="buy a return label for")
        if self.tracking_code is not None:
            raise IllegalReturnTransitionError(f"return {self.id} has its label already")
        if self.label_service == service:
            return False
        if self.label_service is not None:
            raise IllegalReturnTransitionError(
                f"a label of service {self.label_service} is being bought for return {self.id}"
            )
        self._label_requested(service=service)
        return True

    def abandon_label(self, reason: str) -> None:
        if self.label_service is not None and self.label_id is None:
            self._label_abandoned(reason=outside_text(reason))

    def open_label(self, label_id: str) -> None:
        if self.label_service is None or self.label_id is not None:
            raise IllegalReturnTransitionError(f"return {self.id} has no label to open")
        self._label_opened(label_id=label_id)

    def record_label(self, label_id: str, tracking_code: str) -> None:
        if self.tracking_code is None:
            self._label_bought(label_id=label_id, tracking_code=tracking_code)

    def receive(self) -> None:
        self.check_status(ReturnStatus.APPROVED, action="receive")
        self._received()

    def mark_refunded(self) -> None:
        if self.status == ReturnStatus.RECEIVED:
            self._refunded()

    @event(Approved)
    def _approved(self) -> None:
        self.status = ReturnStatus.APPROVED

    @event(Rejected)
    def _rejected(self, reason: PersonalData | None) -> None:
        self.status, self.rejection_reason = ReturnStatus.REJECTED, reason

    @event(LabelRequested)
    def _label_requested(self, service: str) -> None:
        self.label_service = service

    @event(LabelAbandoned)
    def _label_abandoned(self, reason: str) -> None:
        self.label_service = None

    @event(LabelOpened)
    def _label_opened(self, label_id: str) -> None:
        self.label_id = label_id

    @event(LabelBought)
    def _label_bought(self, label_id: str, tracking_code: str) -> None:
        self.label_id, self.tracking_code = label_id, tracking_code

    @event(Received)
    def _received(self) -> None:
        self.status = ReturnStatus.RECEIVED

    @event(Refunded)
    def _refunded(self) -> None:
        self.status = ReturnStatus.REFUNDED
