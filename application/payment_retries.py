"""Another try at paying: an order whose payment was declined, failed or expired waits,
`awaiting_payment` with its stock held, until a deadline; the shopper pays again with a new
card, Pix or boleto. Each try is a Payment of its own (`payment_id_for_order(order, n)`)
that the checkout saga takes from there as it took the first.

The same checks as at checkout apply to the new payment (a method some gateway takes, the
installments and minimums against the order's total, raw card fields only on the sandbox);
the order's prices do not change."""

from __future__ import annotations

from uuid import UUID

from application.card_tokens import check_raw_card_allowed
from application.carts import CartCommands
from application.checkout.policy import payment_for
from application.event_store import CommandResult
from application.orders import OrderCommands
from domain.base import now
from domain.card import CardDetails
from domain.payment_choice import BoletoPayment, CardPayment, PaymentChoice
from domain.personal import PersonalData


class PaymentRetryCommands(CartCommands, OrderCommands):
    def retry_payment(
        self,
        order_id: UUID,
        customer_id: str,
        payment: PaymentChoice | CardDetails,
        expected_version: int | None = None,
    ) -> tuple[CommandResult, UUID]:
        """The order's owner tries again; returns the result and the new payment's id.
        409 while a payment is under way or after the deadline; 422 as at checkout."""
        choice = CardPayment(payment) if isinstance(payment, CardDetails) else payment
        order = self.order_of(order_id, customer_id)
        self._check_version(order, expected_version)
        order.check_no_payment_under_way()
        order.check_retry_open(now())
        self._check_not_erased(customer_id)
        if isinstance(choice, CardPayment):
            check_raw_card_allowed(self.gateways, self.raw_cards_allowed)
            choice.card.check(now())
        self._check_offered(choice.method)
        choice.check_total(order.totals.total, self.interest_free_installments)
        payer = (
            PersonalData(customer_id, {"cpf": choice.payer_cpf.digits})
            if isinstance(choice, BoletoPayment)
            else None
        )
        payment_id = order.retry_payment(self._payment_method(choice), payer, now())
        return self._commit(order, payment_for(order)), payment_id
