"""Payment: one attempt at an order's money, as the gateways saw it (an order whose payment
failed may try again: each try is a Payment of its own, `payment_id_for_order`).

Only the gateway's token, the card brand and the last four digits are ever held: the card
number, expiry and CVC never reach an event. Amounts never exceed what was authorized:
capture at most the authorized amount, refund at most what was captured.

Status: requested -> authorized | declined; authorized -> captured | voided;
captured -> refunded. Moving money is two steps: a `*Requested` event records the intent
(atomically with whatever caused it), and the outcome event records what the gateway did.

A card that needs 3-D Secure waits for the shopper: requested -> awaiting_action ->
authorized | declined, or expired when the shopper never finishes.

Pix and boleto are paid by the customer, not taken: requested -> issued (the provider gave a
BR Code or a boleto line) -> captured when the provider says it was paid, or expired. A
payment that arrives after expiry is recorded as paid and at once asked back (refund). A
notification whose amount is not the payment's is recorded and flagged, never applied.

Every extra payment goes back: money the payer sends again for a charge already paid (a
boleto paid twice, a second Pix) is an `ExtraPaymentReceived`, flagged for an admin and
refunded on its own (apart from the capture, which the order keeps); money that comes in
after expiry, or for an order given up, is flagged (`UnwantedPaymentFlagged`) as it is
refunded.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate
from domain.money import Money
from domain.personal import PersonalData

PAYMENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/payment")
REQUESTED, AUTHORIZED, DECLINED = "requested", "authorized", "declined"
CAPTURED, VOIDED, REFUNDED = "captured", "voided", "refunded"
ISSUED, EXPIRED = "issued", "expired"
AWAITING_ACTION = "awaiting_action"  # 3-D Secure: the shopper must authenticate
ASYNC_METHODS = ("pix", "boleto")
PAID_AFTER_EXPIRY = "paid_after_expiry"


class Receipt(StrEnum):
    """What a payer's payment did to the payment (`record_paid`)."""

    CAPTURED = "captured"  # paid in time: the order's money
    REFUNDING = "refunding"  # paid after expiry: flagged, asked back at once
    EXTRA = "extra"  # paid again: flagged, refunded apart
    MISMATCH = "mismatch"  # another amount: flagged, not applied
    KNOWN = "known"  # this very payment was recorded already
    NOT_PAYABLE = "not_payable"  # no charge of ours to pay (no Pix/boleto issued)


class PaymentError(DomainError):
    """Base of the errors a Payment raises."""


class IllegalPaymentTransitionError(PaymentError):
    """The payment's status does not allow this step."""


class AmountExceedsAuthorizationError(PaymentError):
    """Capturing or refunding more than was authorized or captured."""


def payment_id_for_order(order_id: UUID, attempt: int = 1) -> UUID:
    """One payment per attempt at paying an order, its id derived from the order id and the
    attempt's number (the first keeps the id every order had before retries): the gateway
    idempotency key. The order points at its current attempt (`Order.current_payment_id`)."""
    if attempt == 1:
        return uuid5(PAYMENT_NAMESPACE, str(order_id))
    return uuid5(PAYMENT_NAMESPACE, f"{order_id}:attempt:{attempt}")


