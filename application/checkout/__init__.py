"""Carts and checkout: the checkout service, the saga that takes a placed order to confirmed
or cancelled, and the payments it relies on (card, Pix, boleto), in one place.

- `carts`: the checkout service (`CheckoutService`): carts, coupons on them, shipping quotes,
  and checking a cart out into a placed order and its payment.
- `policy`: the saga (a process manager on the library's `EventSourcedProjection`): which
  event leads to which step.
- `effects`: the one table from events to the commands workers carry out (gateway calls,
  notifications, the deadlines), and the dispatcher that sends them.
- `compensation`: undoing what a cancelled order holds (stock, coupon use, money).
- `payments`: the payment service (`PaymentService`): authorize a card or issue a Pix or a
  boleto with failover; capture, void, refund; the charge and 3-D Secure deadlines.
- `webhooks`: the providers' notifications, recorded once and applied to the payment.

Where a new payment method plugs in: `domain.payment_choice` (the choice and its checks) and
`domain.order.PaymentMethod.method` name it; `payments.PaymentService` dispatches on it
(`authorize_payment` or `issue_charge`); an order waiting for an asynchronous payment gets
its own step in `effects.EFFECTS` (its deadline) and its own branch in `policy`.
"""
