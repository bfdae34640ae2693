"""The payment service: every gateway call, run by workers, and what providers tell us.

Card, Pix and boleto alike: a card is authorized, a Pix code or a boleto is issued, both
through the one failover rule (`_through_chain`); then capture, void and refund where the
money is; the deadlines (a Pix or boleto that expires, a 3-D Secure the shopper never
finished); and the providers' webhooks (application/checkout/webhooks.py). Idempotent: each
command checks the payment's state first, and passes a key derived from the payment id to
the gateway.

3-D Secure: when a provider answers an authorization with a customer action (Stripe
`requires_action`, Mercado Pago `pending_challenge`, the sandbox's challenge card), the
payment records what the front end needs (`client_secret`, `redirect_url`) and a deadline;
the saga puts the order in `awaiting_authentication`, its stock held. The outcome comes three
ways, whichever first: the provider's webhook (`apply_authentication`, from
`receive_webhook`); the front end's confirmation (`confirm_authentication`: the provider is
asked, never believed from the client); the deadline (`expire_authentication`, an effect):
the provider is asked one last time; still waiting, the authorization is cancelled there and
the payment expires, so the saga cancels the order as `payment_expired`, as for a Pix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from application.checkout import webhooks
from application.errors import PaymentNotFoundError, RetryLaterError
from application.event_store import CommandResult, EventStore
from application.gateways import GatewayChain, gateway_named, token_for
from application.ports import Authorization, GatewayError, Payer, PaymentGateway
from domain.base import EcoAggregate, InvalidInputError, now
from domain.boleto import boleto_deadline
from domain.payment import AWAITING_ACTION, ISSUED, REQUESTED, Payment
from domain.returns import REFUND_REASON_PREFIX, Return
from domain.webhook import WebhookDelivery

ATTEMPTS_PER_GATEWAY = 2


class AuthenticationMismatchError(InvalidInputError):
    """A 3-D Secure result that names another authorization than the payment's."""


@dataclass(frozen=True)
class PaymentDeadlines:
    """How long a charge or a 3-D Secure waits (ECOVAREJO_PIX_EXPIRY_S,
    ECOVAREJO_BOLETO_DAYS, ECOVAREJO_AUTHENTICATION_EXPIRY_S)."""

    pix_expiry_s: int = 1800
    boleto_days: int = 3
    authentication_expiry_s: int = 900


