"""Payment: one order's money, as the gateways saw it.

Only the gateway's token, the card brand and the last four digits are ever held: the card
number, expiry and CVC never reach an event. Amounts never exceed what was authorized:
capture at most the authorized amount, refund at most what was captured.

Status: requested -> authorized | declined | cancelled; authorized -> captured | voided;
captured -> refunded.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate
from domain.money import Money

PAYMENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/payment")
REQUESTED, AUTHORIZED, DECLINED, CANCELLED = "requested", "authorized", "declined", "cancelled"
CAPTURED, VOIDED, REFUNDED = "captured", "voided", "refunded"


class PaymentError(DomainError):
    """Base of the errors a Payment raises."""


class IllegalPaymentTransitionError(PaymentError):
    """The payment's status does not allow this step."""


class AmountExceedsAuthorizationError(PaymentError):
    """Capturing or refunding more than was authorized or captured."""


def payment_id_for_order(order_id: UUID) -> UUID:
    """One payment per order, its id derived from the order id: the gateway idempotency key."""
    return uuid5(PAYMENT_NAMESPACE, str(order_id))


class Payment(EcoAggregate):
    class Requested(EcoAggregate.Created):
        order_id: UUID
        customer_id: str
        amount: Money
        token: str
        brand: str
        last4: str

    class GatewayFailed(EcoAggregate.Event):
        gateway: str
        error: str

    class Authorized(EcoAggregate.Event):
        gateway: str
        authorization_id: str
        amount: Money

    class Declined(EcoAggregate.Event):
        gateway: str
        reason: str

    class Cancelled(EcoAggregate.Event):
        reason: str

    class Captured(EcoAggregate.Event):
        amount: Money

    class Voided(EcoAggregate.Event):
        reason: str

    class Refunded(EcoAggregate.Event):
        amount: Money
        reason: str

    @staticmethod
    def create_id(order_id: UUID) -> UUID:
        return payment_id_for_order(order_id)

    @event(Requested)
    def __init__(
        self,
        *,
        order_id: UUID,
        customer_id: str,
        amount: Money,
        token: str,
        brand: str,
        last4: str,
    ) -> None:
        self.order_id = order_id
        self.customer_id = customer_id
        self.amount = amount
        self.token = token
        self.brand = brand
        self.last4 = last4
        self.status = REQUESTED
        self.gateway: str | None = None
        self.authorization_id: str | None = None
        self.authorized = Money.zero()
        self.captured = Money.zero()
        self.refunded = Money.zero()
        self.failed_gateways: list[str] = []

    @property
    def is_settled(self) -> bool:
        """No money is held: nothing authorized, or everything given back or kept for shipping."""
        return self.status in (DECLINED, CANCELLED, VOIDED, REFUNDED)

    # Guards -------------------------------------------------------------------------------
    def check_status(self, *allowed: str, action: str) -> None:
        if self.status not in allowed:
            raise IllegalPaymentTransitionError(
                f"cannot {action} payment {self.id}: it is {self.status}"
            )

    def check_within(self, amount: Money, limit: Money) -> None:
        if amount > limit:
            raise AmountExceedsAuthorizationError(
                f"{amount.amount} exceeds the {limit.amount} available on payment {self.id}"
            )

    # Commands ----------------------------------------------------------------------------
    def record_gateway_failure(self, gateway: str, error: str) -> None:
        self.check_status(REQUESTED, action="fail over")
        self._gateway_failed(gateway=gateway, error=error)

    def authorize(self, gateway: str, authorization_id: str, amount: Money) -> None:
        self.check_status(REQUESTED, action="authorize")
        self.check_within(amount, self.amount)
        self._authorized(gateway=gateway, authorization_id=authorization_id, amount=amount)

    def decline(self, gateway: str, reason: str) -> None:
        self.check_status(REQUESTED, action="decline")
        self._declined(gateway=gateway, reason=reason)

    def cancel(self, reason: str) -> None:
        self.check_status(REQUESTED, action="cancel")
        self._cancelled(reason=reason)

    def capture(self, amount: Money) -> None:
        self.check_status(AUTHORIZED, action="capture")
        self.check_within(amount, self.authorized)
        self._captured(amount=amount)

    def void(self, reason: str) -> None:
        self.check_status(AUTHORIZED, action="void")
        self._voided(reason=reason)

    def refund(self, amount: Money, reason: str) -> None:
        self.check_status(CAPTURED, action="refund")
        self.check_within(amount, self.captured)
        self._refunded(amount=amount, reason=reason)

    # Mutators ----------------------------------------------------------------------------
    @event(GatewayFailed)
    def _gateway_failed(self, gateway: str, error: str) -> None:
        self.failed_gateways.append(gateway)

    @event(Authorized)
    def _authorized(self, gateway: str, authorization_id: str, amount: Money) -> None:
        self.status = AUTHORIZED
        self.gateway = gateway
        self.authorization_id = authorization_id
        self.authorized = amount

    @event(Declined)
    def _declined(self, gateway: str, reason: str) -> None:
        self.status = DECLINED
        self.gateway = gateway

    @event(Cancelled)
    def _cancelled(self, reason: str) -> None:
        self.status = CANCELLED

    @event(Captured)
    def _captured(self, amount: Money) -> None:
        self.status = CAPTURED
        self.captured = amount

    @event(Voided)
    def _voided(self, reason: str) -> None:
        self.status = VOIDED

    @event(Refunded)
    def _refunded(self, amount: Money, reason: str) -> None:
        self.status = REFUNDED
        self.refunded = amount
