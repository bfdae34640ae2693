"""Return: a customer sends some lines of a shipped order back (CDC art. 49: 7 days).

Status: requested -> approved | rejected; approved -> received -> refunded. Receipt puts the
units back in stock and asks the payment for a refund of exactly those lines' share of what
was paid (after the coupon's discount); the refund's completion marks it refunded.

The order keeps the count of what is being and has been returned, so no return can take
back more than was bought.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError
from domain.money import Money

RETURN_WINDOW = timedelta(days=7)
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
        order_id: UUID
        customer_id: str
        lines: list[ReturnLine]
        reason: str

    class Approved(EcoAggregate.Event):
        pass

    class Rejected(EcoAggregate.Event):
        reason: str

    class Received(EcoAggregate.Event):
        pass

    class Refunded(EcoAggregate.Event):
        pass

    @classmethod
    def request(
        cls, *, order_id: UUID, customer_id: str, lines: list[ReturnLine], reason: str
    ) -> Return:
        if not lines:
            raise InvalidReturnError("a return needs at least one line")
        if len({line.sku for line in lines}) != len(lines):
            raise InvalidReturnError("each SKU at most once in a return")
        if any(line.quantity < 1 for line in lines):
            raise InvalidReturnError("quantities are at least 1")
        return cls(order_id=order_id, customer_id=customer_id, lines=lines, reason=reason)

    @event(Requested)
    def __init__(
        self, *, order_id: UUID, customer_id: str, lines: list[ReturnLine], reason: str
    ) -> None:
        self.order_id = order_id
        self.customer_id = customer_id
        self.lines = lines
        self.reason = reason
        self.status = ReturnStatus.REQUESTED
        self.rejection_reason: str | None = None

    @property
    def refund(self) -> Money:
        return sum((line.refund for line in self.lines), Money.zero())

    def check_status(self, *allowed: ReturnStatus, action: str) -> None:
        if self.status not in allowed:
            raise IllegalReturnTransitionError(
                f"cannot {action} return {self.id}: it is {self.status}"
            )

    def approve(self) -> None:
        self.check_status(ReturnStatus.REQUESTED, action="approve")
        self._approved()

    def reject(self, reason: str) -> None:
        self.check_status(ReturnStatus.REQUESTED, action="reject")
        self._rejected(reason=reason)

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
    def _rejected(self, reason: str) -> None:
        self.status, self.rejection_reason = ReturnStatus.REJECTED, reason

    @event(Received)
    def _received(self) -> None:
        self.status = ReturnStatus.RECEIVED

    @event(Refunded)
    def _refunded(self) -> None:
        self.status = ReturnStatus.REFUNDED
