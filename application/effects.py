"""Side effects the log asks for, and the dispatcher that hands them to the workers.

The dispatcher follows the log like a projector. For each event it sends the effects it
implies, then records the position: at-least-once delivery. Every effect is idempotent
(the commands it runs check state first and use idempotency keys), so a repeat after a
crash is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import singledispatch
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


@singledispatch
def effects_of(event: Any, payment_timeout_s: float) -> list[Effect]:
    return []


@effects_of.register
def _(event: Order.Placed, payment_timeout_s: float) -> list[Effect]:
    return [_effect("expire_order", event, event.originator_id, delay_s=payment_timeout_s)]


@effects_of.register
def _(event: Order.Confirmed, payment_timeout_s: float) -> list[Effect]:
    return [_effect("notify_order", event, event.originator_id, "order_confirmed")]


@effects_of.register
def _(event: Order.Cancelled, payment_timeout_s: float) -> list[Effect]:
    return [_effect("notify_order", event, event.originator_id, "order_cancelled")]


@effects_of.register
def _(event: Order.Shipped, payment_timeout_s: float) -> list[Effect]:
    return [_effect("notify_order", event, event.originator_id, "order_shipped")]


@effects_of.register
def _(event: Payment.Requested, payment_timeout_s: float) -> list[Effect]:
    return [_effect("authorize_payment", event, event.originator_id)]


@effects_of.register
def _(event: Payment.CaptureRequested, payment_timeout_s: float) -> list[Effect]:
    return [_effect("capture_payment", event, event.originator_id)]


@effects_of.register
def _(event: Payment.VoidRequested, payment_timeout_s: float) -> list[Effect]:
    return [_effect("void_payment", event, event.originator_id)]


@effects_of.register
def _(event: Payment.RefundRequested, payment_timeout_s: float) -> list[Effect]:
    return [_effect("refund_payment", event, event.originator_id)]


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
