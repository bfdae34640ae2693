"""Pix and boleto: issuing the charge, expiring it, and the providers' webhooks.

`issue_charge` and `expire_payment` run in workers (effects of `Payment.Requested` and
`Payment.ChargeIssued`); `receive_webhook` runs for `POST /payments/webhooks/{provider}`.
A webhook is verified by its provider's gateway (a bad signature changes nothing), recorded
once as a `WebhookDelivery` (a repeat finds it and changes nothing twice), and applied to
the payment in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.authentication_notes import apply_authentication, apply_dispute
from application.commands import CommandApp
from application.errors import RetryLaterError, VersionConflictError
from application.event_store import CommandResult
from application.gateways import gateway_named, provider_gateway
from application.ports import GatewayError, GatewayNotification, Payer, PaymentGateway
from domain.base import NotFoundError, now
from domain.boleto import boleto_deadline
from domain.money import Money
from domain.payment import AWAITING_ACTION, ISSUED, REQUESTED, Payment, Receipt
from domain.webhook import (
    AMOUNT_MISMATCH,
    APPLIED,
    EXTRA_PAYMENT,
    IGNORED,
    UNKNOWN_PAYMENT,
    WebhookDelivery,
)

ATTEMPTS_PER_GATEWAY = 2


class UnknownWebhookProviderError(NotFoundError):
    """No configured gateway takes webhooks under that name."""


class AsyncPaymentCommands(CommandApp):
    pix_expiry_s: int = 1800
    boleto_days: int = 3

    def _payment_or_none(self, payment_id: UUID) -> Payment | None:
        try:
            found: object = self.repository.get(payment_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Payment) else None

    def charge_deadline(self, method: str) -> datetime:
        """Pix: now + ECOVAREJO_PIX_EXPIRY_S. Boleto: the end of the due day in Brasília,
        ECOVAREJO_BOLETO_DAYS from today (banks take a boleto all through its due date)."""
        if method == "pix":
            return now() + timedelta(seconds=self.pix_expiry_s)
        return boleto_deadline(now(), self.boleto_days)

    def issue_charge(self, payment_id: UUID) -> CommandResult | None:
        """Ask the chain, in order, for a Pix code or a boleto; fail over like authorizing."""
        payment = self._payment_or_none(payment_id)
        if payment is None or payment.status != REQUESTED or not payment.is_async:
            return None  # a repeated message, or not ours to issue
        payer = Payer(
            payment.customer_id,
            cpf=(payment.payer.value or {}).get("cpf", "") if payment.payer else "",
        )
        deadline = self.charge_deadline(payment.method)

        def issue(gateway: PaymentGateway) -> None:
            charge = gateway.issue(payment.method, payment.amount, str(payment.id), payer, deadline)
            payment.issue(
                gateway.name,
                charge.charge_id,
                charge.expires_at,
                pix_copy_paste=charge.pix_copy_paste,
                boleto_line=charge.boleto_line,
            )

        return self._through_chain(payment, lambda g: payment.method in g.methods, issue)

    def _through_chain(
        self,
        payment: Payment,
        eligible: Callable[[PaymentGateway], bool],
        call: Callable[[PaymentGateway], None],
    ) -> CommandResult:
        """The one failover rule (card authorization, Pix/boleto issue): ask the chain in
        order; `call(gateway)` asks one gateway and records its answer on the payment. A
        processing error moves on at once; a timeout or a garbled answer is retried
        (RetryLaterError, the failure committed) before moving on; when every gateway
        failed, the payment is declined as `all_gateways_failed`."""
        for gateway in self.gateways:
            if gateway.name in payment.abandoned_gateways or not eligible(gateway):
                continue
            try:
                call(gateway)
            except GatewayError as error:
                attempts = payment.gateway_failures.get(gateway.name, 0) + 1
                give_up = not error.retryable or attempts >= ATTEMPTS_PER_GATEWAY
                payment.record_gateway_failure(gateway.name, str(error), give_up=give_up)
                if give_up:
                    continue
                self._commit(payment)
                raise RetryLaterError(f"{gateway.name}: {error}") from None
            return self._commit(payment)
        payment.decline("none", "all_gateways_failed")
        return self._commit(payment)

    def expire_payment(self, payment_id: UUID) -> CommandResult | None:
        """The deadline passed with no payment: the charge expires (the saga then cancels
        the order). A payment that was paid meanwhile is left alone."""
        payment = self._payment_or_none(payment_id)
        if payment is None or payment.status != ISSUED:
            return None
        if payment.expires_at is not None and payment.expires_at > now():
            raise RetryLaterError(f"payment {payment_id} expires at {payment.expires_at}")
        payment.expire()
        return self._commit(payment)

    # Webhooks ---------------------------------------------------------------------------
    def receive_webhook(
        self,
        provider: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
    ) -> WebhookDelivery:
        """Verify, record once, apply. Raises InvalidWebhookError (nothing recorded) when
        the signature is bad. Returns the delivery as recorded (the first one, on a repeat)."""
        gateway = provider_gateway(self.gateways, provider)
        if gateway is None:
            raise UnknownWebhookProviderError(f"no payment provider {provider!r}")
        lowered = {k.lower(): v for k, v in headers.items()}
        note = gateway.read_webhook(lowered, query, body, now())
        delivery_id = WebhookDelivery.create_id(provider, note.event_id)
        recorded = self._delivery_or_none(delivery_id)
        if recorded is not None:
            return recorded
        payment = self._payment_for(note)
        if payment is None or not self._tied(payment, note):
            outcome = UNKNOWN_PAYMENT  # recorded for an admin, applied to nothing
        else:
            outcome = self._apply(payment, note)
        delivery = WebhookDelivery(
            provider=provider,
            event_id=note.event_id,
            status=note.status,
            charge_id=note.charge_id,
            payment_id=payment.id if payment is not None else None,
            amount=note.amount,
            outcome=outcome,
        )
        moved = (APPLIED, AMOUNT_MISMATCH, EXTRA_PAYMENT)
        changed = [payment] if payment is not None and outcome in moved else []
        try:
            self._commit(delivery, *changed)
        except VersionConflictError:
            # A concurrent copy of this delivery (or another change to the payment) won:
            # the first one recorded is the answer; a lost race on the payment is retried.
            recorded = self._delivery_or_none(delivery_id)
            if recorded is None:
                raise
            return recorded
        return delivery

    def _delivery_or_none(self, delivery_id: UUID) -> WebhookDelivery | None:
        try:
            found: object = self.repository.get(delivery_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, WebhookDelivery) else None

    def _payment_for(self, note: GatewayNotification) -> Payment | None:
        try:
            payment_id = UUID(note.reference)
        except ValueError:
            return None
        return self._payment_or_none(payment_id)

    def _tied(self, payment: Payment, note: GatewayNotification) -> bool:
        """A notification may move a payment only when it comes from the provider of the
        gateway that issued the payment's charge and names that very charge: a signed
        notification of another provider (or another charge) echoing our reference is not
        about this payment."""
        if payment.gateway is None:
            return True  # no charge issued yet: `_apply` ignores whatever it says
        gateway = gateway_named(self.gateways, payment.gateway)
        if gateway is None or note.provider != getattr(gateway, "provider", gateway.name):
            return False
        return not payment.charge_id or note.charge_id == payment.charge_id

    @staticmethod
    def _apply(payment: Payment, note: GatewayNotification) -> str:
        """The notification told to the payment; the payment decides what it means (paid,
        paid late, paid again, another amount; a chargeback; a 3-D Secure outcome) and the
        outcome is recorded on the delivery."""
        if note.dispute is not None:  # a chargeback (application/authentication_notes.py)
            return apply_dispute(payment, note)
        if payment.status == AWAITING_ACTION:  # a card's 3-D Secure outcome
            return apply_authentication(payment, note)
        if note.status == "paid":
            received = note.amount if note.amount is not None else Money.zero()
            return RECEIPT_OUTCOMES[payment.record_paid(received, note.settlement_key)]
        if note.status == "expired" and payment.status == ISSUED:
            payment.expire()
            return APPLIED
        return IGNORED


# What a delivery records, by what the payment made of the payment it reported.
RECEIPT_OUTCOMES = {
    Receipt.CAPTURED: APPLIED,
    Receipt.REFUNDING: APPLIED,
    Receipt.EXTRA: EXTRA_PAYMENT,
    Receipt.MISMATCH: AMOUNT_MISMATCH,
    Receipt.KNOWN: IGNORED,
    Receipt.NOT_PAYABLE: IGNORED,
}