class PaymentService:
    def __init__(
        self,
        store: EventStore,
        gateways: Sequence[PaymentGateway],
        deadlines: PaymentDeadlines = PaymentDeadlines(),
    ):
        self.store = store
        self.gateways: Sequence[PaymentGateway] = (
            gateways if isinstance(gateways, GatewayChain) else list(gateways)
        )
        self.deadlines = deadlines

    def payment(self, payment_id: UUID, customer_id: str | None = None) -> Payment:
        """The payment; with `customer_id`, only if it is that customer's (else not found)."""
        missing = PaymentNotFoundError(f"no payment {payment_id}")
        return self.store.load(Payment, payment_id, missing, owner=customer_id)

    def _gateway(self, name: str | None) -> PaymentGateway:
        """The gateway that authorized: money is captured, voided, refunded only there."""
        gateway = gateway_named(self.gateways, name)
        if gateway is None:
            raise RetryLaterError(f"gateway {name!r} is not configured in this process")
        return gateway

    # Authorizing a card, issuing a Pix or a boleto -----------------------------------------
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
            elif answer.action is not None:  # 3-D Secure: below
                payment.require_action(
                    gateway.name,
                    answer.authorization_id,
                    answer.action.client_secret,
                    answer.action.redirect_url,
                    now() + timedelta(seconds=self.deadlines.authentication_expiry_s),
                )
            else:
                payment.decline(gateway.name, answer.decline_reason)

        return self._through_chain(payment, lambda g: token_at(g) is not None, authorize)

    def charge_deadline(self, method: str) -> datetime:
        """Pix: now + ECOVAREJO_PIX_EXPIRY_S. Boleto: the end of the due day in Brasília,
        ECOVAREJO_BOLETO_DAYS from today (banks take a boleto all through its due date)."""
        if method == "pix":
            return now() + timedelta(seconds=self.deadlines.pix_expiry_s)
        return boleto_deadline(now(), self.deadlines.boleto_days)

    def issue_charge(self, payment_id: UUID) -> CommandResult | None:
        """Ask the chain, in order, for a Pix code or a boleto; fail over like authorizing."""
        payment = self.store.load(Payment, payment_id)
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
                self.store.commit(payment)
                raise RetryLaterError(f"{gateway.name}: {error}") from None
            return self.store.commit(payment)
        payment.decline("none", "all_gateways_failed")
        return self.store.commit(payment)

    # Moving the money --------------------------------------------------------------------
    def capture_payment(self, payment_id: UUID) -> CommandResult | None:
        payment = self.payment(payment_id)
        if payment.pending != "capture":
            return None
        assert payment.authorization_id is not None
        self._gateway(payment.gateway).capture(
            payment.authorization_id, payment.pending_amount, key=f"{payment.id}:capture"
        )
        payment.capture()
        return self.store.commit(payment)

    def void_payment(self, payment_id: UUID) -> CommandResult | None:
        payment = self.payment(payment_id)
        if payment.pending != "void":
            return None
        assert payment.authorization_id is not None
        self._gateway(payment.gateway).void(payment.authorization_id, key=f"{payment.id}:void")
        payment.void()
        return self.store.commit(payment)

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
        return self.store.commit(payment, *self.refunded_returns(reason))

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
        return self.store.commit(payment)

    def refunded_returns(self, reason: str) -> list[EcoAggregate]:
        """The return a refund was for (its reason names it), marked refunded with it."""
        if not reason.startswith(REFUND_REASON_PREFIX):
            return []
        found = self.store.load(Return, UUID(reason.removeprefix(REFUND_REASON_PREFIX)))
        if found is None:
            return []
        found.mark_refunded()
        return [found]

    # Deadlines -----------------------------------------------------------------------------
    def expire_payment(self, payment_id: UUID) -> CommandResult | None:
        """The deadline passed with no payment: the charge expires (the saga then cancels
        the order). A payment that was paid meanwhile is left alone."""
        payment = self.store.load(Payment, payment_id)
        if payment is None or payment.status != ISSUED:
            return None
        if payment.expires_at is not None and payment.expires_at > now():
            raise RetryLaterError(f"payment {payment_id} expires at {payment.expires_at}")
        payment.expire()
        return self.store.commit(payment)

    # 3-D Secure ----------------------------------------------------------------------------
    def _settle(self, payment: Payment, answer: Authorization) -> bool:
        """Record a decided authentication; False while the shopper is still at it."""
        assert payment.gateway is not None
        if answer.approved:
            payment.authorize(payment.gateway, answer.authorization_id, payment.amount)
        elif answer.action is None:
            payment.decline(payment.gateway, answer.decline_reason or "authentication_failed")
        return answer.approved or answer.action is None

    def confirm_authentication(
        self, payment_id: UUID, customer_id: str | None, authorization_id: str = ""
    ) -> CommandResult | None:
        """The front end says the shopper finished: ask the provider where it stands."""
        payment = self.payment(payment_id, customer_id)
        if authorization_id and authorization_id != payment.authorization_id:
            raise AuthenticationMismatchError(
                f"payment {payment_id} does not await authorization {authorization_id!r}"
            )
        if payment.status != AWAITING_ACTION:
            return None  # decided already (a webhook came first, or a repeat)
        assert payment.authorization_id is not None
        answer = self._gateway(payment.gateway).authentication_result(payment.authorization_id)
        return self.store.commit(payment) if self._settle(payment, answer) else None

    def expire_authentication(self, payment_id: UUID) -> CommandResult | None:
        """The deadline: decided meanwhile -> recorded; still waiting -> cancelled at the
        provider and expired (the saga then cancels the order and releases its stock)."""
        payment = self.store.load(Payment, payment_id)
        if payment is None or payment.status != AWAITING_ACTION:
            return None
        if payment.expires_at is not None and payment.expires_at > now():
            raise RetryLaterError(f"payment {payment_id} authentication ends {payment.expires_at}")
        assert payment.authorization_id is not None
        gateway = self._gateway(payment.gateway)
        if not self._settle(payment, gateway.authentication_result(payment.authorization_id)):
            gateway.void(payment.authorization_id, key=f"{payment.id}:void")
            payment.expire()
        return self.store.commit(payment)

    # Webhooks ------------------------------------------------------------------------------
    def receive_webhook(
        self,
        provider: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
    ) -> WebhookDelivery:
        """Verify, record once, apply (application/checkout/webhooks.py). Raises
        InvalidWebhookError (nothing recorded) when the signature is bad. Returns the
        delivery as recorded (the first one, on a repeat)."""
        return webhooks.receive(self.store, self.gateways, provider, headers, query, body)
