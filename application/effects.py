"""Side effects the log asks for, and the dispatcher that hands them to the workers.

The dispatcher follows the log like a projector. For each event it sends the effects it
implies, then records the position: at-least-once delivery. Every effect is idempotent
(the commands it runs check state first and use idempotency keys), so a repeat after a
crash is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.order import Order
from domain.payment import Payment


@dataclass(frozen=True)
class Effect:
    action: str  # the name of a worker actor
    args: tuple[str, ...]
    correlation_id: str = ""
    causation_id: str = ""
    delay_s: float = 0.0


class EffectSender(Protocol):
    def send(self, effect: Effect) -> None: ...


def _effect(action: str, event: Any, *args: Any, delay_s: float = 0.0) -> Effect:
    return Effect(
        action=action,
        args=tuple(str(a) for a in args),
        correlation_id=getattr(event, "correlation_id", ""),
        causation_id=f"event:{event.originator_id}:{event.originator_version}",
        delay_s=delay_s,
    )


NOTIFICATIONS: dict[type, str] = {
    Order.Confirmed: "order_confirmed",
    Order.Cancelled: "order_cancelled",
    Order.Shipped: "order_shipped",
}
PAYMENT_ACTIONS: dict[type, str] = {
    Payment.Requested: "authorize_payment",
    Payment.CaptureRequested: "capture_payment",
    Payment.VoidRequested: "void_payment",
    Payment.RefundRequested: "refund_payment",
}
EFFECT_EVENTS: tuple[type, ...] = (Order.Placed, *NOTIFICATIONS, *PAYMENT_ACTIONS)


def effects_of(event: Any, payment_timeout_s: float) -> list[Effect]:
    """What the event asks of the outside world: the payment timeout when an order is
    placed, a notification when it is decided, a gateway call when money must move."""
    kind = type(event)
    if kind is Order.Placed:
        return [_effect("expire_order", event, event.originator_id, delay_s=payment_timeout_s)]
    if kind in NOTIFICATIONS:
        return [_effect("notify_order", event, event.originator_id, NOTIFICATIONS[kind])]
    if kind in PAYMENT_ACTIONS:
        return [_effect(PAYMENT_ACTIONS[kind], event, event.originator_id)]
    return []


class EffectDispatcher(Projection[TrackingRecorder]):
    name = "effects"

    def __init__(self, view: TrackingRecorder, sender: EffectSender, payment_timeout_s: float):
        super().__init__(view)
        self.sender = sender
        self.payment_timeout_s = payment_timeout_s

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        for effect in effects_of(domain_event, self.payment_timeout_s):
            self.sender.send(effect)
        self.view.insert_tracking(tracking)
