"""3-D Secure: a card authorization that waits for the shopper.

When a provider answers an authorization with a customer action (Stripe `requires_action`,
Mercado Pago `pending_challenge`, the sandbox's challenge card), the payment records what the
front end needs (`client_secret`, `redirect_url`) and a deadline; the saga puts the order in
`awaiting_authentication`, its stock held. The outcome comes three ways, whichever first:

- the provider's webhook (`apply_authentication`, from `receive_webhook`);
- the front end's confirmation (`confirm_authentication`: the provider is asked, never
  believed from the client);
- the deadline (`expire_authentication`, an effect): the provider is asked one last time;
  still waiting, the authorization is cancelled there and the payment expires, so the saga
  cancels the order as `payment_expired` and releases its stock, as for a Pix.
"""

from __future__ import annotations

from uuid import UUID

from application.checkout.payments import PaymentCommands
from application.errors import RetryLaterError
from application.event_store import CommandResult
from application.ports import Authorization, CustomerAction
from domain.base import InvalidInputError, now
from domain.payment import AWAITING_ACTION, Payment


class AuthenticationMismatchError(InvalidInputError):
    """A 3-D Secure result that names another authorization than the payment's."""


class CardAuthenticationCommands(PaymentCommands):
    def _settle(self, payment: Payment, answer: Authorization) -> bool:
        """Record a decided authentication; False while the shopper is still at it."""
        assert payment.gateway is not None
        if answer.approved:
            payment.authorize(payment.gateway, answer.authorization_id, payment.amount)
        elif answer.action is None:
            payment.decline(payment.gateway, answer.decline_reason or "authentication_failed")
        return answer.approved or answer.action is None

    def authentication_action(
        self, payment_id: UUID, customer_id: str | None
    ) -> tuple[Payment, CustomerAction | None]:
        """What the front end finishes 3-D Secure with (Stripe's client secret, the
        challenge URL), read from the provider now: it is a credential for the provider's
        payment, so it is never stored (not in an event, not in a read model). None once the
        payment no longer waits, or the provider decided meanwhile (then confirm)."""
        payment = self.payment(payment_id, customer_id)
        if payment.status != AWAITING_ACTION:
            return payment, None
        assert payment.authorization_id is not None
        answer = self._gateway(payment.gateway).authentication_result(payment.authorization_id)
        return payment, answer.action

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
        return self._commit(payment) if self._settle(payment, answer) else None

    def expire_authentication(self, payment_id: UUID) -> CommandResult | None:
        """The deadline: decided meanwhile -> recorded; still waiting -> cancelled at the
        provider and expired (the saga then cancels the order and releases its stock)."""
        payment = self._payment_or_none(payment_id)
        if payment is None or payment.status != AWAITING_ACTION:
            return None
        if payment.expires_at is not None and payment.expires_at > now():
            raise RetryLaterError(f"payment {payment_id} authentication ends {payment.expires_at}")
        assert payment.authorization_id is not None
        gateway = self._gateway(payment.gateway)
        if not self._settle(payment, gateway.authentication_result(payment.authorization_id)):
            gateway.void(payment.authorization_id, key=f"{payment.id}:void")
            payment.expire()
        return self._commit(payment)