class Payment(EcoAggregate):
    class Requested(EcoAggregate.Created):
        order_id: UUID
        customer_id: str
        amount: Money
        token: str
        brand: str
        last4: str
        method: str = field(default="card", kw_only=True)
        installments: int = field(default=1, kw_only=True)
        payer: PersonalData | None = field(default=None, kw_only=True)  # boleto: the CPF

    class GatewayFailed(EcoAggregate.Event):
        gateway: str
        error: str
        gave_up: bool

    class Authorized(EcoAggregate.Event):
        gateway: str
        authorization_id: str
        amount: Money

    class Declined(EcoAggregate.Event):
        gateway: str
        reason: str

    class ActionRequired(EcoAggregate.Event):
        """The card needs the shopper (3-D Secure) until `expires_at`. What the front end
        finishes it with (Stripe's `client_secret`, the challenge URL, which may carry the
        secret too) is a credential for the provider's payment: it is read from the provider
        when the front end asks (`GET /payments/{id}/authentication`), never kept here."""

        class_version = 2

        gateway: str
        authorization_id: str
        expires_at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 kept `client_secret` and `redirect_url` in clear: no longer read (the
            stored v1 rows cannot be rewritten; the secret is worthless once the payment
            is decided, which it is before any upgrade of a running shop completes)."""
            state.pop("client_secret", None)
            state.pop("redirect_url", None)

    class CaptureRequested(EcoAggregate.Event):
        amount: Money

    class Captured(EcoAggregate.Event):
        amount: Money

    class VoidRequested(EcoAggregate.Event):
        reason: str

    class Voided(EcoAggregate.Event):
        pass

    class RefundRequested(EcoAggregate.Event):
        amount: Money
        reason: str

    class Refunded(EcoAggregate.Event):
        amount: Money

    # Pix and boleto
    class ChargeIssued(EcoAggregate.Event):
        gateway: str
        charge_id: str
        expires_at: datetime
        pix_copy_paste: str
        boleto_line: str

    class Paid(EcoAggregate.Event):
        amount: Money
        notification: str  # provider:event id

    class Expired(EcoAggregate.Event):
        pass

    class AmountMismatchFlagged(EcoAggregate.Event):
        received: Money
        notification: str

    class ExtraPaymentReceived(EcoAggregate.Event):
        """The payer paid a charge already paid (a boleto twice, a Pix again): flagged for
        an admin; the effect `refund_extra_payments` gives it back."""

        amount: Money
        notification: str  # provider:event id

    class ExtraPaymentRefunded(EcoAggregate.Event):
        amount: Money
        notification: str  # the extra payment given back

    class UnwantedPaymentFlagged(EcoAggregate.Event):
        """Money came in that the order no longer wants (paid after expiry, or for an
        order given up): refunded automatically, and flagged so an admin sees it."""

        reason: str

    # Disputes (chargebacks): the cardholder's bank takes the money back unless we win
    class DisputeOpened(EcoAggregate.Event):
        dispute_id: str
        amount: Money
        reason: str
        evidence_due_by: datetime | None

    class DisputeEvidenceDue(EcoAggregate.Event):
        dispute_id: str
        evidence_due_by: datetime

    class DisputeWon(EcoAggregate.Event):
        dispute_id: str

    class DisputeLost(EcoAggregate.Event):
        """The money went back to the cardholder: a refund in the books."""

        dispute_id: str
        amount: Money

    @staticmethod
    def create_id(order_id: UUID) -> UUID:
        return payment_id_for_order(order_id)

    @classmethod
    def for_attempt(
        cls,
        attempt: int,
        order_id: UUID,
        customer_id: str,
        amount: Money,
        token: str,
        brand: str,
        last4: str,
        method: str = "card",
        installments: int = 1,
        payer: PersonalData | None = None,
    ) -> Payment:
        """The payment of the `attempt`-th try at paying `order_id`: its id says which (the
        event is the same `Requested` as ever; the library's `_create` takes an explicit id)."""
        return cls._create(
            cls.Requested,
            id=payment_id_for_order(order_id, attempt),
            order_id=order_id,
            customer_id=customer_id,
            amount=amount,
            token=token,
            brand=brand,
            last4=last4,
            method=method,
            installments=installments,
            payer=payer,
        )

    @event(Requested)
    def __init__(  # not keyword-only: the library treats keyword-only defaults as required
        self,
        order_id: UUID,
        customer_id: str,
        amount: Money,
        token: str,
        brand: str,
        last4: str,
        method: str = "card",
        installments: int = 1,
        payer: PersonalData | None = None,
    ) -> None:
        self.order_id = order_id
        self.method = method
        self.installments = installments
        self.payer = payer
        self.charge_id = ""
        self.expires_at: datetime | None = None
        self.pix_copy_paste = ""
        self.boleto_line = ""
        self.flags: list[str] = []
        self.customer_id = customer_id
        self.amount = amount
        self.token = token
        self.brand = brand
        self.last4 = last4
        self.status = REQUESTED
        self.pending: str | None = None  # capture | void | refund, requested not yet done
        self.pending_amount = Money.zero()
        self.gateway: str | None = None
        self.authorization_id: str | None = None
        self.authorized = Money.zero()
        self.captured = Money.zero()
        self.refunded = Money.zero()
        self.refunds = 0  # refunds done: partial refunds each get their own gateway key
        self.pending_reason = ""
        self.gateway_failures: dict[str, int] = {}
        self.abandoned_gateways: list[str] = []
        self.paid_by = ""  # the notification of the payment captured
        self.extra_payments: dict[str, Money] = {}  # notification -> received, not yet back
        self.extra_refunded: dict[str, Money] = {}  # notification -> given back
        self.disputes: dict[str, str] = {}  # dispute id -> open | won | lost

    @property
    def holds_money(self) -> bool:
        """Money is held from the customer: authorized and not voided, or captured and kept."""
        return self.status in (AUTHORIZED, CAPTURED)

    # Guards -------------------------------------------------------------------------------
    def check_status(self, *allowed: str, action: str) -> None:
        if self.status not in allowed:
            raise IllegalPaymentTransitionError(
                f"cannot {action} payment {self.id}: it is {self.status}"
            )

    def check_nothing_pending(self, action: str) -> None:
        if self.pending is not None:
            raise IllegalPaymentTransitionError(
                f"cannot {action} payment {self.id}: a {self.pending} is under way"
            )

    def check_pending(self, action: str) -> None:
        if self.pending != action:
            raise IllegalPaymentTransitionError(f"no {action} was requested on payment {self.id}")

    def check_within(self, amount: Money, limit: Money) -> None:
        if amount > limit:
            raise AmountExceedsAuthorizationError(
                f"{amount.amount} exceeds the {limit.amount} available on payment {self.id}"
            )

    # Commands ----------------------------------------------------------------------------
    def record_gateway_failure(self, gateway: str, error: str, *, give_up: bool) -> None:
        """A gateway gave no answer; with `give_up`, the chain moves on to the next one."""
        self.check_status(REQUESTED, action="fail over")
        self._gateway_failed(gateway=gateway, error=error, gave_up=give_up)

    def authorize(self, gateway: str, authorization_id: str, amount: Money) -> None:
        self.check_status(REQUESTED, AWAITING_ACTION, action="authorize")
        self.check_same_authorization(authorization_id)
        self.check_within(amount, self.amount)
        self._authorized(gateway=gateway, authorization_id=authorization_id, amount=amount)

    def decline(self, gateway: str, reason: str) -> None:
        self.check_status(REQUESTED, AWAITING_ACTION, action="decline")
        self._declined(gateway=gateway, reason=reason)

    def require_action(self, gateway: str, authorization_id: str, expires_at: datetime) -> None:
        """The gateway waits for the shopper's authentication until `expires_at`."""
        self.check_status(REQUESTED, action="ask the shopper to authenticate")
        self._action_required(
            gateway=gateway, authorization_id=authorization_id, expires_at=expires_at
        )

    def check_same_authorization(self, authorization_id: str) -> None:
        """An authentication's outcome must be about this payment's own authorization."""
        if self.status == AWAITING_ACTION and authorization_id != self.authorization_id:
            raise IllegalPaymentTransitionError(
                f"authorization {authorization_id!r} is not the one payment {self.id} awaits"
            )

    def request_capture(self, amount: Money) -> None:
        self.check_status(AUTHORIZED, action="capture")
        self.check_nothing_pending("capture")
        self.check_within(amount, self.authorized)
        self._capture_requested(amount=amount)

    def capture(self) -> None:
        self.check_pending("capture")
        self._captured(amount=self.pending_amount)

    def request_void(self, reason: str) -> None:
        self.check_status(AUTHORIZED, action="void")
        self.check_nothing_pending("void")
        self._void_requested(reason=reason)

    def void(self) -> None:
        self.check_pending("void")
        self._voided()

    @property
    def refundable(self) -> Money:
        """What is captured and not refunded yet: no refund may exceed it."""
        return self.captured - self.refunded

    @property
    def refund_key(self) -> str:
        """The gateway idempotency key of the refund under way (one per partial refund)."""
        return f"{self.id}:refund" if self.refunds == 0 else f"{self.id}:refund:{self.refunds}"

    def request_refund(self, amount: Money, reason: str) -> None:
        """Refund `amount` (all or part of what is left of the capture)."""
        self.check_status(CAPTURED, action="refund")
        self.check_nothing_pending("refund")
        self.check_within(amount, self.refundable)
        self._refund_requested(amount=amount, reason=reason)

    def refund(self) -> None:
        self.check_pending("refund")
        self._refunded(amount=self.pending_amount)

    def give_back(self, reason: str) -> None:
        """Compensation: void what is authorized, refund what was captured, else nothing."""
        if self.pending in ("void", "refund"):
            return
        if self.status == AUTHORIZED and self.pending is None:
            self.request_void(reason)
        elif self.status == CAPTURED and self.pending is None:
            self.request_refund(self.refundable, reason)

    # Pix and boleto ----------------------------------------------------------------------
    @property
    def is_async(self) -> bool:
        return self.method in ASYNC_METHODS

    def issue(
        self,
        gateway: str,
        charge_id: str,
        expires_at: datetime,
        pix_copy_paste: str = "",
        boleto_line: str = "",
    ) -> None:
        self.check_status(REQUESTED, action="issue a charge for")
        self._charge_issued(
            gateway=gateway,
            charge_id=charge_id,
            expires_at=expires_at,
            pix_copy_paste=pix_copy_paste,
            boleto_line=boleto_line,
        )

    def knows_payment(self, notification: str) -> bool:
        return notification == self.paid_by or notification in {
            *self.extra_payments,
            *self.extra_refunded,
            *self.flags,
        }

    def record_paid(self, amount: Money, notification: str) -> Receipt:
        """The provider says the payer paid (`notification`: provider and its id of this
        payment). Paid in time: captured. Paid after expiry: recorded, flagged, and asked
        back at once. Paid again, once captured (or refunded): an extra payment, flagged
        and refunded apart. Any other amount than the payment's, before it was paid:
        flagged for an admin, nothing applied."""
        if self.knows_payment(notification):
            return Receipt.KNOWN
        if self.status in (CAPTURED, REFUNDED) and self.is_async:
            if not amount.is_positive:
                self._amount_mismatch_flagged(received=amount, notification=notification)
                return Receipt.MISMATCH
            self._extra_payment_received(amount=amount, notification=notification)
            return Receipt.EXTRA
        if self.status not in (ISSUED, EXPIRED):
            return Receipt.NOT_PAYABLE
        if amount != self.amount:
            self._amount_mismatch_flagged(received=amount, notification=notification)
            return Receipt.MISMATCH
        late = self.status == EXPIRED
        self._paid(amount=amount, notification=notification)
        if not late:
            return Receipt.CAPTURED
        self.give_back_unwanted(PAID_AFTER_EXPIRY)
        return Receipt.REFUNDING

    def give_back_unwanted(self, reason: str) -> None:
        """Money taken for an order that no longer wants it: flagged for an admin, and
        given back (refund, or void) like any compensation."""
        if self.holds_money and self.pending is None:
            self._unwanted_payment_flagged(reason=reason)
        self.give_back(reason)

    @property
    def extra_to_refund(self) -> dict[str, Money]:
        return dict(self.extra_payments)

    def extra_refund_key(self, notification: str) -> str:
        """The gateway idempotency key of one extra payment's refund."""
        return f"{self.id}:extra:{notification}"

    def refund_extra(self, notification: str) -> None:
        """The gateway gave back the extra payment `notification`."""
        amount = self.extra_payments.get(notification)
        if amount is None:
            raise IllegalPaymentTransitionError(f"no extra payment {notification} to refund")
        self._extra_payment_refunded(amount=amount, notification=notification)

    def expire(self) -> None:
        self.check_status(ISSUED, AWAITING_ACTION, action="expire")
        self._expired()

    @event(ChargeIssued)
    def _charge_issued(
        self,
        gateway: str,
        charge_id: str,
        expires_at: datetime,
        pix_copy_paste: str,
        boleto_line: str,
    ) -> None:
        self.status, self.gateway = ISSUED, gateway
        self.charge_id = self.authorization_id = charge_id
        self.expires_at = expires_at
        self.pix_copy_paste, self.boleto_line = pix_copy_paste, boleto_line

    # Disputes ------------------------------------------------------------------------------
    def check_disputable(self, amount: Money) -> None:
        self.check_status(CAPTURED, REFUNDED, action="dispute")
        self.check_within(amount, self.captured)

    def open_dispute(
        self, dispute_id: str, amount: Money, reason: str, evidence_due_by: datetime | None
    ) -> bool:
        """A chargeback is opened on the captured money; False if known already."""
        if dispute_id in self.disputes:
            return False
        self.check_disputable(amount)
        self._dispute_opened(
            dispute_id=dispute_id, amount=amount, reason=reason, evidence_due_by=evidence_due_by
        )
        return True

    def note_evidence_due(self, dispute_id: str, evidence_due_by: datetime) -> bool:
        if self.disputes.get(dispute_id) != "open":
            return False
        self._dispute_evidence_due(dispute_id=dispute_id, evidence_due_by=evidence_due_by)
        return True

    def close_dispute(self, dispute_id: str, won: bool, amount: Money) -> bool:
        """Won: the money stays. Lost: it went back to the cardholder, as a refund of at
        most what is still ours. Closed already: nothing (a late or repeated word)."""
        if self.disputes.get(dispute_id, "open") != "open":
            return False
        if dispute_id not in self.disputes:  # the close came first: opened with it
            self.open_dispute(dispute_id, amount, "", None)
        if won:
            self._dispute_won(dispute_id=dispute_id)
        else:
            taken = amount if amount <= self.refundable else self.refundable
            self._dispute_lost(dispute_id=dispute_id, amount=taken)
        return True

    @event(DisputeOpened)
    def _dispute_opened(
        self, dispute_id: str, amount: Money, reason: str, evidence_due_by: datetime | None
    ) -> None:
        self.disputes[dispute_id] = "open"

    @event(DisputeEvidenceDue)
    def _dispute_evidence_due(self, dispute_id: str, evidence_due_by: datetime) -> None:
        pass

    @event(DisputeWon)
    def _dispute_won(self, dispute_id: str) -> None:
        self.disputes[dispute_id] = "won"

    @event(DisputeLost)
    def _dispute_lost(self, dispute_id: str, amount: Money) -> None:
        self.disputes[dispute_id] = "lost"
        self.refunded = self.refunded + amount
        if self.refunded == self.captured:
            self.status = REFUNDED

    @event(ActionRequired)
    def _action_required(self, gateway: str, authorization_id: str, expires_at: datetime) -> None:
        self.status, self.gateway = AWAITING_ACTION, gateway
        self.authorization_id, self.expires_at = authorization_id, expires_at

    @event(Paid)
    def _paid(self, amount: Money, notification: str) -> None:
        self.status, self.authorized, self.captured = CAPTURED, amount, amount
        self.paid_by = notification

    @event(ExtraPaymentReceived)
    def _extra_payment_received(self, amount: Money, notification: str) -> None:
        self.extra_payments[notification] = amount

    @event(ExtraPaymentRefunded)
    def _extra_payment_refunded(self, amount: Money, notification: str) -> None:
        self.extra_refunded[notification] = self.extra_payments.pop(notification)

    @event(UnwantedPaymentFlagged)
    def _unwanted_payment_flagged(self, reason: str) -> None:
        pass

    @event(Expired)
    def _expired(self) -> None:
        self.status = EXPIRED

    @event(AmountMismatchFlagged)
    def _amount_mismatch_flagged(self, received: Money, notification: str) -> None:
        self.flags.append(notification)

    # Mutators ----------------------------------------------------------------------------
    @event(GatewayFailed)
    def _gateway_failed(self, gateway: str, error: str, gave_up: bool) -> None:
        self.gateway_failures[gateway] = self.gateway_failures.get(gateway, 0) + 1
        if gave_up:
            self.abandoned_gateways.append(gateway)

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

    @event(CaptureRequested)
    def _capture_requested(self, amount: Money) -> None:
        self.pending, self.pending_amount = "capture", amount

    @event(Captured)
    def _captured(self, amount: Money) -> None:
        self.status, self.pending, self.captured = CAPTURED, None, amount

    @event(VoidRequested)
    def _void_requested(self, reason: str) -> None:
        self.pending = "void"

    @event(Voided)
    def _voided(self) -> None:
        self.status, self.pending = VOIDED, None

    @event(RefundRequested)
    def _refund_requested(self, amount: Money, reason: str) -> None:
        self.pending, self.pending_amount, self.pending_reason = "refund", amount, reason

    @event(Refunded)
    def _refunded(self, amount: Money) -> None:
        # A partial refund (a return) leaves the rest captured; the last one refunds it all.
        self.pending, self.refunded, self.refunds = None, self.refunded + amount, self.refunds + 1
        if self.refunded == self.captured:
            self.status = REFUNDED
