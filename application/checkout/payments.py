"""Payment commands: the gateway calls, run by workers. Idempotent: each checks the
payment's state first, and passes a key derived from the payment id to the gateway."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from application.async_payments import AsyncPaymentCommands
from application.errors import PaymentNotFoundError, RetryLaterError
from application.event_store import CommandResult
from application.gateways import gateway_named, token_for
from application.ports import PaymentGateway
from domain.base import EcoAggregate, now
from domain.payment import REQUESTED, Payment
from domain.returns import REFUND_REASON_PREFIX, Return


class PaymentCommands(AsyncPaymentCommands):
    authentication_expiry_s: int = 900  # ECOVAREJO_AUTHENTICATION_EXPIRY_S

    def payment(self, payment_id: UUID, customer_id: str | None = None) -> Payment:
        """The payment; with `customer_id`, only if it is that customer's (else not found)."""
        missing = PaymentNotFoundError(f"no payment {payment_id}")
        return self._owned(payment_id, Payment, customer_id, missing)

    def _gateway(self, name: str | None) -> PaymentGateway:
        """The gateway that authorized: money is captured, voided, refunded only there."""
        gateway = gateway_named(self.gateways, name)
        if gateway is None:
            raise RetryLaterError(f"gateway {name!r} is not configured in this process")
        return gateway

    def authorize_payment(self, payment_id: UUID) -> CommandResult | None:
        """Authorize through the chain primary -> secondary -> tertiary. A processing error
        moves on at once; a timeout is retried (RetryLaterError) before moving on; when every
        gateway failed, the payment is declined as `all_gateways_failed`."""
        payment = self.payment(payment_id)
        if payment.status != REQUESTED:
            return None  # already decided: a repeated message
        if payment.is_async:  # Pix and boleto are not authorized: they are issued
            return self.issue_charge(payment_id)

        def token_at(gateway: PaymentGateway) -> str | None:
            """The card's token there; none when the card was not tokenized there."""
            return token_for(payment.token, getattr(gateway, "provider", gateway.name))

        def authorize(gateway: PaymentGateway) -> None:
            token = token_at(gateway)
            assert token is not None  # eligible
            answer = gateway.authorize(
                token, payment.amount, key=str(payment.id), installments=payment.installments
            )
            if answer.approved:
                payment.authorize(gateway.name, answer.authorization_id, payment.amount)
            elif answer.action is not None:  # 3-D Secure: application/card_actions.py
                payment.require_action(  # the action itself is asked for when needed
                    gateway.name,
                    answer.authorization_id,
                    now() + timedelta(seconds=self.authentication_expiry_s),
                )
            else:
                payment.decline(gateway.name, answer.decline_reason)

        return self._through_chain(payment, lambda g: token_at(g) is not None, authorize)

    def capture_payment(self, payment_id: UUID) -> CommandResult | None:
        payment = self.payment(payment_id)
        if payment.pending != "capture":
            return None
        assert payment.authorization_id is not None
        self._gateway(payment.gateway).capture(
            payment.authorization_id, payment.pending_amount, key=f"{payment.id}:capture"
        )
        payment.capture()
        return self._commit(payment)

    def void_payment(self, payment_id: UUID) -> CommandResult | None:
        payment = self.payment(payment_id)
        if payment.pending != "void":
            return None
        assert payment.authorization_id is not None
        self._gateway(payment.gateway).void(payment.authorization_id, key=f"{payment.id}:void")
        payment.void()
        return self._commit(payment)

    def refund_payment(self, payment_id: UUID) -> CommandResult | None:
        payment = self.payment(payment_id)
        if payment.pending != "refund":
            return None
        assert payment.authorization_id is not None
        self._gateway(payment.gateway).refund(
            payment.authorization_id, payment.pending_amount, key=payment.refund_key
        )
        reason = payment.pending_reason
        payment.refund()
        return self._commit(payment, *self.refunded_returns(reason))

    def refund_extra_payments(self, payment_id: UUID) -> CommandResult | None:
        """Give back every extra payment not given back yet, each under its own key (a
        repeat moves no money twice), where the charge was paid."""
        payment = self.payment(payment_id)
        if not payment.extra_to_refund:
            return None
        gateway = self._gateway(payment.gateway)
        for notification, amount in payment.extra_to_refund.items():
            gateway.refund(payment.charge_id, amount, key=payment.extra_refund_key(notification))
            payment.refund_extra(notification)
        return self._commit(payment)

    def refunded_returns(self, reason: str) -> list[EcoAggregate]:
        """The return a refund was for (its reason names it), marked refunded with it."""
        if not reason.startswith(REFUND_REASON_PREFIX):
            return []
        found = self.find(UUID(reason.removeprefix(REFUND_REASON_PREFIX)))
        if not isinstance(found, Return):
            return []
        found.mark_refunded()
        return [found]
