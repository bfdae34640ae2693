"""Checkout: the saga that takes a placed order to confirmed or cancelled, and everything it
relies on, in one place.

- `policy`: the saga (a process manager on the library's `EventSourcedProjection`): which
  event leads to which step.
- `effects`: the one table from events to the commands workers carry out (gateway calls,
  notifications, the payment deadline), and the dispatcher that sends them.
- `compensation`: undoing what a cancelled order holds (stock, coupon use, money).
- `payments`: the gateway loop (authorize with failover; capture, void, refund), run by
  workers.

Where a new payment method plugs in: `domain.order.PaymentMethod.method` names it; the
gateway commands in `payments` dispatch on it; an order waiting for an asynchronous payment
(Pix, boleto) would get its own step in `effects.EFFECTS` (its deadline, like
`PAYMENT_DEADLINE`) and its own branch in `policy`.
"""
